"""ONNX export of the fine-tuned network, int8 quantisation, and checks against PyTorch.

The export has one input (``input``, ``[N, 3, H, W]`` float32, normalised as in the manifest)
and two outputs: ``embedding`` (``[N, D]``, unit length) and ``logits`` (``[N, C]``, before the
calibration temperature, which the manifest carries so the cart can apply it and a later
re-calibration does not change the model file).

Quantisation is static (onnxruntime.quantization, QOperator format like the source model:
``QLinearConv`` with per-channel int8 weights, uint8 activations, MinMax ranges from clean crops
of training photos). Only convolutions and the residual additions are quantised: the heads are
two small matrix products where float costs nothing and keeps the cosine logits exact.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
import torch
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    QuantType,
    quantize_static,
)

from vision.training.mobilenet import GroceryNet

FloatArray = npt.NDArray[np.float32]
OPSET = 17
INPUT, EMBEDDING, LOGITS = "input", "embedding", "logits"


class ExportError(Exception):
    """The exported model does not reproduce the PyTorch network."""


@dataclass(frozen=True, slots=True)
class Parity:
    """Largest differences between two implementations on the same inputs."""

    max_abs_embedding: float
    max_abs_logits: float
    top1_agreement: float


def export_onnx(net: GroceryNet, size: int) -> bytes:
    """The network as ONNX bytes (dynamic batch, fixed ``size``×``size`` input)."""
    net.eval()
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        path = Path(tmp) / "model.onnx"
        # The TorchScript exporter announces its deprecation; it needs no onnxscript, which
        # the dynamo exporter would pull in as another dependency.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net,
            (torch.zeros(1, 3, size, size),),
            path,
            dynamo=False,
            input_names=[INPUT],
            output_names=[EMBEDDING, LOGITS],
            dynamic_axes={INPUT: {0: "batch"}, EMBEDDING: {0: "batch"}, LOGITS: {0: "batch"}},
            opset_version=OPSET,
            do_constant_folding=True,
        )
        model = onnx.load(str(path))
    model.producer_name = "smartcart vision.training"
    model.doc_string = "grocery embedding + cosine classifier (MobileNetV2, fine-tuned)"
    onnx.checker.check_model(model)
    data: bytes = model.SerializeToString(deterministic=True)
    return data


def session(model: bytes, threads: int = 1) -> ort.InferenceSession:
    """A CPU onnxruntime session over model bytes."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def run(
    model: ort.InferenceSession, batch: FloatArray, step: int = 32
) -> tuple[FloatArray, FloatArray]:
    """(embeddings, logits) of a normalised input batch, in chunks of ``step``."""
    embeddings, logits = [], []
    for start in range(0, len(batch), step):
        e, z = model.run([EMBEDDING, LOGITS], {INPUT: batch[start : start + step]})
        embeddings.append(np.asarray(e, np.float32))
        logits.append(np.asarray(z, np.float32))
    return np.concatenate(embeddings), np.concatenate(logits)


def torch_outputs(net: GroceryNet, batch: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The PyTorch network's (embeddings, logits) on the same batch."""
    net.eval()
    with torch.no_grad():
        e, z = net(torch.from_numpy(batch))
    return np.asarray(e.numpy(), np.float32), np.asarray(z.numpy(), np.float32)


def parity(a: tuple[FloatArray, FloatArray], b: tuple[FloatArray, FloatArray]) -> Parity:
    """How far two (embeddings, logits) pairs are apart."""
    return Parity(
        max_abs_embedding=float(np.abs(a[0] - b[0]).max()),
        max_abs_logits=float(np.abs(a[1] - b[1]).max()),
        top1_agreement=float((a[1].argmax(1) == b[1].argmax(1)).mean()),
    )


class _Reader(CalibrationDataReader):  # type: ignore[misc]  # onnxruntime is untyped
    def __init__(self, batch: FloatArray) -> None:
        self._items: Iterator[dict[str, FloatArray]] = iter(
            {INPUT: batch[i : i + 1]} for i in range(len(batch))
        )

    def get_next(self) -> dict[str, FloatArray] | None:
        return next(self._items, None)


def quantise(model: bytes, calibration: FloatArray) -> bytes:
    """Static int8 quantisation of ``model`` with activation ranges from ``calibration``."""
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        source.write_bytes(model)
        quantize_static(
            str(source),
            str(target),
            _Reader(calibration),
            quant_format=QuantFormat.QOperator,
            op_types_to_quantize=["Conv", "Add"],
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
        quantised = onnx.load(str(target))
    quantised.producer_name = "smartcart vision.training (onnxruntime.quantization)"
    data: bytes = quantised.SerializeToString(deterministic=True)
    return data
