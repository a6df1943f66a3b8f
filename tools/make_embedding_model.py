"""Derive smartcart's embedding model from the ImageNet-pretrained int8 MobileNetV2.

    .venv/bin/python tools/make_embedding_model.py \\
        [--source ../shared/data/pretrained/mobilenetv2-12-int8.onnx] [--out-dir models] \\
        [--name grocery-embed-v0] [--pool float|quantized] [--keep-logits] [--check]

The source is the ONNX Model Zoo's ``mobilenetv2-12-int8.onnx`` (Apache-2.0). Its classifier head
is ``QLinearGlobalAveragePool`` (com.microsoft) → ``Reshape`` → ``QLinearMatMul`` → ``QLinearAdd``
→ ``DequantizeLinear``. This tool cuts the graph at the global average pool and appends

    pooled [N,1280,1,1] → Flatten → x [N,1280] → x / max(ReduceL2(x), 1e-12) → ``embedding``

then drops every node and initializer the new outputs do not need (the 1000-way classifier, and
the shape computation that fed its ``Reshape``). ``--keep-logits`` keeps the ImageNet logits as a
second output, ``logits``.

``--pool`` chooses where the average is taken:

* ``float`` (default): dequantise the last 7×7×1280 feature map and average it in float. The
  source model re-quantises the pooled vector to uint8 (step 0.019), which throws away precision
  the embedding can use; averaging in float costs about 60k additions per image, nothing next to
  the 300M multiply-adds of the network. ``bench/recognition_bench.py --variants`` measures both.
* ``quantized``: dequantise the source model's own uint8 pooled output.

The output is byte-for-byte reproducible: the tool sets every field that could vary (producer,
doc string, metadata) to fixed values and serialises deterministically, so the same source gives
the same sha256. ``--check`` rebuilds in memory and compares with the files already written
(exit 1 on a difference) instead of writing.

It also writes ``<name>.json``, the manifest that :class:`vision.recognition.Manifest` reads. The
``metrics`` and ``calibration`` sections are filled by ``bench/recognition_bench.py
--write-manifest``; a rebuild that gives the same bytes keeps them.

Needs the ``onnx`` package (a development dependency: the cart only needs onnxruntime).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = REPO / ".." / "shared" / "data" / "pretrained" / "mobilenetv2-12-int8.onnx"
SOURCE_SHA256 = "cc028fe6cae7bc11a4ff53cfc9b79c920e8be65ce33a904ec3e2a8f66d77f95f"
TOOL_VERSION = "1"

EMBEDDING = "embedding"
LOGITS = "logits"
SOURCE_LOGITS = "output"
EPSILON = 1e-12

# How the shipped model's input is prepared: a centre crop beat letterbox and stretch on grocery
# val; 75 % of the shorter side gives the best top-5 and stays safe for tight tracker boxes
# (docs/recognition.md, "Preprocessing").
DEFAULT_RESIZE = "crop"
DEFAULT_CROP_FRACTION = 0.75
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class SurgeryError(Exception):
    """The source graph is not shaped as this tool expects."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _single(nodes: list[onnx.NodeProto], what: str) -> onnx.NodeProto:
    if len(nodes) != 1:
        raise SurgeryError(f"expected exactly one {what}, found {len(nodes)}")
    return nodes[0]


