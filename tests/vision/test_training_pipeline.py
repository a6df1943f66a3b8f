"""``smartcart model train`` end to end on a tiny rendered dataset and a synthetic int8 source.

Nothing here needs ``../shared/data``: the dataset (3 classes × 4 train / 2 val photos of
coloured shapes) and the int8 source model (random weights in the Model Zoo's graph format) are
written into a temporary folder, and the run uses a 64-pixel input, 2 views, 3 epochs.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from vision import model_cli
from vision.recognition.manifest import Manifest
from vision.recognition.recogniser import Recogniser, RecogniserSettings
from vision.training.data import read_image
from vision.training.synthetic import write_int8_mobilenet, write_tiny_dataset

EPOCHS = 3


def _train(base: Path, root: Path, source: Path, name: str = "tiny") -> int:
    return model_cli.main(
        [
            "train",
            "--root", str(root),
            "--source", str(source),
            "--out-dir", str(base / "models"),
            "--work-dir", str(base / "work"),
            "--figures-dir", str(base / "figures"),
            "--name", name,
            "--size", "64",
            "--views", "2",
            "--epochs", str(EPOCHS),
            "--protocol-epochs", "1",
            "--held-out", "1",
            "--batch-size", "4",
            "--embedding-dim", "16",
            "--quantise", "int8",
            "--threads", "1",
        ]
    )  # fmt: skip


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("inputs")
    root = write_tiny_dataset(base / "grocery", classes=3, train_per_class=4, val_per_class=2)
    source = base / "source.onnx"
    write_int8_mobilenet(source, seed=1, classes=10)
    return root, source


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory, inputs: tuple[Path, Path]
) -> tuple[Path, Path, Path]:
    base = tmp_path_factory.mktemp("train")
    root, source = inputs
    assert _train(base, root, source) == 0
    return base / "models", base / "work", root


def test_writes_a_model_the_recogniser_loads(trained: tuple[Path, Path, Path]) -> None:
    models, _, root = trained
    manifest = Manifest.load(models / "tiny.json")  # verifies the sha256
    assert manifest.labels == ("Shape-0", "Shape-1", "Shape-2")
    assert manifest.logits_output == "logits"
    assert manifest.embedding_dim == 16
    assert manifest.input.height == 64
    assert manifest.logits_temperature is not None and manifest.logits_temperature > 0
    assert manifest.calibration is not None
    raw = json.loads((models / "tiny.json").read_text(encoding="utf-8"))
    assert raw["training"]["options"]["epochs"] == EPOCHS
    assert raw["metrics"]["quantised"] is True
    assert raw["bytes"] == (models / "tiny.onnx").stat().st_size
    recogniser = Recogniser.load(models / "tiny.json", RecogniserSettings(batch_size=2))
    photos = [read_image(p) for p in sorted((root / "val").rglob("*.jpg"))]
    prediction = recogniser.predict(photos)
    assert prediction.embeddings.shape == (len(photos), 16)
    np.testing.assert_allclose(np.linalg.norm(prediction.embeddings, axis=1), 1.0, atol=1e-4)
    assert prediction.probabilities is not None
    np.testing.assert_allclose(prediction.probabilities.sum(axis=1), 1.0, atol=1e-4)
    top = prediction.top(2)
    assert len(top) == len(photos) and all(len(t) == 2 for t in top)
    assert top[0][0].label in manifest.labels
    # embed() alone gives the same embeddings as predict().
    np.testing.assert_allclose(recogniser.embed(photos), prediction.embeddings, atol=1e-5)


def test_logs_every_epoch_and_the_loss_goes_down(trained: tuple[Path, Path, Path]) -> None:
    _, work, _ = trained
    with (work / "train-history.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["epoch"]) for r in rows] == list(range(1, EPOCHS + 1))
    losses = [float(r["train_loss"]) for r in rows]
    assert all(np.isfinite(losses))
    assert losses[-1] < losses[0]
    history = json.loads((work / "train-history.json").read_text(encoding="utf-8"))
    assert len(history) == EPOCHS
    assert (work / "protocol-history.csv").is_file()
    report = json.loads((work / "report.json").read_text(encoding="utf-8"))
    protocol = report["metrics"]["protocol"]
    assert protocol["trained_classes"] == 2
    assert 0.0 <= protocol["few_shot_1"]["top1_held_out"] <= 1.0
    assert 0.0 <= protocol["open_set"]["unknown_flagged"] <= 1.0
    assert report["metrics"]["export_parity_max_abs_logits"] < 1e-2


def test_writes_learning_curves_and_confusion_matrix(trained: tuple[Path, Path, Path]) -> None:
    models, work, _ = trained
    figures = models.parent / "figures"
    for path in (
        work / "learning-curves.png",
        work / "confusion.png",
        work / "reliability.png",
        figures / "tiny-learning-curves.png",
        figures / "tiny-confusion.png",
    ):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path


def test_the_same_seed_gives_the_same_features(trained: tuple[Path, Path, Path]) -> None:
    _, work, _ = trained
    cached = sorted((work / "cache").glob("train-features-*.npz"))
    assert len(cached) == 1  # the protocol model reused the main run's features


def test_missing_data_fails_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = model_cli.main(["train", "--root", str(tmp_path / "nowhere")])
    assert code == 1
    assert "dataset split not found" in capsys.readouterr().err


def test_the_same_command_gives_the_same_model(
    tmp_path: Path, inputs: tuple[Path, Path], trained: tuple[Path, Path, Path]
) -> None:
    models, _, _ = trained
    root, source = inputs
    assert _train(tmp_path, root, source) == 0
    first = json.loads((models / "tiny.json").read_text(encoding="utf-8"))
    second = json.loads((tmp_path / "models" / "tiny.json").read_text(encoding="utf-8"))
    # Seeded end to end: same features, same training, same export and quantisation.
    assert second["sha256"] == first["sha256"]

    def losses(manifest: dict[str, Any]) -> list[tuple[float, float]]:
        return [(h["train_loss"], h["val_loss"]) for h in manifest["training"]["history"]]

    assert losses(second) == losses(first)  # (epoch times differ, of course)
