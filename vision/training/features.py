"""Frozen-trunk feature maps of augmented views, computed once and cached.

Fine-tuning the whole MobileNetV2 on a 2-core CPU does not fit the two-hour budget, and the early
stages (edges, textures, parts) transfer from ImageNet as they are. So the stem and the first
inverted-residual blocks are frozen: each training photo is turned into ``views`` views (view 0
the clean evaluation crop, the others :func:`~.augment.cart_view`), each view goes through the
trunk once, and the trunk's feature map is stored as float16. Training then runs only the tail
(the last blocks, the final 1×1 conv and the heads) on those maps, epoch after epoch.

Two trunks compute the same function:

* :class:`TorchTrunk`: the converted float trunk in PyTorch (any input size; the tests use it);
* :class:`OnnxInt8Trunk`: the source int8 graph cut at the same point and run by onnxruntime.
  Its weights are the very numbers the float trunk was converted from, it is about 6× faster on
  this CPU, and the shipped model is int8 as well, so the tail learns on features with the
  quantisation noise it will see on the cart.

The cache key covers the file list, the trunk, the sizes, the seed and the augmentation
settings, so a changed setting never reuses stale features.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
import torch
from onnx import helper
from tqdm import tqdm  # type: ignore[import-untyped]  # tqdm ships no type stubs

from vision.recognition.dataset import Sample
from vision.recognition.manifest import InputSpec
from vision.recognition.preprocess import Preprocessor
from vision.training.augment import AugmentConfig, cart_view
from vision.training.data import read_image
from vision.training.mobilenet import InvertedResidual, MobileNetV2

FloatArray = npt.NDArray[np.float32]
CACHE_VERSION = 2  # 2: fixed trunk cut after a block without a skip
Trunk = Callable[[FloatArray], FloatArray]


def input_spec(size: int, *, crop_fraction: float = 0.75) -> InputSpec:
    """The model's input: ImageNet normalisation, RGB, centre crop (as v0, measured there)."""
    return InputSpec(
        name="input",
        height=size,
        width=size,
        channel_order="RGB",
        scale=1.0 / 255.0,
        mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225),
        resize="crop",
        crop_fraction=crop_fraction,
    )


class TorchTrunk:
    """The converted float trunk, run by PyTorch without gradients."""

    name = "torch-float"

    def __init__(self, trunk: torch.nn.Module) -> None:
        self._trunk = trunk.eval()

    def __call__(self, batch: FloatArray) -> FloatArray:
        with torch.no_grad():
            return np.asarray(self._trunk(torch.from_numpy(batch)).numpy(), dtype=np.float32)


def _convs_before(split: int) -> int:
    """QLinearConv nodes in stages ``[0, split)``: stem 1, first block 2, then 3 per block."""
    return 1 + 2 + 3 * (split - 2) if split >= 2 else split


def cut_int8_trunk(source: bytes, split: int) -> bytes:
    """The source int8 graph up to the output of stage ``split - 1``, dequantised to float."""
    model = onnx.load_from_string(source)
    graph = model.graph
    convs = [n for n in graph.node if n.op_type == "QLinearConv"]
    last = convs[_convs_before(split) - 1]
    tensor, scale, zero_point = last.output[0], last.input[6], last.input[7]
    # A block with a skip connection ends in the QLinearAdd that consumes its projection. Only
    # such a block may move the cut to an add: the output of a block without a skip is also
    # consumed by the *next* block's add (as that block's skip input), which is not the cut.
    last_stage = MobileNetV2().features[split - 1]
    if isinstance(last_stage, InvertedResidual) and last_stage.residual:
        adds = [n for n in graph.node if n.op_type == "QLinearAdd" and tensor in n.input]
        if len(adds) != 1:
            raise ValueError(f"expected one QLinearAdd after {tensor}, found {len(adds)}")
        tensor, scale, zero_point = adds[0].output[0], adds[0].input[6], adds[0].input[7]
    graph.node.append(helper.make_node("DequantizeLinear", [tensor, scale, zero_point], ["trunk"]))
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info("trunk", onnx.TensorProto.FLOAT, None))
    needed = {"trunk"}
    keep = []
    for node in reversed(graph.node):
        if any(out in needed for out in node.output):
            keep.append(node)
            needed.update(node.input)
    del graph.node[:]
    graph.node.extend(reversed(keep))
    inits = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(inits)
    del graph.value_info[:]
    data: bytes = model.SerializeToString()
    return data