def _prune(graph: onnx.GraphProto) -> None:
    """Keep only the nodes and initializers the graph outputs depend on (order preserved)."""
    needed = {out.name for out in graph.output}
    keep: list[onnx.NodeProto] = []
    for node in reversed(graph.node):
        if any(name in needed for name in node.output):
            keep.append(node)
            needed.update(name for name in node.input if name)
    keep.reverse()
    del graph.node[:]
    graph.node.extend(keep)
    initializers = [init for init in graph.initializer if init.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    # Intermediate shapes of the source are stale after surgery; onnxruntime infers its own.
    del graph.value_info[:]


def build(source: bytes, *, pool: str = "float", keep_logits: bool = False) -> onnx.ModelProto:
    """The embedding model made from the source model's bytes."""
    model = onnx.load_from_string(source)
    graph = model.graph
    gap = _single(
        [n for n in graph.node if n.op_type == "QLinearGlobalAveragePool"],
        "QLinearGlobalAveragePool node",
    )
    feature_q, feature_scale, feature_zp, pooled_scale, pooled_zp = gap.input[:5]
    batch = graph.input[0].type.tensor_type.shape.dim[0].dim_param or "batch_size"
    nodes: list[onnx.NodeProto] = []
    if pool == "quantized":
        nodes.append(
            helper.make_node(
                "DequantizeLinear",
                [gap.output[0], pooled_scale, pooled_zp],
                ["pooled"],
                name="embed_dequantize_pooled",
            )
        )
    elif pool == "float":
        # The source already dequantises the feature map (only to read its batch size); reuse
        # that tensor when present so the graph holds one dequantisation, not two.
        existing = [
            n
            for n in graph.node
            if n.op_type == "DequantizeLinear" and list(n.input[:1]) == [feature_q]
        ]
        if existing:
            feature = existing[0].output[0]
        else:
            feature = "feature_map"
            nodes.append(
                helper.make_node(
                    "DequantizeLinear",
                    [feature_q, feature_scale, feature_zp],
                    [feature],
                    name="embed_dequantize_features",
                )
            )
        nodes.append(
            helper.make_node("GlobalAveragePool", [feature], ["pooled"], name="embed_pool")
        )
    else:
        raise SurgeryError(f"unknown pool {pool!r}")
    graph.initializer.append(
        numpy_helper.from_array(np.array(EPSILON, dtype=np.float32), "embed_epsilon")
    )
    nodes += [
        helper.make_node("Flatten", ["pooled"], ["feature"], axis=1, name="embed_flatten"),
        helper.make_node(
            "ReduceL2", ["feature"], ["feature_norm"], axes=[1], keepdims=1, name="embed_norm"
        ),
        # max(norm, eps) keeps an all-zero feature (a black crop) finite instead of NaN.
        helper.make_node(
            "Max", ["feature_norm", "embed_epsilon"], ["feature_norm_safe"], name="embed_norm_safe"
        ),
        helper.make_node(
            "Div", ["feature", "feature_norm_safe"], [EMBEDDING], name="embed_normalise"
        ),
    ]
    graph.node.extend(nodes)
    width = _feature_width(graph, gap)
    outputs = [helper.make_tensor_value_info(EMBEDDING, TensorProto.FLOAT, [batch, width])]
    if keep_logits:
        graph.node.append(
            helper.make_node("Identity", [SOURCE_LOGITS], [LOGITS], name="embed_logits")
        )
        outputs.append(helper.make_tensor_value_info(LOGITS, TensorProto.FLOAT, [batch, 1000]))
    del graph.output[:]
    graph.output.extend(outputs)
    _prune(graph)

    graph.name = "grocery_embed"
    model.producer_name = "smartcart tools/make_embedding_model.py"
    model.producer_version = TOOL_VERSION
    model.doc_string = (
        "L2-normalised 1280-d pooled feature of MobileNetV2 int8 (ONNX Model Zoo, Apache-2.0); "
        f"pool={pool}; source sha256 {sha256_bytes(source)}"
    )
    del model.metadata_props[:]
    onnx.checker.check_model(model)
    return model


def _feature_width(graph: onnx.GraphProto, gap: onnx.NodeProto) -> int:
    """Channels of the pooled feature: the output channels of the conv that feeds the pool."""
    producer = _single(
        [n for n in graph.node if gap.input[0] in n.output], "producer of the pooled feature map"
    )
    if producer.op_type != "QLinearConv":
        raise SurgeryError(f"pooled feature comes from {producer.op_type}, not QLinearConv")
    weights = {init.name: init for init in graph.initializer}[producer.input[3]]
    return int(weights.dims[0])


def serialise(model: onnx.ModelProto) -> bytes:
    # deterministic=True fixes the field order, so equal models give equal bytes.
    data: bytes = model.SerializeToString(deterministic=True)
    return data


def make_manifest(
    *,
    name: str,
    onnx_bytes: bytes,
    source: Path,
    source_bytes: bytes,
    pool: str,
    keep_logits: bool,
    width: int,
    command: str,
    resize: str,
    crop_fraction: float,
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    digest = sha256_bytes(onnx_bytes)
    manifest: dict[str, Any] = {
        "schema": 1,
        "name": name,
        "file": f"{name}.onnx",
        "sha256": digest,
        "bytes": len(onnx_bytes),
        "input": {
            "name": "input",
            "layout": "NCHW",
            "dtype": "float32",
            "size": [224, 224],
            "channel_order": "RGB",
            "scale": 1.0 / 255.0,
            "mean": list(IMAGENET_MEAN),
            "std": list(IMAGENET_STD),
            "resize": resize,
            "crop_fraction": crop_fraction,
            "interpolation": "area-down-linear-up",
        },
        "outputs": {"embedding": EMBEDDING, "logits": LOGITS if keep_logits else None},
        "embedding_dim": width,
        "normalised": True,
        "source": {
            "model": "MobileNetV2 1.0 int8 (mobilenetv2-12-int8.onnx), ImageNet-1k",
            "file": source.name,
            "sha256": sha256_bytes(source_bytes),
            "origin": "ONNX Model Zoo, github.com/onnx/models, validated/vision/classification/"
            "mobilenet",
            "licence": "Apache-2.0",
        },
        "made_with": {
            "tool": "tools/make_embedding_model.py",
            "tool_version": TOOL_VERSION,
            "command": command,
            "pool": pool,
            "onnx": onnx.__version__,
        },
        "calibration": None,
        "metrics": None,
    }
    if previous and previous.get("sha256") == digest:
        # Same bytes: measurements made on them still hold.
        manifest["calibration"] = previous.get("calibration")
        manifest["metrics"] = previous.get("metrics")
    return manifest


def smoke_test(onnx_bytes: bytes, width: int, keep_logits: bool) -> None:
    """Run the new model once: the right outputs, unit-norm embeddings, batch-independent."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    batch = rng.standard_normal((3, 3, 224, 224)).astype(np.float32)
    names = [o.name for o in session.get_outputs()]
    expected = [EMBEDDING, LOGITS] if keep_logits else [EMBEDDING]
    if names != expected:
        raise SurgeryError(f"outputs are {names}, expected {expected}")
    together = np.asarray(session.run([EMBEDDING], {"input": batch})[0])
    alone = np.concatenate(
        [np.asarray(session.run([EMBEDDING], {"input": batch[i : i + 1]})[0]) for i in range(3)]
    )
    if together.shape != (3, width):
        raise SurgeryError(f"embedding shape {together.shape}, expected (3, {width})")
    if not np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-4):
        raise SurgeryError("embeddings are not unit length")
    if not np.allclose(together, alone, atol=1e-5):
        raise SurgeryError("batched and single embeddings differ")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out-dir", type=Path, default=REPO / "models")
    parser.add_argument("--name", default="grocery-embed-v0")
    parser.add_argument("--pool", choices=["float", "quantized"], default="float")
    parser.add_argument("--keep-logits", action="store_true", help="also output ImageNet logits")
    parser.add_argument(
        "--resize", choices=["crop", "letterbox", "stretch"], default=DEFAULT_RESIZE
    )
    parser.add_argument("--crop-fraction", type=float, default=DEFAULT_CROP_FRACTION)
    parser.add_argument(
        "--allow-other-source",
        action="store_true",
        help=f"accept a source whose sha256 is not {SOURCE_SHA256[:12]}…",
    )
    parser.add_argument(
        "--check", action="store_true", help="rebuild and compare with the written files"
    )
    args = parser.parse_args(argv)

    source: Path = args.source.resolve()
    if not source.is_file():
        print(f"source model not found: {source}", file=sys.stderr)
        return 1
    source_bytes = source.read_bytes()
    if sha256_bytes(source_bytes) != SOURCE_SHA256 and not args.allow_other_source:
        print(
            f"{source}: sha256 {sha256_bytes(source_bytes)} is not the expected "
            f"{SOURCE_SHA256} (pass --allow-other-source to go on)",
            file=sys.stderr,
        )
        return 1
    model = build(source_bytes, pool=args.pool, keep_logits=args.keep_logits)
    onnx_bytes = serialise(model)
    width = int(model.graph.output[0].type.tensor_type.shape.dim[1].dim_value)
    smoke_test(onnx_bytes, width, args.keep_logits)

    out_dir: Path = args.out_dir
    onnx_path = out_dir / f"{args.name}.onnx"
    manifest_path = out_dir / f"{args.name}.json"
    digest = sha256_bytes(onnx_bytes)
    if args.check:
        if not onnx_path.is_file():
            print(f"{onnx_path}: missing", file=sys.stderr)
            return 1
        written = sha256_bytes(onnx_path.read_bytes())
        if written != digest:
            print(f"{onnx_path}: sha256 {written}, rebuild gives {digest}", file=sys.stderr)
            return 1
        recorded = json.loads(manifest_path.read_text(encoding="utf-8")).get("sha256")
        if recorded != digest:
            print(f"{manifest_path}: records {recorded}, rebuild gives {digest}", file=sys.stderr)
            return 1
        print(f"reproducible: {onnx_path.name} sha256 {digest}")
        return 0

    # The command as a user would type it from the repository root (paths made relative).
    command_args = ["tools/make_embedding_model.py"]
    if args.pool != "float":
        command_args += ["--pool", args.pool]
    if args.keep_logits:
        command_args.append("--keep-logits")
    if args.resize != DEFAULT_RESIZE:
        command_args += ["--resize", args.resize]
    if args.crop_fraction != DEFAULT_CROP_FRACTION:
        command_args += ["--crop-fraction", str(args.crop_fraction)]
    if args.name != "grocery-embed-v0":
        command_args += ["--name", args.name]
    command = " ".join([".venv/bin/python", *map(shlex.quote, command_args)])

    previous = None
    if manifest_path.is_file():
        previous = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest = make_manifest(
        name=args.name,
        onnx_bytes=onnx_bytes,
        source=source,
        source_bytes=source_bytes,
        pool=args.pool,
        keep_logits=args.keep_logits,
        width=width,
        command=command,
        resize=args.resize,
        crop_fraction=args.crop_fraction,
        previous=previous,
    )
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path.write_bytes(onnx_bytes)
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {onnx_path} ({len(onnx_bytes):,} bytes, sha256 {digest})")
    print(f"wrote {manifest_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
