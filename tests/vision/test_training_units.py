"""The training package's parts: augmentation, protocol figures, calibration, export."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from vision.recognition.dataset import grocery_root, read_split, shared_data_root
from vision.recognition.manifest import Manifest, ModelError
from vision.recognition.preprocess import Preprocessor
from vision.training.augment import AugmentConfig, basket_background, cart_view, draw_hand
from vision.training.calibrate import calibrate
from vision.training.convert import convert
from vision.training.data import read_image
from vision.training.export import export_onnx, parity, quantise, run, session, torch_outputs
from vision.training.features import OnnxInt8Trunk, TorchTrunk, cut_int8_trunk, input_spec
from vision.training.mobilenet import (
    MobileNetV2,
    grocery_net,
    split_point,
    trunk_channels,
)
from vision.training.protocol import Embedded, choose_held_out, few_shot, open_set, prototypes
from vision.training.synthetic import write_int8_mobilenet

REPO = Path(__file__).resolve().parents[2]
SOURCE = shared_data_root() / "pretrained" / "mobilenetv2-12-int8.onnx"
needs_shared = pytest.mark.skipif(
    not SOURCE.is_file() or not (grocery_root() / "val.txt").is_file(),
    reason=f"shared data absent ({SOURCE.parent.parent}): needs the int8 MobileNetV2 and photos",
)


def _photo(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    photo = rng.integers(0, 255, (120, 90, 3), dtype=np.uint8)
    photo[30:90, 20:70] = (30, 160, 220)
    return photo


def test_cart_view_is_a_pure_function_of_photo_and_seed() -> None:
    photo = _photo()
    a = cart_view(photo, 64, np.random.default_rng(7))
    b = cart_view(photo, 64, np.random.default_rng(7))
    c = cart_view(photo, 64, np.random.default_rng(8))
    assert a.shape == (64, 64, 3) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_every_augmentation_runs_and_changes_the_view() -> None:
    photo = _photo()
    none = AugmentConfig(basket=0, hand=0, lighting=0, blur=0, noise=0, jpeg=0)
    everything = AugmentConfig(basket=1, hand=1, lighting=1, blur=1, noise=1, jpeg=1)
    plain = cart_view(photo, 64, np.random.default_rng(1), none)
    busy = cart_view(photo, 64, np.random.default_rng(1), everything)
    assert plain.shape == busy.shape == (64, 64, 3)
    assert np.abs(plain.astype(int) - busy.astype(int)).mean() > 5
    background = basket_background(64, np.random.default_rng(0))
    assert background.shape == (64, 64, 3) and background.std() > 3  # wires, not a flat fill
    grey = np.full((64, 64, 3), 128, np.uint8)
    covered = np.abs(draw_hand(grey, np.random.default_rng(2)).astype(int) - 128).sum(2) > 20
    assert 0.03 < covered.mean() < 0.6  # a hand covers part of the view, never all of it


def test_split_points_and_trunk_channels_follow_mobilenet_v2() -> None:
    assert split_point(0) == 18 and split_point(3) == 15
    assert trunk_channels(split_point(3)) == 160  # after the first 160-channel block
    assert trunk_channels(split_point(6)) == 96
    with pytest.raises(ValueError):
        split_point(18)
    net = grocery_net(MobileNetV2(), 3, 32, 5)
    embedding, logits = net(torch.zeros(2, 3, 64, 64))
    assert embedding.shape == (2, 32) and logits.shape == (2, 5)
    np.testing.assert_allclose(embedding.norm(dim=1).detach().numpy(), 1.0, atol=1e-5)


def test_int8_trunk_cut_has_the_float_trunks_shape(tmp_path: Path) -> None:
    source = tmp_path / "source.onnx"
    write_int8_mobilenet(source, seed=2, classes=8)
    model, _ = convert(source)
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    for blocks, shape in ((3, (2, 160, 2, 2)), (6, (2, 96, 4, 4)), (4, (2, 96, 4, 4))):
        split = split_point(blocks)
        int8 = OnnxInt8Trunk(source, split, threads=1)(x)
        float_ = TorchTrunk(torch.nn.Sequential(*list(model.features.children())[:split]))(x)
        assert int8.shape == float_.shape == shape
    assert cut_int8_trunk(source.read_bytes(), 15) == cut_int8_trunk(source.read_bytes(), 15)


@needs_shared
@pytest.mark.parametrize("blocks", [3, 6])
def test_int8_trunk_cut_matches_the_converted_float_trunk_on_photos(blocks: int) -> None:
    root = grocery_root()
    samples = read_split(root / "val.txt", root)[::60]
    x = Preprocessor(input_spec(224)).tensor([read_image(s.path) for s in samples])
    model, _ = convert(SOURCE)
    split = split_point(blocks)
    int8 = OnnxInt8Trunk(SOURCE, split, threads=1)(x)
    float_ = TorchTrunk(torch.nn.Sequential(*list(model.features.children())[:split]))(x)
    # Same weights; only the int8 activation rounding differs.
    a, b = int8.reshape(len(x), -1), float_.reshape(len(x), -1)
    cosine = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert cosine.min() > 0.95, cosine


def test_export_matches_torch_and_quantisation_stays_close() -> None:
    torch.manual_seed(0)
    net = grocery_net(MobileNetV2(), 2, 16, 4).eval()
    x = np.random.default_rng(0).standard_normal((6, 3, 64, 64)).astype(np.float32)
    model = export_onnx(net, 64)
    reference = torch_outputs(net, x)
    exported = run(session(model), x)
    match = parity(reference, exported)
    assert match.max_abs_embedding < 1e-4 and match.max_abs_logits < 1e-3
    assert match.top1_agreement == 1.0
    int8 = quantise(model, x)
    quantised = run(session(int8), x)
    assert quantised[0].shape == (6, 16) and quantised[1].shape == (6, 4)
    cosine = (quantised[0] * reference[0]).sum(axis=1)
    assert cosine.min() > 0.8


def test_temperature_scaling_fixes_overconfident_logits() -> None:
    rng = np.random.default_rng(0)
    columns = rng.integers(0, 5, 400)
    logits = rng.normal(0, 1, (400, 5)).astype(np.float32)
    right = rng.random(400) < 0.6
    logits[np.arange(400), np.where(right, columns, (columns + 1) % 5)] += 3.0
    result = calibrate(logits * 4.0, columns)  # ×4: far too confident
    assert result.temperature > 2.0
    assert result.nll_after < result.nll_before
    assert result.ece_after < result.ece_before
    assert 0.0 <= result.ece_after_crossfit < result.ece_before


def test_protocol_figures_on_separable_embeddings() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(6, 8, dtype=np.float32)

    def sample(columns: np.ndarray) -> np.ndarray:
        points = centres[columns] + rng.normal(0, 0.15, (len(columns), 8)).astype(np.float32)
        return np.asarray(points / np.linalg.norm(points, axis=1, keepdims=True), np.float32)

    train_cols = np.repeat(np.arange(6), 10)
    val_cols = np.repeat(np.arange(6), 5)
    train_emb, val_emb = sample(train_cols), sample(val_cols)
    held = choose_held_out(val_cols, 2, seed=0)
    assert len(held) == 2 and held == tuple(sorted(held))
    embedded = Embedded(train_emb, train_cols, val_emb, val_cols, 6)
    result = few_shot(embedded, held, shots=1, draws=3)
    assert result.top1_held_out > 0.9 and result.held_out_photos == 10
    opened = open_set(embedded, held)
    assert opened.known_accepted >= 0.95
    assert opened.unknown_flagged > 0.9  # orthogonal classes are far from every prototype
    protos = prototypes(train_emb, train_cols, 6)
    np.testing.assert_allclose(np.linalg.norm(protos, axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError):
        choose_held_out(val_cols, 6, seed=0)


def _manifest_copy(tmp_path: Path, name: str) -> tuple[Path, dict[str, object]]:
    source = REPO / "models" / f"{name}.json"
    raw = json.loads(source.read_text(encoding="utf-8"))
    shutil.copy(source.parent / str(raw["file"]), tmp_path / str(raw["file"]))
    return tmp_path / source.name, raw


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"labels": ["a", "a"]}, "labels must be unique"),
        ({"labels": ["a", ""]}, "labels must be a list"),
        ({"outputs": {"embedding": "embedding", "logits": None}, "labels": ["a"]}, "logits output"),
        ({"logits_calibration": {"temperature": 0}}, "temperature must lie"),
    ],
)
def test_manifest_rejects_bad_class_sections(
    tmp_path: Path, change: dict[str, object], message: str
) -> None:
    path, raw = _manifest_copy(tmp_path, "grocery-embed-v0")
    raw.update(change)
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ModelError, match=message):
        Manifest.load(path)
