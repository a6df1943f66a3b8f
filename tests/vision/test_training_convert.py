"""Conversion of the int8 ONNX MobileNetV2 into the PyTorch network.

Two levels of agreement are checked:

* **weights**: on a synthetic int8 model in the source's format (no shared data needed), the
  converted weights and biases are exactly ``(q − zp) × scale`` and ``b_q × x_scale × w_scale``;
* **per layer**: every converted convolution, fed the int8 model's own (dequantised) input to
  that layer, reproduces the int8 layer's output to within half a quantisation step of the
  output (plus float rounding), after clipping to the range the uint8 output can represent. This
  is the exact statement of "same weights, same operation": the int8 layer computes the same
  integer-exact accumulation and only rounds the result. On the real model (when
  ``../shared/data`` is present) it runs on real val photos;
* **end to end** (real model, real photos): the whole float network differs from the int8 one
  by the accumulated 8-bit activation rounding of 52 layers, so the bar is a tolerance: pooled
  1280-d features have cosine similarity >= 0.93 per photo and >= 0.96 on average, and the
  ImageNet top-5 of the int8 model contains the float top-1 on most photos.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import helper, numpy_helper

from vision.recognition.dataset import grocery_root, read_split, shared_data_root
from vision.recognition.preprocess import Preprocessor
from vision.training.convert import SOURCE_SHA256, ConversionError, convert
from vision.training.data import read_image
from vision.training.features import input_spec
from vision.training.mobilenet import ConvReLU6, MobileNetV2, convolutions
from vision.training.synthetic import write_int8_mobilenet

SOURCE = shared_data_root() / "pretrained" / "mobilenetv2-12-int8.onnx"
needs_shared = pytest.mark.skipif(
    not SOURCE.is_file() or not (grocery_root() / "val.txt").is_file(),
    reason=f"shared data absent ({SOURCE.parent.parent}): the real-model parity checks need "
    "the int8 MobileNetV2 and the grocery val photos",
)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    path = tmp_path_factory.mktemp("source") / "synthetic-int8.onnx"
    expected = write_int8_mobilenet(path, seed=3, classes=12)
    return path, expected


def test_converted_weights_are_the_dequantised_int8_weights(
    synthetic: tuple[Path, dict[str, np.ndarray]],
) -> None:
    path, expected = synthetic
    model, report = convert(path)
    assert report.convolutions == 52
    assert report.sha256 != SOURCE_SHA256
    for i, conv in enumerate(convolutions(model)):
        np.testing.assert_array_equal(conv.weight.detach().numpy(), expected[f"conv{i}.weight"])
        assert conv.bias is not None
        np.testing.assert_allclose(
            conv.bias.detach().numpy(), expected[f"conv{i}.bias"], rtol=1e-6, atol=1e-9
        )
    assert model.classifier.out_features == 12  # the width comes from the source
    np.testing.assert_array_equal(
        model.classifier.weight.detach().numpy(), expected["classifier.weight"].T
    )
    np.testing.assert_allclose(model.classifier.bias.detach().numpy(), expected["classifier.bias"])


def test_a_source_of_another_shape_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.onnx"
    write_int8_mobilenet(path, classes=4)
    model = onnx.load(str(path))
    # Drop the last convolution: the network no longer lines up with MobileNetV2.
    last = [n for n in model.graph.node if n.op_type == "QLinearConv"][-1]
    model.graph.node.remove(last)
    path.write_bytes(model.SerializeToString())
    with pytest.raises(ConversionError, match="51 QLinearConv"):
        convert(path)
    with pytest.raises(ConversionError, match="cannot read"):
        convert(tmp_path / "missing.onnx")


def _layer_outputs(source: Path, batch: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Every QLinearConv's dequantised input, and its output packed with its clip range."""
    model = onnx.load(str(source))
    graph = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    convs = [n for n in graph.node if n.op_type == "QLinearConv"]
    wanted: list[str] = []
    for node in convs:
        wanted += [node.input[0], node.output[0]]
    names = [n for n in dict.fromkeys(wanted) if n not in {o.name for o in graph.output}]
    graph.output.extend(
        helper.make_tensor_value_info(n, onnx.TensorProto.UINT8, None) for n in names
    )
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    values = dict(zip(names, session.run(names, {"input": batch}), strict=True))
    inputs, outputs = [], []
    for node in convs:
        x_s, x_z = inits[node.input[1]], inits[node.input[2]].astype(np.float32)
        y_s, y_z = inits[node.input[6]], inits[node.input[7]].astype(np.float32)
        out = values[node.output[0]].astype(np.float32)
        inputs.append((values[node.input[0]].astype(np.float32) - x_z) * x_s)
        # The reference, the lowest and highest value the uint8 output can hold, its step.
        outputs.append(
            np.stack(
                [
                    (out - y_z) * y_s,
                    np.full_like(out, (0 - y_z) * y_s),
                    np.full_like(out, (255 - y_z) * y_s),
                    np.full_like(out, y_s),
                ]
            )
        )
    return inputs, outputs