class OnnxInt8Trunk:
    """The source int8 graph cut at the trunk's end, run by onnxruntime."""

    name = "onnx-int8"

    def __init__(self, source: Path, split: int, threads: int) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            cut_int8_trunk(source.read_bytes(), split), options, providers=["CPUExecutionProvider"]
        )

    def __call__(self, batch: FloatArray) -> FloatArray:
        return np.asarray(self._session.run(["trunk"], {"input": batch})[0], dtype=np.float32)


@dataclass(frozen=True, slots=True)
class FeatureSet:
    """Trunk feature maps (float16) of views, with their class column, photo and view index."""

    features: npt.NDArray[np.float16]
    columns: npt.NDArray[np.int64]
    photo: npt.NDArray[np.int64]
    view: npt.NDArray[np.int64]

    @property
    def views(self) -> int:
        return int(self.view.max()) + 1 if len(self.view) else 0

    def clean(self) -> FeatureSet:
        """Only view 0 of each photo (the evaluation crop)."""
        keep = self.view == 0
        return FeatureSet(
            self.features[keep], self.columns[keep], self.photo[keep], self.view[keep]
        )


@dataclass(frozen=True, slots=True)
class ExtractSettings:
    """What determines the cached features (everything in the cache key)."""

    size: int
    views: int
    seed: int
    trunk: str
    split: int
    augment: AugmentConfig
    batch_size: int = 32


def _key(samples: Sequence[Sample], settings: ExtractSettings, extra: str) -> str:
    text = json.dumps(
        {
            "version": CACHE_VERSION,
            "files": [str(s.path) for s in samples],
            "settings": asdict(settings),
            "extra": extra,
        },
        sort_keys=True,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def extract(
    samples: Sequence[Sample],
    columns: npt.NDArray[np.int64],
    trunk: Trunk,
    settings: ExtractSettings,
    *,
    cache_dir: Path | None = None,
    cache_extra: str = "",
    desc: str = "features",
) -> FeatureSet:
    """Trunk features of ``settings.views`` views of every sample (cached when ``cache_dir``)."""
    path = None
    if cache_dir is not None:
        path = cache_dir / f"{desc}-{_key(samples, settings, cache_extra)}.npz"
        if path.is_file():
            with np.load(path) as cached:
                return FeatureSet(
                    cached["features"], cached["columns"], cached["photo"], cached["view"]
                )
    clean = Preprocessor(input_spec(settings.size))
    # Augmented views are already size × size: only normalise them ("stretch" is then a no-op).
    plain = Preprocessor(InputSpec(**{**asdict(input_spec(settings.size)), "resize": "stretch"}))
    total = len(samples) * settings.views
    chunks: list[npt.NDArray[np.float16]] = []
    pending: list[FloatArray] = []
    photo_index = np.repeat(np.arange(len(samples), dtype=np.int64), settings.views)
    view_index = np.tile(np.arange(settings.views, dtype=np.int64), len(samples))

    def flush() -> None:
        if pending:
            chunks.append(trunk(np.concatenate(pending)).astype(np.float16))
            pending.clear()

    with tqdm(total=total, desc=desc, unit="view", mininterval=5.0) as bar:
        for i, sample in enumerate(samples):
            photo = read_image(sample.path)
            # One generator per photo: a view depends on (seed, photo), not on the visit order.
            rng = np.random.default_rng([settings.seed, i])
            pending.append(clean.tensor([photo]))
            for _ in range(1, settings.views):
                pending.append(
                    plain.tensor([cart_view(photo, settings.size, rng, settings.augment)])
                )
            if sum(len(p) for p in pending) >= settings.batch_size:
                flush()
            bar.update(settings.views)
        flush()
    result = FeatureSet(
        np.concatenate(chunks),
        np.repeat(columns, settings.views),
        photo_index,
        view_index,
    )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(
            tmp,
            features=result.features,
            columns=result.columns,
            photo=result.photo,
            view=result.view,
        )
        tmp.replace(path)
    return result
