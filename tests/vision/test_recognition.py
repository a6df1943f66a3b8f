"""Recognition with the real shipped model, on product images the tests render themselves.

Five synthetic "products" (a cola can, a milk carton, an orange, a chequered pack, a leaf) are
drawn with OpenCV; each is enrolled from three random views and then recognised on new ones
(other pose, scale, lighting, background, noise). A sixth design that was never enrolled must
come out ``Unknown``. Nothing here asserts on wall time.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision import model_cli
from vision.recognition import (
    DEFAULT_MANIFEST,
    Gallery,
    GalleryError,
    Manifest,
    ProductRecogniser,
    Recogniser,
    RecogniserSettings,
    Unknown,
)
from vision.recognition.preprocess import Image
from vision.types import Candidate

PRODUCTS = ("cola", "milk", "orange", "chess", "leaf")
UNSEEN = "stars"


def _draw(name: str, canvas: Image) -> None:
    h, w = canvas.shape[:2]
    cx, cy = w // 2, h // 2
    if name == "cola":
        cv2.rectangle(canvas, (cx - 45, cy - 90), (cx + 45, cy + 90), (30, 30, 200), -1)
        cv2.rectangle(canvas, (cx - 45, cy - 20), (cx + 45, cy + 20), (245, 245, 245), -1)
        cv2.putText(
            canvas, "COLA", (cx - 38, cy + 10), cv2.FONT_HERSHEY_SIMPLEX, 0.9, (30, 30, 200), 2
        )
    elif name == "milk":
        corners = [(-50, -60), (0, -100), (50, -60), (50, 95), (-50, 95)]
        outline = np.array([[cx + dx, cy + dy] for dx, dy in corners])
        cv2.fillPoly(canvas, [outline], (220, 140, 40))
        for y in range(cy - 40, cy + 90, 22):
            cv2.line(canvas, (cx - 50, y), (cx + 50, y), (255, 255, 255), 6)
    elif name == "orange":
        cv2.circle(canvas, (cx, cy), 70, (0, 140, 255), -1)
        dots = np.random.default_rng(7)
        for _ in range(120):
            angle, radius = dots.uniform(0, 2 * np.pi), dots.uniform(0, 65)
            centre = (int(cx + radius * np.cos(angle)), int(cy + radius * np.sin(angle)))
            cv2.circle(canvas, centre, 2, (0, 100, 230), -1)
        cv2.ellipse(canvas, (cx, cy - 68), (10, 5), 0, 0, 360, (40, 120, 40), -1)
    elif name == "chess":
        for i in range(6):
            for j in range(8):
                colour = (20, 20, 20) if (i + j) % 2 else (235, 235, 235)
                top_left = (cx - 60 + i * 20, cy - 80 + j * 20)
                bottom_right = (cx - 40 + i * 20, cy - 60 + j * 20)
                cv2.rectangle(canvas, top_left, bottom_right, colour, -1)
    elif name == "leaf":
        cv2.ellipse(canvas, (cx, cy), (40, 95), 20, 0, 360, (40, 160, 40), -1)
        cv2.line(canvas, (cx - 30, cy + 85), (cx + 30, cy - 85), (20, 90, 20), 4)
    elif name == UNSEEN:
        for k in range(5):
            centre = (cx - 60 + 30 * k, cy - 60 + 60 * (k % 2))
            cv2.drawMarker(canvas, centre, (200, 0, 200), cv2.MARKER_STAR, 40, 4)
        cv2.putText(
            canvas, "XYZ", (cx - 50, cy + 70), cv2.FONT_HERSHEY_DUPLEX, 1.6, (120, 0, 120), 3
        )
    else:
        raise ValueError(name)


def render(name: str, seed: int, size: int = 260) -> Image:
    """One photo of product ``name``: random pose, scale, light, background and noise."""
    rng = np.random.default_rng(seed)
    grey = int(rng.integers(150, 230))
    image = np.empty((size, size, 3), np.uint8)
    image[:] = (grey, grey + int(rng.integers(-20, 20)), grey + int(rng.integers(-20, 20)))
    _draw(name, image)
    centre = (size / 2 + rng.uniform(-12, 12), size / 2 + rng.uniform(-12, 12))
    warp = cv2.getRotationMatrix2D(centre, rng.uniform(-15, 15), rng.uniform(0.85, 1.1))
    warped = cv2.warpAffine(image, warp, (size, size), borderMode=cv2.BORDER_REPLICATE)
    lit = warped.astype(np.float32) * rng.uniform(0.8, 1.2) + rng.normal(0, 6, warped.shape)
    return np.asarray(np.clip(lit, 0, 255), dtype=np.uint8)


@pytest.fixture(scope="module")
def recogniser() -> Recogniser:
    return Recogniser.load()


@pytest.fixture(scope="module")
def enrolled(recogniser: Recogniser) -> ProductRecogniser:
    gallery = Gallery(recogniser.dim, model_sha256=recogniser.manifest.sha256)
    products = ProductRecogniser(recogniser, gallery)
    for name in PRODUCTS:
        assert products.enroll(name, [render(name, seed) for seed in range(3)]) == 3 * 4
    return products


def test_shipped_model_manifest_verifies() -> None:
    manifest = Manifest.load(DEFAULT_MANIFEST)  # checks the sha256 of the ONNX file
    assert manifest.model_path.stat().st_size <= 15 * 1024 * 1024
    assert manifest.embedding_dim in (256, 1280)  # v1 (trained) or v0
    assert manifest.source.licence == "Apache-2.0"
    assert manifest.calibration is not None
    assert manifest.metrics is not None


def test_embeddings_are_unit_length_and_deterministic(recogniser: Recogniser) -> None:
    crops = [render(name, 11) for name in PRODUCTS]
    first = recogniser.embed(crops)
    assert first.shape == (len(PRODUCTS), recogniser.dim)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(first, recogniser.embed(crops))


def test_batched_embeddings_equal_one_by_one(recogniser: Recogniser) -> None:
    crops = [render(name, 21 + i) for i, name in enumerate(PRODUCTS * 2)]
    crops.append(
        np.asarray(cv2.resize(crops[0], (200, 320)), dtype=np.uint8)
    )  # a non-square crop in the same batch
    one_by_one = Recogniser(recogniser.manifest, RecogniserSettings(batch_size=1))
    in_batches = Recogniser(recogniser.manifest, RecogniserSettings(batch_size=4))
    np.testing.assert_allclose(in_batches.embed(crops), one_by_one.embed(crops), atol=1e-5)


def test_enrolled_products_are_recognised_from_new_views(enrolled: ProductRecogniser) -> None:
    crops, truth = [], []
    for name in PRODUCTS:
        for seed in range(100, 104):
            crops.append(render(name, seed))
            truth.append(name)
    frame = enrolled.recognise(crops, top_k=3)
    assert frame.skipped == 0
    for name, result in zip(truth, frame.results, strict=True):
        assert not isinstance(result, Unknown), f"{name} came out unknown"
        assert result[0].label == name
        assert len(result) == 3
        probabilities = [c.probability for c in result]
        assert probabilities == sorted(probabilities, reverse=True)
        assert 0.0 < sum(probabilities) <= 1.0 + 1e-6


def test_a_product_never_enrolled_is_unknown(enrolled: ProductRecogniser) -> None:
    # The shipped threshold is fitted on grocery photos (95 % of known val photos accepted), not
    # on these renders: with grocery-embed-v1 (threshold 0.55) one view of the unseen design in
    # four scores 0.56 and passes, so the test asks for most views flagged, and for the unseen
    # design to score below every view of an enrolled product (the separation that matters).
    flagged = 0
    worst_unseen = -1.0
    for seed in range(100, 104):
        result = enrolled.recognise([render(UNSEEN, seed)]).results[0]
        if isinstance(result, Unknown):
            flagged += 1
            assert result.best_similarity < enrolled.settings.unknown_threshold
            assert result.nearest and all(isinstance(c, Candidate) for c in result.nearest)
        embedding = enrolled.recogniser.embed([render(UNSEEN, seed)])
        worst_unseen = max(worst_unseen, float(enrolled.gallery.scores(embedding)[1].max()))
    assert flagged >= 3
    known = enrolled.recogniser.embed([render(name, 100) for name in PRODUCTS])
    assert worst_unseen < float(enrolled.gallery.scores(known)[1].max(axis=1).min())


def test_classify_one_embedding(enrolled: ProductRecogniser) -> None:
    embedding = enrolled.recogniser.embed([render("orange", 300)])[0]
    result = enrolled.classify(embedding, top_k=2)
    assert not isinstance(result, Unknown)
    assert [c.label for c in result][:1] == ["orange"]


def _ticking_clock(step: float) -> Callable[[], float]:
    """A clock that advances ``step`` seconds each time it is read."""
    now = [0.0]

    def read() -> float:
        now[0] += step
        return now[0]

    return read


def test_frame_budget_stops_early_but_always_makes_progress(recogniser: Recogniser) -> None:
    crops = [render(name, 40) for name in PRODUCTS]
    # A budget already spent: the first crop is still processed, the rest are skipped.
    spent = recogniser.embed_within(crops, 0.0, clock=_ticking_clock(1.0))
    assert spent.embeddings.shape == (1, recogniser.dim)
    assert spent.skipped == len(crops) - 1
    # A generous budget: everything, and the same embeddings as without a budget.
    ample = recogniser.embed_within(crops, 1e6, clock=_ticking_clock(1e-6))
    assert ample.skipped == 0
    np.testing.assert_allclose(ample.embeddings, recogniser.embed(crops), atol=1e-5)


def test_enrolment_saves_and_reopens(tmp_path: Path, recogniser: Recogniser) -> None:
    path = tmp_path / "catalog" / "gallery.npz"
    products = ProductRecogniser.open(path)
    assert len(products.gallery) == 0
    products.enroll("SKU-1", [render("cola", 1), render("cola", 2)])
    products.enroll("SKU-2", [render("milk", 1)])
    assert products.save() == path
    again = ProductRecogniser.open(path)
    assert again.gallery.labels == ("SKU-1", "SKU-2")
    np.testing.assert_array_equal(
        again.gallery.references("SKU-1"), products.gallery.references("SKU-1")
    )
    assert again.remove("SKU-2") == 4
    # A gallery embeds with one model: another model's checksum is refused.
    with pytest.raises(GalleryError, match="enrol the products again"):
        Gallery.load(path, model_sha256="0" * 64)


def test_config_threshold_overrides_the_model_default(tmp_path: Path) -> None:
    products = ProductRecogniser.open(tmp_path / "g.npz", unknown_threshold=0.5)
    assert products.settings.unknown_threshold == 0.5
    manifest = products.recogniser.manifest
    assert manifest.calibration is not None
    assert products.settings.temperature == manifest.calibration.temperature


# ----------------------------------------------------------------------------- CLI


def _write_dataset(root: Path) -> None:
    """A tiny dataset in the Grocery Store format: 3 products, train and val lists."""
    lines: dict[str, list[str]] = {"train": [], "val": []}
    for class_id, name in enumerate(PRODUCTS[:3]):
        for split, seeds in (("train", range(3)), ("val", range(50, 52))):
            for seed in seeds:
                rel = Path(split) / name / f"{name}_{seed}.png"
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                cv2.imwrite(str(root / rel), render(name, seed))
                lines[split].append(f"{rel}, {class_id}, {class_id}")
    for split, rows in lines.items():
        (root / f"{split}.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (root / "classes.csv").write_text(
        "Class Name (str),Class ID (int),Coarse Class Name (str),Coarse Class ID (int)\n"
        + "".join(f"{name},{i},{name},{i}\n" for i, name in enumerate(PRODUCTS[:3])),
        encoding="utf-8",
    )


def test_cli_enroll_and_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photos = []
    for seed in range(2):
        photos.append(tmp_path / f"leaf_{seed}.png")
        cv2.imwrite(str(photos[-1]), render("leaf", seed))
    gallery = tmp_path / "gallery.npz"
    args = ["enroll", "SKU-LEAF", *map(str, photos), "--gallery", str(gallery)]
    assert model_cli.main(args) == 0
    assert "2 photos, 8 views" in capsys.readouterr().out
    assert Gallery.load(gallery).labels == ("SKU-LEAF",)
    assert model_cli.main(["remove", "SKU-LEAF", "--gallery", str(gallery)]) == 0
    assert model_cli.main(["remove", "SKU-LEAF", "--gallery", str(gallery)]) == 1
    missing = tmp_path / "nope.png"
    assert model_cli.main(["enroll", "X", str(missing), "--gallery", str(gallery)]) == 1
    assert str(missing) in capsys.readouterr().err


def test_cli_eval_prints_accuracy_and_writes_the_confusion_matrix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "data"
    _write_dataset(root)
    out = tmp_path / "eval"
    args = ["eval", "--root", str(root), "--split", str(root / "val.txt"), "--out", str(out)]
    assert model_cli.main([*args, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["images"] == 6
    assert summary["top1"] == 1.0
    assert summary["gallery"] == {"labels": 3, "references": 9}
    assert [c["label"] for c in summary["per_class"]] == sorted(PRODUCTS[:3])
    assert summary["ms_per_image"] > 0
    csv_rows = (out / "confusion.csv").read_text(encoding="utf-8").splitlines()
    assert len(csv_rows) == 4
    png = cv2.imread(str(out / "confusion.png"))
    assert png is not None and png.shape[0] == png.shape[1]
    # Plain text, with a separate gallery split and k-NN scoring.
    gallery_split = ["--gallery-split", str(root / "train.txt"), "--method", "knn", "--k", "2"]
    assert model_cli.main([*args, *gallery_split]) == 0
    text = capsys.readouterr().out
    assert "top-1 100.0%" in text and "per class" in text


def test_cli_info_and_bad_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert model_cli.main(["info"]) == 0
    assert "verified" in capsys.readouterr().out
    assert model_cli.main(["info", "--model", str(tmp_path / "missing.json")]) == 1
    assert "missing.json" in capsys.readouterr().err


def test_enrolment_waits_for_a_classification_in_progress(
    recogniser: Recogniser, tmp_path: Path
) -> None:
    """Staff enrol from the UI's job thread while vision workers classify the same gallery:
    the gallery changes only between classifications, never under one."""
    product = ProductRecogniser(
        recogniser, Gallery(recogniser.dim), gallery_path=tmp_path / "gallery.npz"
    )
    product.enroll("orange", [render("orange", seed) for seed in range(3)])
    done = threading.Event()

    def enrol() -> None:
        product.enroll("leaf", [render("leaf", 100)])
        done.set()

    with product._gallery_lock:  # a worker is classifying
        writer = threading.Thread(target=enrol)
        writer.start()
        # The writer embeds its views (outside the lock), then must wait for the reader.
        assert not done.wait(1.0)
        assert product.gallery.labels == ("orange",)
    writer.join(30)
    assert done.is_set()
    assert set(product.gallery.labels) == {"orange", "leaf"}
