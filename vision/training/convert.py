"""Weights of the int8 ONNX MobileNetV2 dequantised into :class:`~.mobilenet.MobileNetV2`.

The source (``mobilenetv2-12-int8.onnx``, ONNX Model Zoo) stores every convolution as a
``QLinearConv`` with BatchNorm already folded in: int8 weights with one scale (and zero point)
per output channel, and an int32 bias whose scale is ``input_scale × weight_scale`` (zero point
0, as the ONNX spec requires). The float weight is ``(w_q − w_zp) × w_scale`` and the float bias
``b_q × x_scale × w_scale``. The 52 ``QLinearConv`` nodes appear in execution order, which is the
order of :func:`~.mobilenet.convolutions`; the shapes are checked one by one, so a different
source fails loudly rather than loading shifted weights. The classifier is a ``QLinearMatMul``
(weight ``[1280, 1000]``) followed by a ``QLinearAdd`` of the quantised bias.

What does not carry over: the activations' own uint8 quantisation (the float network is the
"fp32 parent" the int8 model approximates), so logits agree closely but not bit for bit; the
tests bound the difference (``tests/vision/test_training_convert.py``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import torch
from onnx import numpy_helper

from vision.training.mobilenet import MobileNetV2, convolutions

SOURCE_SHA256 = "cc028fe6cae7bc11a4ff53cfc9b79c920e8be65ce33a904ec3e2a8f66d77f95f"
FloatArray = npt.NDArray[np.float32]


class ConversionError(Exception):
    """The source model is missing or not shaped like the MobileNetV2 this module builds."""


@dataclass(frozen=True, slots=True)
class ConversionReport:
    """What was converted: the source's checksum and the number of tensors loaded."""

    source: Path
    sha256: str
    convolutions: int
    max_abs_weight: float


def _dequantise(
    values: FloatArray, scale: FloatArray, zero_point: FloatArray, axis: int = 0
) -> FloatArray:
    """``(q − zp) × scale`` with a per-channel scale/zero point broadcast along ``axis``."""
    shape: tuple[int, ...] = ()
    if scale.size > 1:
        shape = tuple(-1 if i == axis % values.ndim else 1 for i in range(values.ndim))
    return np.asarray((values - zero_point.reshape(shape)) * scale.reshape(shape), dtype=np.float32)


def convert(source: Path, model: MobileNetV2 | None = None) -> tuple[MobileNetV2, ConversionReport]:
    """A float :class:`MobileNetV2` carrying the dequantised weights of ``source``."""
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise ConversionError(f"cannot read the source model {source}: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    graph = onnx.load_from_string(data).graph
    tensors: dict[str, FloatArray] = {
        init.name: numpy_helper.to_array(init).astype(np.float32) for init in graph.initializer
    }

    def tensor(name: str) -> FloatArray:
        if name not in tensors:
            raise ConversionError(f"{source}: initializer {name!r} not found")
        return tensors[name]

    if model is None:
        # The classifier's width comes from the source (1000 for ImageNet).
        matmuls = [n for n in graph.node if n.op_type == "QLinearMatMul"]
        width = tensor(matmuls[0].input[3]).shape[-1] if matmuls else 1000
        model = MobileNetV2(int(width))
    targets = convolutions(model)
    nodes = [n for n in graph.node if n.op_type == "QLinearConv"]
    if len(nodes) != len(targets):
        raise ConversionError(
            f"{source}: {len(nodes)} QLinearConv nodes, the network has {len(targets)} convs"
        )
    largest = 0.0
    with torch.no_grad():
        for index, (node, conv) in enumerate(zip(nodes, targets, strict=True)):
            x_scale = tensor(node.input[1])
            w_q, w_scale, w_zp = (tensor(name) for name in node.input[3:6])
            weight = _dequantise(w_q, w_scale, w_zp)
            if tuple(weight.shape) != tuple(conv.weight.shape):
                raise ConversionError(
                    f"{source}: conv {index} ({node.name or node.output[0]}) has weight shape "
                    f"{weight.shape}, the network expects {tuple(conv.weight.shape)}"
                )
            bias_q = tensor(node.input[8]) if len(node.input) > 8 and node.input[8] else None
            bias = (
                np.zeros(weight.shape[0], np.float32)
                if bias_q is None
                else np.asarray(bias_q * x_scale * w_scale, dtype=np.float32).reshape(-1)
            )
            conv.weight.copy_(torch.from_numpy(weight))
            assert conv.bias is not None  # every conv is built with a bias (BN folded)
            conv.bias.copy_(torch.from_numpy(bias))
            largest = max(largest, float(np.abs(weight).max()))

        matmul = [n for n in graph.node if n.op_type == "QLinearMatMul"]
        add = [
            n
            for n in graph.node
            if n.op_type == "QLinearAdd" and matmul and n.input[0] == matmul[0].output[0]
        ]
        if len(matmul) != 1 or len(add) != 1:
            raise ConversionError(f"{source}: classifier (QLinearMatMul + QLinearAdd) not found")
        # MatMul weight is [in, out]: its per-channel scales run along the output axis.
        w_q, w_scale, w_zp = (tensor(name) for name in matmul[0].input[3:6])
        w = _dequantise(w_q, w_scale, w_zp, axis=1)
        b_q, b_scale, b_zp = (tensor(name) for name in add[0].input[3:6])
        b = _dequantise(b_q, b_scale, b_zp)
        if w.shape != (model.classifier.in_features, model.classifier.out_features):
            raise ConversionError(f"{source}: classifier weight has shape {w.shape}")
        model.classifier.weight.copy_(torch.from_numpy(np.ascontiguousarray(w.T)))
        model.classifier.bias.copy_(torch.from_numpy(b.reshape(-1)))
    model.eval()
    return model, ConversionReport(source, digest, len(nodes), largest)
