"""A stand-in for the int8 source model and the dataset, for tests that must not need shared data.

:func:`write_int8_mobilenet` writes a runnable ONNX graph with the same structure as
``mobilenetv2-12-int8.onnx`` (``QuantizeLinear`` → 52 ``QLinearConv`` with per-channel int8
weights and int32 biases, ``QLinearAdd`` skips, ``QLinearGlobalAveragePool``, ``QLinearMatMul`` +
``QLinearAdd`` classifier, ``DequantizeLinear``) from random weights, and returns the float
weights it encodes, so a test can check that :func:`~.convert.convert` recovers exactly them.

:func:`write_tiny_dataset` renders a few classes of coloured shapes on textured backgrounds and
writes them in the Grocery Store Dataset's format (``train.txt``, ``val.txt``, ``classes.csv``).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

from vision.training.mobilenet import ConvReLU6, InvertedResidual, MobileNetV2, convolutions

FloatArray = npt.NDArray[np.float32]
MS_DOMAIN = "com.microsoft"


def write_int8_mobilenet(path: Path, seed: int = 0, classes: int = 1000) -> dict[str, FloatArray]:
    """Write a random int8 MobileNetV2 in the source's format; returns the float weights it
    encodes: ``conv<i>.weight``, ``conv<i>.bias``, ``classifier.weight`` (``[in, out]``) and
    ``classifier.bias``."""
    rng = np.random.default_rng(seed)
    net = MobileNetV2(classes)
    inits: list[onnx.TensorProto] = []
    nodes: list[onnx.NodeProto] = []
    expected: dict[str, FloatArray] = {}

    def const(name: str, value: npt.ArrayLike, dtype: type) -> str:
        inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    act_scale = 6.0 / 255.0  # ReLU6 outputs in [0, 6] as uint8 with zero point 0
    lin_scale, lin_zp = 0.05, 128  # linear (projection) outputs, signed, around 128
    const("input_scale", 0.0187, np.float32)
    const("input_zero_point", 114, np.uint8)
    nodes.append(
        helper.make_node("QuantizeLinear", ["input", "input_scale", "input_zero_point"], ["t0"])
    )
    current, cur_scale, cur_zp = "t0", "input_scale", "input_zero_point"
    # (conv, followed by ReLU6, stage, closes a residual block) in execution order.
    layers: list[tuple[torch.nn.Conv2d, bool, int, bool]] = []
    for stage, module in enumerate(net.features):
        units = [m for m in module.modules() if isinstance(m, ConvReLU6)]
        residual = isinstance(module, InvertedResidual) and module.residual
        for j, unit in enumerate(units):
            conv = unit[0]
            assert isinstance(conv, torch.nn.Conv2d)
            layers.append((conv, len(unit) > 1, stage, residual and j == len(units) - 1))
    assert len(layers) == len(convolutions(net))
    block_input = current, cur_scale, cur_zp
    for index, (conv, activated, stage, closes_residual) in enumerate(layers):
        if index == 0 or layers[index - 1][2] != stage:
            block_input = current, cur_scale, cur_zp
        out_c, in_c_per_group, kh, kw = conv.weight.shape
        fan_in = in_c_per_group * kh * kw
        weight = rng.normal(0, np.sqrt(2.0 / fan_in), conv.weight.shape).astype(np.float32)
        w_scale = (np.abs(weight).reshape(out_c, -1).max(axis=1) / 127.0).astype(np.float32)
        w_q = np.clip(np.round(weight / w_scale[:, None, None, None]), -127, 127).astype(np.int8)
        x_scale = float(numpy_helper.to_array(next(i for i in inits if i.name == cur_scale)))
        bias_q = rng.integers(-2000, 2000, out_c).astype(np.int32)
        expected[f"conv{index}.weight"] = w_q.astype(np.float32) * w_scale[:, None, None, None]
        expected[f"conv{index}.bias"] = (bias_q * x_scale * w_scale).astype(np.float32)
        y_scale, y_zp = (act_scale, 0) if activated else (lin_scale, lin_zp)
        names = [f"c{index}_{k}" for k in ("w", "ws", "wz", "ys", "yz", "b")]
        const(names[0], w_q, np.int8)
        const(names[1], w_scale, np.float32)
        const(names[2], np.zeros(out_c), np.int8)
        const(names[3], y_scale, np.float32)
        const(names[4], y_zp, np.uint8)
        const(names[5], bias_q, np.int32)
        nodes.append(
            helper.make_node(
                "QLinearConv",
                [
                    current,
                    cur_scale,
                    cur_zp,
                    names[0],
                    names[1],
                    names[2],
                    names[3],
                    names[4],
                    names[5],
                ],
                [f"t{index + 1}"],
                kernel_shape=[kh, kw],
                strides=list(conv.stride),
                pads=[(kh - 1) // 2] * 4,
                dilations=[1, 1],
                group=conv.groups,
            )
        )
        current, cur_scale, cur_zp = f"t{index + 1}", names[3], names[4]
        if closes_residual:
            skip, skip_scale, skip_zp = block_input
            nodes.append(
                helper.make_node(
                    "QLinearAdd",
                    [skip, skip_scale, skip_zp, current, cur_scale, cur_zp, names[3], names[4]],
                    [f"a{index + 1}"],
                    domain=MS_DOMAIN,
                )
            )
            current = f"a{index + 1}"
    const("pool_scale", act_scale, np.float32)
    const("pool_zp", 0, np.uint8)
    nodes.append(
        helper.make_node(
            "QLinearGlobalAveragePool",
            [current, cur_scale, cur_zp, "pool_scale", "pool_zp"],
            ["pooled"],
            domain=MS_DOMAIN,
            channels_last=0,
        )
    )
    const("flat_shape", [-1, net.classifier.in_features], np.int64)
    nodes.append(helper.make_node("Reshape", ["pooled", "flat_shape"], ["flat"]))
    weight = rng.normal(0, 0.05, (net.classifier.in_features, classes)).astype(np.float32)
    col_scale = (np.abs(weight).max(axis=0) / 127.0).astype(np.float32)
    w_q = np.clip(np.round(weight / col_scale), -127, 127).astype(np.int8)
    expected["classifier.weight"] = w_q.astype(np.float32) * col_scale
    bias_q = rng.integers(0, 255, classes).astype(np.uint8)
    expected["classifier.bias"] = ((bias_q.astype(np.float32) - 128) * 0.01).astype(np.float32)
    const("fc_w", w_q, np.int8)
    const("fc_ws", col_scale, np.float32)
    const("fc_wz", np.zeros(classes), np.int8)
    const("mm_s", 0.1, np.float32)
    const("mm_z", 128, np.uint8)
    const("fc_b", bias_q, np.uint8)
    const("fc_bs", 0.01, np.float32)
    const("fc_bz", 128, np.uint8)
    const("out_s", 0.15, np.float32)
    const("out_z", 128, np.uint8)
    nodes.append(
        helper.make_node(
            "QLinearMatMul",
            ["flat", "pool_scale", "pool_zp", "fc_w", "fc_ws", "fc_wz", "mm_s", "mm_z"],
            ["mm"],
        )
    )
    nodes.append(
        helper.make_node(
            "QLinearAdd",
            ["mm", "mm_s", "mm_z", "fc_b", "fc_bs", "fc_bz", "out_s", "out_z"],
            ["logits_q"],
            domain=MS_DOMAIN,
        )
    )
    nodes.append(helper.make_node("DequantizeLinear", ["logits_q", "out_s", "out_z"], ["output"]))
    graph = helper.make_graph(
        nodes,
        "synthetic_mobilenetv2_int8",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, None, None])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", classes])],
        inits,
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid(MS_DOMAIN, 1)]
    )
    model.ir_version = 8
    path.write_bytes(model.SerializeToString())
    return expected


def _shape_image(
    rng: np.random.Generator, colour: tuple[int, int, int], kind: int, size: int
) -> npt.NDArray[np.uint8]:
    background = rng.integers(60, 200, 3)
    image = np.empty((size, size, 3), dtype=np.uint8)
    image[:] = background
    noise = rng.normal(0, 12, (size, size, 1))
    image = np.clip(image + noise, 0, 255).astype(np.uint8)
    centre = (int(size / 2 + rng.normal(0, size / 16)), int(size / 2 + rng.normal(0, size / 16)))
    radius = int(size * rng.uniform(0.22, 0.32))
    jitter = tuple(int(np.clip(c + rng.normal(0, 10), 0, 255)) for c in colour)
    if kind == 0:
        cv2.circle(image, centre, radius, jitter, -1)
    elif kind == 1:
        cv2.rectangle(
            image,
            (centre[0] - radius, centre[1] - radius),
            (centre[0] + radius, centre[1] + radius),
            jitter,
            -1,
        )
    else:
        points = np.array(
            [
                (centre[0], centre[1] - radius),
                (centre[0] + radius, centre[1] + radius),
                (centre[0] - radius, centre[1] + radius),
            ],
            dtype=np.int32,
        )
        cv2.fillPoly(image, [points], jitter)
    return image


def write_tiny_dataset(
    root: Path,
    *,
    classes: int = 3,
    train_per_class: int = 4,
    val_per_class: int = 2,
    size: int = 96,
    seed: int = 0,
) -> Path:
    """Rendered photos of ``classes`` products (a shape in a colour each) in the dataset layout."""
    rng = np.random.default_rng(seed)
    palette = [(40, 40, 220), (40, 200, 40), (220, 120, 30), (30, 200, 220), (200, 40, 200)]
    rows = [
        "Class Name (str),Class ID (int),Coarse Class Name (str),Coarse Class ID (int),"
        "Iconic Image Path (str),Product Description Path (str)"
    ]
    for split, count in (("train", train_per_class), ("val", val_per_class)):
        lines = []
        for c in range(classes):
            folder = root / split / f"Shape-{c}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                name = f"{split}/Shape-{c}/Shape-{c}_{i:03d}.jpg"
                image = _shape_image(rng, palette[c % len(palette)], c % 3, size)
                cv2.imwrite(str(root / name), image)
                lines.append(f"{name}, {c}, {c}")
        (root / f"{split}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows += [f"Shape-{c},{c},Shape,{c},," for c in range(classes)]
    (root / "classes.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root
