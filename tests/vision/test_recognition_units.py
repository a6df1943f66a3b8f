"""Manifest validation, model file errors, gallery files, scoring, calibration and preprocessing."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from vision.recognition import (
    DEFAULT_MANIFEST,
    ClassifierSettings,
    Gallery,
    GalleryError,
    Manifest,
    ModelError,
    Recogniser,
    Unknown,
    expected_calibration_error,
    fit_temperature,
    nll,
    softmax,
)
from vision.recognition.dataset import DatasetError, read_split
from vision.recognition.enrol import NO_AUGMENTATION, Augmentation, enrolment_views
from vision.recognition.preprocess import Preprocessor, fit

# ----------------------------------------------------------------------------- model files


@pytest.fixture
def model_copy(tmp_path: Path) -> Path:
    """The shipped manifest and model copied to a temporary folder; returns the manifest."""
    manifest = json.loads(DEFAULT_MANIFEST.read_text(encoding="utf-8"))
    shutil.copy(DEFAULT_MANIFEST.parent / manifest["file"], tmp_path / manifest["file"])
    path = tmp_path / DEFAULT_MANIFEST.name
    shutil.copy(DEFAULT_MANIFEST, path)
    return path


def _edit(path: Path, **changes: Any) -> None:
    raw = json.loads(path.read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        node = raw
        *parents, last = dotted.split("__")
        for key in parents:
            node = node[key]
        node[last] = value
    path.write_text(json.dumps(raw), encoding="utf-8")


def test_checksum_mismatch_is_a_model_error(model_copy: Path) -> None:
    model = model_copy.parent / json.loads(model_copy.read_text())["file"]
    data = bytearray(model.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte deep inside the weights
    model.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match"):
        Manifest.load(model_copy)
    with pytest.raises(ModelError, match="sha256"):
        Recogniser.load(model_copy)


def test_missing_model_file_names_the_path(model_copy: Path) -> None:
    model = model_copy.parent / json.loads(model_copy.read_text())["file"]
    model.unlink()
    with pytest.raises(ModelError, match="not found") as caught:
        Recogniser.load(model_copy)
    assert str(model) in str(caught.value)
    with pytest.raises(ModelError, match="not found") as caught:
        Manifest.load(model_copy)
    assert str(model) in str(caught.value)


def test_missing_manifest_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found") as caught:
        Recogniser.load(tmp_path / "nothing.json")
    assert str(tmp_path / "nothing.json") in str(caught.value)


def test_corrupt_onnx_bytes_are_a_model_error(model_copy: Path) -> None:
    model = model_copy.parent / json.loads(model_copy.read_text())["file"]
    garbage = b"this is not an onnx model" * 100
    model.write_bytes(garbage)
    # With a manifest that matches the garbage, the checksum passes and onnxruntime refuses.
    _edit(model_copy, sha256=hashlib.sha256(garbage).hexdigest())
    with pytest.raises(ModelError, match="onnxruntime cannot load"):
        Recogniser.load(model_copy)


def test_truncated_model_is_a_model_error(model_copy: Path) -> None:
    model = model_copy.parent / json.loads(model_copy.read_text())["file"]
    data = model.read_bytes()[:50_000]
    model.write_bytes(data)
    _edit(model_copy, sha256=hashlib.sha256(data).hexdigest())
    with pytest.raises(ModelError):
        Recogniser.load(model_copy)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"schema": 2}, "schema 2"),
        ({"file": "../elsewhere.onnx"}, "bare file name"),
        ({"sha256": "abc"}, "64 hex"),
        ({"input__crop_fraction": 2}, "input.crop_fraction"),
        ({"input__resize": "squash"}, "input.resize"),
        ({"input__mean": [0.5, 0.5]}, "input.mean"),
        ({"input__size": [224]}, "input.size"),
        ({"input__layout": "NHWC"}, "input.layout"),
        ({"normalised": "yes"}, "normalised"),
        ({"calibration__temperature": -1}, "calibration.temperature"),
        ({"calibration__method": "svm"}, "calibration.method"),
        ({"embedding_dim": 0}, "embedding_dim"),
    ],
)
def test_malformed_manifest_fields_are_named(
    model_copy: Path, change: dict[str, Any], message: str
) -> None:
    _edit(model_copy, **change)
    with pytest.raises(ModelError, match=message.replace(".", r"\.")) as caught:
        Manifest.load(model_copy)
    assert str(model_copy) in str(caught.value)


def test_manifest_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text("{ not json", encoding="utf-8")
    with pytest.raises(ModelError, match="cannot read the model manifest"):
        Manifest.load(path)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"outputs__embedding": "features"}, "no output 'features'"),
        ({"input__name": "image"}, "no input 'image'"),
        ({"embedding_dim": 512}, r"has \d+ dimensions, manifest says 512"),
        ({"input__size": [256, 256]}, "shape"),
    ],
)
def test_manifest_that_does_not_fit_the_model(
    model_copy: Path, change: dict[str, Any], message: str
) -> None:
    _edit(model_copy, **change)
    with pytest.raises(ModelError, match=message):
        Recogniser.load(model_copy)


# ----------------------------------------------------------------------------- gallery


def _unit(rng: np.random.Generator, n: int, dim: int = 16) -> npt.NDArray[np.float32]:
    v = rng.standard_normal((n, dim)).astype(np.float32)
    return np.asarray(v / np.linalg.norm(v, axis=1, keepdims=True), dtype=np.float32)


def test_gallery_save_load_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    gallery = Gallery(16, model_sha256="ab" * 32)
    gallery.add("SKU-Ä", _unit(rng, 3))  # non-ASCII labels survive (no pickles involved)
    gallery.add("SKU-2", _unit(rng, 1)[0])
    gallery.add("SKU-Ä", _unit(rng, 2))
    path = tmp_path / "nested" / "gallery.npz"
    gallery.save(path)
    loaded = Gallery.load(path, model_sha256="ab" * 32)
    assert loaded.labels == ("SKU-2", "SKU-Ä")
    assert loaded.model_sha256 == "ab" * 32
    assert len(loaded) == 6
    for label in gallery.labels:
        np.testing.assert_array_equal(loaded.references(label), gallery.references(label))
    np.testing.assert_array_equal(loaded.prototypes()[1], gallery.prototypes()[1])
    assert loaded.stats().min_per_label == 1 and loaded.stats().max_per_label == 5
    assert not list(path.parent.glob(".gallery.npz.*"))  # no temporary file left behind


def test_empty_gallery_round_trip(tmp_path: Path) -> None:
    Gallery(8).save(tmp_path / "empty.npz")
    loaded = Gallery.load(tmp_path / "empty.npz")
    assert len(loaded) == 0 and loaded.labels == () and loaded.dim == 8


def test_gallery_add_remove_and_validation() -> None:
    rng = np.random.default_rng(1)
    gallery = Gallery(16)
    assert gallery.add("a", _unit(rng, 2)) == 2
    assert gallery.add("b", 3.0 * _unit(rng, 1)) == 1  # stored normalised
    np.testing.assert_allclose(np.linalg.norm(gallery.references("b"), axis=1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="shape"):
        gallery.add("c", np.ones((1, 8)))
    with pytest.raises(ValueError, match="NaN"):
        gallery.add("c", np.full((1, 16), np.nan))
    with pytest.raises(ValueError, match="label"):
        gallery.add(" padded ", _unit(rng, 1))
    assert gallery.remove("a") == 2
    assert gallery.remove("a") == 0
    assert gallery.labels == ("b",)


def test_gallery_file_errors(tmp_path: Path) -> None:
    with pytest.raises(GalleryError, match="not found"):
        Gallery.load(tmp_path / "none.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    with pytest.raises(GalleryError, match="not a readable gallery"):
        Gallery.load(bad)
    gallery = Gallery(4, model_sha256="cd" * 32)
    gallery.add("x", np.eye(4)[:1])
    gallery.save(tmp_path / "g.npz")
    with pytest.raises(GalleryError, match="enrol the products again"):
        Gallery.load(tmp_path / "g.npz", model_sha256="ef" * 32)


def test_empty_gallery_classifies_everything_unknown() -> None:
    result = Gallery(4).classify(np.array([1.0, 0, 0, 0]))
    assert isinstance(result, Unknown) and result.nearest == ()


def test_prototype_and_knn_scores() -> None:
    gallery = Gallery(2)
    gallery.add("left", np.array([[1.0, 0.0], [0.8, 0.6]]))
    gallery.add("up", np.array([[0.0, 1.0]]))
    labels, proto = gallery.scores(np.array([[1.0, 0.0]]), "prototype")
    assert labels == ("left", "up")
    mean = np.array([1.8, 0.6]) / np.linalg.norm([1.8, 0.6])
    np.testing.assert_allclose(proto[0], [mean[0], 0.0], atol=1e-6)
    _, knn1 = gallery.scores(np.array([[1.0, 0.0]]), "knn", k=1)
    np.testing.assert_allclose(knn1[0], [1.0, 0.0], atol=1e-6)
    _, knn2 = gallery.scores(np.array([[1.0, 0.0]]), "knn", k=2)
    np.testing.assert_allclose(knn2[0], [0.9, 0.0], atol=1e-6)  # "up" has one reference only


def test_classify_candidates_and_unknown_threshold() -> None:
    gallery = Gallery(3)
    for i, label in enumerate("abc"):
        gallery.add(label, np.eye(3)[i])
    settings = ClassifierSettings(temperature=0.1, unknown_threshold=0.5)
    query = np.array([0.9, 0.3, 0.1])
    result = gallery.classify(query, top_k=2, settings=settings)
    assert not isinstance(result, Unknown)
    assert [c.label for c in result] == ["a", "b"]
    all_three = gallery.classify(query, top_k=10, settings=settings)
    assert not isinstance(all_three, Unknown)
    assert sum(c.probability for c in all_three) == pytest.approx(1.0, abs=1e-5)
    far = gallery.classify(np.array([1.0, 1.0, 1.0]), settings=settings)  # 0.577 each
    assert not isinstance(far, Unknown)
    strict = dataclasses.replace(settings, unknown_threshold=0.6)
    unknown = gallery.classify(np.array([1.0, 1.0, 1.0]), settings=strict)
    assert isinstance(unknown, Unknown)
    assert unknown.best_similarity == pytest.approx(1 / np.sqrt(3), abs=1e-6)
    with pytest.raises(ValueError):
        gallery.classify(query, top_k=0, settings=settings)


def test_classifier_settings_validation_and_defaults() -> None:
    with pytest.raises(ValueError):
        ClassifierSettings(temperature=0)
    with pytest.raises(ValueError):
        ClassifierSettings(unknown_threshold=1.5)
    with pytest.raises(ValueError):
        ClassifierSettings(knn_k=0)
    manifest = Manifest.load(DEFAULT_MANIFEST, verify=False)
    settings = ClassifierSettings.from_calibration(manifest.calibration)
    assert manifest.calibration is not None
    assert settings.temperature == manifest.calibration.temperature
    assert ClassifierSettings.from_calibration(None, unknown_threshold=0.4).unknown_threshold == 0.4


# ----------------------------------------------------------------------------- calibration


def _scores_with_temperature(
    rng: np.random.Generator, n: int, temperature: float, classes: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Cosine-like scores and labels drawn from ``softmax(scores / temperature)``."""
    scores = rng.uniform(0.3, 0.9, size=(n, classes)).astype(np.float32)
    cumulative = softmax(scores, temperature).astype(np.float64).cumsum(axis=1)
    truth = (rng.uniform(size=(n, 1)) > cumulative).sum(axis=1)
    return scores, np.minimum(truth, classes - 1).astype(np.int64)


