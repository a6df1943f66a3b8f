"""The gallery's within-label whitening: look-alikes separated, small galleries left alone."""

from __future__ import annotations

import numpy as np

from vision.recognition.classify import ClassifierSettings, Unknown
from vision.recognition.gallery import Gallery
from vision.recognition.normalise import MIN_REFERENCES_PER_DIM, fit_whitening

DIM = 16


def _lookalikes(rng: np.random.Generator, per_label: int) -> tuple[np.ndarray, list[str]]:
    """Two products that differ a little along axis 0 and vary a lot along axes 1–3 (turn,
    light, how much of the item is in the picture), plus two distinct ones."""
    rows, labels = [], []
    centres = {"milk-a": 0.0, "milk-b": 1.0}
    for label, offset in centres.items():
        base = np.zeros(DIM)
        base[4] = 10.0  # both are cartons: most of the vector is shared
        base[0] = offset
        for _ in range(per_label):
            row = base.copy()
            row[1:4] += rng.normal(0.0, 3.0, 3)  # big nuisance variation
            row[0] += rng.normal(0.0, 0.15)  # the small, consistent difference
            row[5:] += rng.normal(0.0, 0.05, DIM - 5)
            rows.append(row)
            labels.append(label)
    for label, axis in (("apple", 6), ("lime", 7)):
        for _ in range(per_label):
            row = rng.normal(0.0, 0.3, DIM)
            row[axis] += 10.0
            rows.append(row)
            labels.append(label)
    return np.asarray(rows, np.float32), labels


def _gallery(rng: np.random.Generator, per_label: int) -> Gallery:
    gallery = Gallery(DIM)
    rows, labels = _lookalikes(rng, per_label)
    for row, label in zip(rows, labels, strict=True):
        gallery.add(label, row)
    return gallery


def _accuracy(gallery: Gallery, settings: ClassifierSettings, seed: int) -> float:
    rows, labels = _lookalikes(np.random.default_rng(seed), 50)
    hits = 0
    for result, label in zip(gallery.classify_many(rows, settings=settings), labels, strict=True):
        assert not isinstance(result, Unknown)
        hits += result[0].label == label
    return hits / len(labels)


def test_whitening_separates_lookalikes_that_raw_cosine_confuses() -> None:
    gallery = _gallery(np.random.default_rng(1), per_label=40)
    assert gallery.whitening() is not None
    raw = _accuracy(gallery, ClassifierSettings(whiten=False, unknown_threshold=-1.0), 2)
    white = _accuracy(gallery, ClassifierSettings(unknown_threshold=-1.0), 2)
    assert raw < 0.85  # the nuisance variation swamps the difference
    assert white > 0.97


def test_the_fitted_temperature_makes_confident_answers_mostly_right() -> None:
    gallery = _gallery(np.random.default_rng(3), per_label=40)
    rows, labels = _lookalikes(np.random.default_rng(4), 50)
    confident = [
        result[0].label == label
        for result, label in zip(
            gallery.classify_many(rows, settings=ClassifierSettings(unknown_threshold=-1.0)),
            labels,
            strict=True,
        )
        if not isinstance(result, Unknown) and result[0].probability >= 0.9
    ]
    assert len(confident) > 100
    assert sum(confident) / len(confident) > 0.97


def test_a_small_gallery_is_scored_as_it_is() -> None:
    gallery = _gallery(np.random.default_rng(5), per_label=2)
    assert len(gallery) < MIN_REFERENCES_PER_DIM * DIM
    assert gallery.whitening() is None
    rows, _ = _lookalikes(np.random.default_rng(6), 1)
    plain = gallery.classify_many(rows, settings=ClassifierSettings(whiten=False))
    assert gallery.classify_many(rows) == plain


def test_the_open_set_check_stays_on_raw_similarity() -> None:
    gallery = _gallery(np.random.default_rng(7), per_label=40)
    stranger = np.zeros((1, DIM), np.float32)
    stranger[0, 10] = 1.0  # like nothing enrolled
    settings = ClassifierSettings(unknown_threshold=0.5)
    (result,) = gallery.classify_many(stranger, settings=settings)
    assert isinstance(result, Unknown)
    assert result.best_similarity < 0.5


def test_enrolling_again_refits_the_whitening() -> None:
    gallery = _gallery(np.random.default_rng(8), per_label=40)
    before = gallery.whitening()
    gallery.add("lime", np.eye(DIM, dtype=np.float32)[7] * 10)
    after = gallery.whitening()
    assert before is not None and after is not None and before is not after
    owner = np.array([0] * 3 + [1] * 3)
    assert fit_whitening(np.eye(6, DIM, dtype=np.float32), owner) is None  # too few
