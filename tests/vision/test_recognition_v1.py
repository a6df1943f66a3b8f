"""The shipped trained model (grocery-embed-v1) in the runtime, next to v0, which must keep working.

v1 has two outputs: the embedding the gallery uses and class logits for its 81 trained classes,
calibrated by the manifest's temperature. Rendered images check the mechanics everywhere; real
val photos (``../shared/data``) check that the shipped model is the trained one.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.recognition import (
    DEFAULT_MANIFEST,
    Gallery,
    Manifest,
    ModelError,
    Recogniser,
    RecogniserSettings,
)
from vision.recognition.dataset import grocery_root, label_of, read_class_names, read_split
from vision.recognition.evaluate import load_image

REPO = Path(__file__).resolve().parents[2]
V0 = REPO / "models" / "grocery-embed-v0.json"
V1 = REPO / "models" / "grocery-embed-v1.json"


def _crops(count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    crops = []
    for i in range(count):
        image = np.full((260, 200, 3), rng.integers(40, 220, 3), dtype=np.uint8)
        cv2.circle(
            image, (100, 130), 60 + 5 * i, tuple(int(c) for c in rng.integers(0, 255, 3)), -1
        )
        crops.append(image)
    return crops


@pytest.fixture(scope="module")
def v1() -> Recogniser:
    return Recogniser.load(V1, RecogniserSettings(batch_size=4))


def test_v1_is_the_default_and_its_manifest_verifies() -> None:
    assert DEFAULT_MANIFEST == V1
    manifest = Manifest.load(V1)  # sha256 checked
    assert manifest.model_path.stat().st_size <= 15 * 1024 * 1024
    assert manifest.logits_output == "logits"
    assert len(manifest.labels) == 81 and len(set(manifest.labels)) == 81
    assert manifest.logits_temperature is not None and manifest.logits_temperature > 0
    assert manifest.calibration is not None and manifest.metrics is not None
    raw = json.loads(V1.read_text(encoding="utf-8"))
    assert raw["fine_ids"] == list(range(81))
    assert raw["training"]["command"].startswith("smartcart model train")
    for key in ("val_top1", "val_top5", "ece_before_temperature", "ece_after_temperature"):
        assert 0.0 <= raw["metrics"][key] <= 1.0


def test_v1_predicts_embeddings_and_calibrated_probabilities(v1: Recogniser) -> None:
    crops = _crops(5)
    prediction = v1.predict(crops)
    assert prediction.embeddings.shape == (5, v1.dim)
    np.testing.assert_allclose(np.linalg.norm(prediction.embeddings, axis=1), 1.0, atol=1e-4)
    assert prediction.probabilities is not None
    assert prediction.probabilities.shape == (5, 81)
    np.testing.assert_allclose(prediction.probabilities.sum(axis=1), 1.0, atol=1e-4)
    assert prediction.labels == v1.manifest.labels
    top = prediction.top(3)
    assert all(len(t) == 3 for t in top)
    assert all(t[0].probability >= t[1].probability >= t[2].probability for t in top)
    # Batching does not change results, and embed() agrees with predict().
    one = Recogniser(v1.manifest, RecogniserSettings(batch_size=1)).predict(crops)
    assert one.probabilities is not None
    np.testing.assert_allclose(one.probabilities, prediction.probabilities, atol=1e-4)
    np.testing.assert_allclose(v1.embed(crops), prediction.embeddings, atol=1e-5)
    assert v1.predict([]).embeddings.shape == (0, v1.dim)


def test_v0_still_loads_without_logits() -> None:
    v0 = Recogniser.load(V0)
    assert v0.dim == 1280 and not v0.has_logits
    prediction = v0.predict(_crops(2))
    assert prediction.probabilities is None and prediction.top() == ((), ())
    assert prediction.embeddings.shape == (2, 1280)


def test_galleries_are_tied_to_their_model(tmp_path: Path, v1: Recogniser) -> None:
    gallery = Gallery(1280, model_sha256=Manifest.load(V0).sha256)
    gallery.add("x", np.eye(1, 1280, dtype=np.float32))
    gallery.save(tmp_path / "g.npz")
    with pytest.raises(Exception, match=r"model|sha"):
        Gallery.load(tmp_path / "g.npz", model_sha256=v1.manifest.sha256)


def test_logits_that_do_not_match_the_labels_are_refused(tmp_path: Path) -> None:
    raw = json.loads(V1.read_text(encoding="utf-8"))
    raw["labels"] = raw["labels"][:-1]
    (tmp_path / raw["file"]).write_bytes((V1.parent / raw["file"]).read_bytes())
    path = tmp_path / V1.name
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(ModelError, match="80 labels"):
        Recogniser.load(path)


def test_runtime_never_imports_torch() -> None:
    code = (
        "import sys, vision.recognition, vision.model_cli, cart_app.cli\n"
        "from vision.recognition import Recogniser\n"
        "Recogniser.load()\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


@pytest.mark.shared_data
def test_v1_classifies_real_val_photos() -> None:
    root = grocery_root()
    if not (root / "val.txt").is_file():
        pytest.skip(f"Grocery Store Dataset not found at {root}; real-photo check skipped")
    names = read_class_names(root)
    samples = read_split(root / "val.txt", root)[::6]  # 50 photos across the classes
    recogniser = Recogniser.load(V1, RecogniserSettings(intra_op_threads=2, batch_size=16))
    prediction = recogniser.predict([load_image(s.path) for s in samples])
    best = [t[0].label for t in prediction.top(1)]
    top5 = [[c.label for c in t] for t in prediction.top(5)]
    truth = [label_of(s.fine_id, names) for s in samples]
    top1 = np.mean([b == t for b, t in zip(best, truth, strict=True)])
    in_top5 = np.mean([t in c for c, t in zip(top5, truth, strict=True)])
    # The shipped model scores about 80 % / 97 % on all of val; leave room for the sample.
    assert top1 >= 0.7 and in_top5 >= 0.9, (top1, in_top5)