def test_temperature_scaling_lowers_held_out_nll() -> None:
    rng = np.random.default_rng(3)
    fit_scores, fit_truth = _scores_with_temperature(rng, 600, 0.05)
    held_scores, held_truth = _scores_with_temperature(rng, 600, 0.05)
    untuned = 0.005  # far too sharp: confident and often wrong
    fitted = fit_temperature(fit_scores, fit_truth)
    assert nll(held_scores, held_truth, fitted) < nll(held_scores, held_truth, untuned)
    before = expected_calibration_error(softmax(held_scores, untuned), held_truth)
    after = expected_calibration_error(softmax(held_scores, fitted), held_truth)
    assert after < before


def test_fit_temperature_recovers_the_generating_temperature() -> None:
    rng = np.random.default_rng(4)
    true_t = 0.07
    scores, truth = _scores_with_temperature(rng, 4000, true_t, classes=8)
    assert fit_temperature(scores, truth) == pytest.approx(true_t, rel=0.15)
    with pytest.raises(ValueError):
        fit_temperature(scores[:0], truth[:0])


def test_softmax_is_stable_for_sharp_temperatures() -> None:
    p = softmax(np.array([[0.9, 0.1, -0.5]], dtype=np.float32), 1e-4)
    assert np.isfinite(p).all() and p[0, 0] == pytest.approx(1.0)