def _check_layers(source: Path, batch: np.ndarray) -> None:
    model, _ = convert(source)
    units = [m for m in model.modules() if isinstance(m, ConvReLU6)]
    inputs, outputs = _layer_outputs(source, batch)
    assert len(units) == len(inputs) == 52
    with torch.no_grad():
        for i, (unit, x, packed) in enumerate(zip(units, inputs, outputs, strict=True)):
            reference, low, high, step = packed
            ours = unit(torch.from_numpy(x)).numpy()
            ours = np.clip(ours, low, high)
            error = np.abs(ours - reference) - 0.5 * step
            # Half a step of rounding, and float accumulation noise on top.
            assert error.max() <= 1e-3 * max(1.0, float(np.abs(reference).max())), (
                f"conv {i}: off by {error.max() + 0.5 * float(step.flat[0]):.4g} "
                f"(step {float(step.flat[0]):.4g})"
            )


def test_every_layer_matches_the_int8_layer_on_a_synthetic_model(
    synthetic: tuple[Path, dict[str, np.ndarray]],
) -> None:
    path, _ = synthetic
    batch = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    _check_layers(path, batch)


def _val_batch(count: int) -> np.ndarray:
    root = grocery_root()
    samples = read_split(root / "val.txt", root)[:: max(1, 296 // count)][:count]
    return Preprocessor(input_spec(224)).tensor([read_image(s.path) for s in samples])


@needs_shared
def test_every_layer_matches_the_real_int8_model_on_val_photos() -> None:
    _check_layers(SOURCE, _val_batch(2))


@needs_shared
def test_whole_network_matches_onnxruntime_within_tolerance() -> None:
    batch = _val_batch(8)
    model, report = convert(SOURCE)
    assert report.sha256 == SOURCE_SHA256
    assert isinstance(model, MobileNetV2)
    session = ort.InferenceSession(str(SOURCE), providers=["CPUExecutionProvider"])
    reference = np.asarray(session.run(["output"], {"input": batch})[0])
    with torch.no_grad():
        logits = model(torch.from_numpy(batch)).numpy()
        pooled = model.pooled(torch.from_numpy(batch)).numpy()
    # The shipped v0 embedding is the int8 model's float-pooled feature: compare with it.
    v0 = Path(__file__).resolve().parents[2] / "models" / "grocery-embed-v0.onnx"
    embedding = np.asarray(
        ort.InferenceSession(str(v0), providers=["CPUExecutionProvider"]).run(
            ["embedding"], {"input": batch}
        )[0]
    )
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    cosine = (pooled * embedding).sum(axis=1)
    assert cosine.min() >= 0.93 and cosine.mean() >= 0.96, cosine
    logit_cos = (
        (logits * reference).sum(1)
        / np.linalg.norm(logits, axis=1)
        / np.linalg.norm(reference, axis=1)
    )
    assert logit_cos.min() >= 0.9, logit_cos
    top5 = np.argsort(-reference, axis=1)[:, :5]
    assert np.mean([logits[i].argmax() in top5[i] for i in range(len(batch))]) >= 0.75
