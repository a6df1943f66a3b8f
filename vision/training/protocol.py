"""Few-shot and open-set figures, measured honestly: with classes the network never trained on.

A model fine-tuned on all 81 classes has seen every product, so enrolling "new" products from
one photo would flatter it. The protocol model is trained by the same recipe on the same cached
features minus ``held_out`` classes (chosen, seeded, among the classes that have val photos);
then, with its embeddings and prototype galleries (normalised mean of the references, as the
cart's :class:`~vision.recognition.gallery.Gallery` does):

* **few-shot**: the trained classes are enrolled from all their train photos, the held-out ones
  from ``shots`` random train photos (``draws`` draws); top-1 among all classes of the val
  photos of the held-out classes (and of all val photos);
* **open set**: the held-out classes are not enrolled at all; the threshold on the best cosine
  similarity that keeps >= 95 % of the known classes' val photos accepted, and the share of the
  held-out classes' val photos it flags unknown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]
KNOWN_ACCEPTED = 0.95


@dataclass(frozen=True, slots=True, eq=False)
class Embedded:
    """Embeddings of the clean train and val crops with their class columns (of ``classes``)."""

    train: FloatArray
    train_columns: IntArray
    val: FloatArray
    val_columns: IntArray
    classes: int


@dataclass(frozen=True, slots=True)
class FewShotResult:
    """Top-1 (mean and std over draws) with held-out classes enrolled from ``shots`` photos."""

    shots: int
    draws: int
    top1_held_out: float
    top1_held_out_std: float
    top1_all_val: float
    held_out_photos: int


@dataclass(frozen=True, slots=True)
class OpenSetResult:
    """Unknown flagging of never-seen, never-enrolled classes at the 95 %-known threshold."""

    threshold: float
    known_accepted: float
    unknown_flagged: float
    known_photos: int
    unknown_photos: int


def choose_held_out(val_columns: IntArray, count: int, seed: int) -> tuple[int, ...]:
    """``count`` columns, drawn among those with val photos (sorted, reproducible)."""
    present = np.unique(val_columns)
    if count >= len(present):
        raise ValueError(f"cannot hold out {count} of {len(present)} classes with val photos")
    picked = np.random.default_rng(seed).choice(present, size=count, replace=False)
    return tuple(sorted(int(c) for c in picked))


def prototypes(embeddings: FloatArray, columns: IntArray, classes: int) -> FloatArray:
    """``[classes, dim]`` normalised class means (zero rows for classes without references)."""
    sums = np.zeros((classes, embeddings.shape[1]), dtype=np.float64)
    np.add.at(sums, columns, embeddings)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return np.asarray(sums / np.maximum(norms, 1e-12), dtype=np.float32)


def few_shot(
    data: Embedded,
    held_out: tuple[int, ...],
    *,
    shots: int,
    draws: int = 10,
    seed: int = 0,
) -> FewShotResult:
    """Few-shot top-1 (see the module doc)."""
    train_emb, train_cols, val_emb, val_cols = (
        data.train,
        data.train_columns,
        data.val,
        data.val_columns,
    )
    classes = data.classes
    rng = np.random.default_rng(seed)
    is_held = np.isin(train_cols, held_out)
    query = np.isin(val_cols, held_out)
    held_top1, all_top1 = [], []
    for _ in range(draws):
        keep = ~is_held
        for column in held_out:
            rows = np.flatnonzero(train_cols == column)
            keep[rng.choice(rows, size=min(shots, len(rows)), replace=False)] = True
        protos = prototypes(train_emb[keep], train_cols[keep], classes)
        predicted = (val_emb @ protos.T).argmax(axis=1)
        held_top1.append(float((predicted[query] == val_cols[query]).mean()))
        all_top1.append(float((predicted == val_cols).mean()))
    return FewShotResult(
        shots=shots,
        draws=draws,
        top1_held_out=float(np.mean(held_top1)),
        top1_held_out_std=float(np.std(held_top1)),
        top1_all_val=float(np.mean(all_top1)),
        held_out_photos=int(query.sum()),
    )


def open_set(data: Embedded, held_out: tuple[int, ...]) -> OpenSetResult:
    """Open-set flagging (see the module doc)."""
    train_emb, train_cols, val_emb, val_cols = (
        data.train,
        data.train_columns,
        data.val,
        data.val_columns,
    )
    classes = data.classes
    enrolled = ~np.isin(train_cols, held_out)
    protos = prototypes(train_emb[enrolled], train_cols[enrolled], classes)
    # Classes not enrolled must not be matched at all: a zero prototype scores 0, so mask them.
    present = np.zeros(classes, dtype=bool)
    present[np.unique(train_cols[enrolled])] = True
    best = np.where(present[None, :], val_emb @ protos.T, -np.inf).max(axis=1)
    unknown = np.isin(val_cols, held_out)
    known_best = best[~unknown]
    # The largest threshold that still accepts >= 95 % of known photos.
    threshold = float(np.quantile(known_best, 1.0 - KNOWN_ACCEPTED, method="lower"))
    return OpenSetResult(
        threshold=threshold,
        known_accepted=float((known_best >= threshold).mean()),
        unknown_flagged=float((best[unknown] < threshold).mean()),
        known_photos=int((~unknown).sum()),
        unknown_photos=int(unknown.sum()),
    )