# ----------------------------------------------------------------------------- preprocessing


@pytest.fixture(scope="module")
def spec() -> Any:
    return Manifest.load(DEFAULT_MANIFEST, verify=False).input


@pytest.mark.parametrize("resize", ["crop", "letterbox", "stretch"])
@pytest.mark.parametrize("shape", [(480, 640, 3), (100, 40, 3), (224, 224, 3), (30, 30)])
def test_fit_gives_the_input_size(spec: Any, resize: str, shape: tuple[int, ...]) -> None:
    image = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
    fitted = fit(image, dataclasses.replace(spec, resize=resize))
    assert fitted.shape == (spec.height, spec.width, 3)
    assert fitted.dtype == np.uint8


def test_letterbox_pads_with_the_mean_colour(spec: Any) -> None:
    letterbox = dataclasses.replace(spec, resize="letterbox")
    tall = np.full((200, 50, 3), 255, np.uint8)
    tensor = Preprocessor(letterbox).tensor([tall])
    # The padding normalises to zero in every channel; the white middle does not.
    np.testing.assert_allclose(tensor[0, :, :, :10], 0.0, atol=0.03)
    assert tensor[0, :, 112, 112].min() > 1.0


def test_crop_keeps_the_centre(spec: Any) -> None:
    crop = dataclasses.replace(spec, resize="crop", crop_fraction=0.5)
    image = np.zeros((400, 400, 3), np.uint8)
    image[100:300, 100:300] = (0, 0, 255)  # red centre square (BGR) fills the 0.5 crop
    tensor = Preprocessor(crop).tensor([image])
    # RGB order: channel 0 (red) is high everywhere, blue everywhere low.
    assert tensor[0, 0].min() > 2.0 and tensor[0, 2].max() < -1.0


def test_crops_of_other_layouts(spec: Any) -> None:
    pre = Preprocessor(spec)
    grey = np.full((50, 60), 128, np.uint8)
    bgra = np.full((50, 60, 4), 128, np.uint8)
    np.testing.assert_allclose(pre.tensor([grey]), pre.tensor([bgra]))
    with pytest.raises(ValueError, match="empty"):
        pre.tensor([np.zeros((0, 10, 3), np.uint8)])
    with pytest.raises(ValueError, match="uint8"):
        pre.tensor([np.zeros((10, 10, 3), np.float32)])


def test_enrolment_views() -> None:
    image = np.arange(100 * 80 * 3, dtype=np.uint8).reshape(100, 80, 3)
    views = enrolment_views(image, Augmentation())
    assert len(views) == Augmentation().views_per_image == 4
    np.testing.assert_array_equal(views[1], image[:, ::-1])
    assert views[2].shape == views[3].shape == (90, 72, 3)
    assert len(enrolment_views(image, NO_AUGMENTATION)) == 1
    with pytest.raises(ValueError):
        Augmentation(crop_scale=0.2)


def test_read_split_errors(tmp_path: Path) -> None:
    split = tmp_path / "s.txt"
    split.write_text("a.jpg, 1, 2\n\n# comment\nb.jpg, 3, 4\n", encoding="utf-8")
    samples = read_split(split, tmp_path)
    assert [(s.path.name, s.fine_id, s.coarse_id) for s in samples] == [
        ("a.jpg", 1, 2),
        ("b.jpg", 3, 4),
    ]
    split.write_text("a.jpg, x, 2\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"s\.txt:1"):
        read_split(split, tmp_path)
    with pytest.raises(DatasetError, match="cannot read"):
        read_split(tmp_path / "none.txt", tmp_path)
