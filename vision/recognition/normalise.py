"""Within-class covariance normalisation of a gallery: its own references sharpen its scores.

The recogniser's embedding was trained on photos; a cart's gallery holds crops from its own
cameras, where look-alike products (two cartons of one brand, an onion and an orange) differ in
a few directions of the embedding and vary much more in others (turn, light, how far the item
is in the picture). Whitening by the gallery's *within-label* covariance (WCCN; Hatch et al.
2006) shrinks the directions in which one product's views vary and stretches those in which
products differ, so cosine similarity in the whitened space separates look-alikes better. The
transform is learnt from the references themselves whenever the gallery changes — no training
run, no extra file, always consistent with what is enrolled.

Whitened similarities have another scale, so the softmax temperature for them is fitted on the
gallery too: each label's references are split into ``FOLDS`` contiguous blocks (enrolment adds
a pass's crops together, so a block is roughly one pass), and the temperature minimises the
negative log-likelihood of each block against prototypes and a whitening learnt without it.

Measured on the demo store's generated frames (``docs/recognition.md``): top-1 of an item's
pass 88.7 % → 95.9 %. The open-set check (``unknown_threshold``) stays on the raw cosine
similarity the model's calibration was measured on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vision.recognition.classify import fit_temperature

FloatArray = npt.NDArray[np.float32]

FOLDS = 4
REGULARISATION = 1e-3
"""Share of the mean within-label variance added to every direction (shrinkage), so directions
the references never vary in are not stretched without bound."""
MIN_REFERENCES_PER_DIM = 4
"""References needed per embedding dimension before the covariance is worth estimating; a
smaller gallery is scored as it is."""


@dataclass(frozen=True, slots=True)
class Whitening:
    """``x ↦ normalise((x − mean) @ matrix)``, and the temperature of similarities after it."""

    mean: FloatArray
    matrix: FloatArray
    temperature: float

    def apply(self, vectors: FloatArray) -> FloatArray:
        """Whitened, unit-length rows."""
        out = (np.asarray(vectors, np.float64) - self.mean) @ self.matrix
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.asarray(out / np.maximum(norms, 1e-12), dtype=np.float32)


def _transform(
    embeddings: FloatArray, owner: npt.NDArray[np.int64]
) -> tuple[FloatArray, FloatArray]:
    x = np.asarray(embeddings, np.float64)
    mean = x.mean(axis=0)
    centred = x.copy()
    for c in np.unique(owner):
        rows = owner == c
        centred[rows] -= x[rows].mean(axis=0)
    within = centred.T @ centred / len(x)
    dim = within.shape[0]
    within += REGULARISATION * np.trace(within) / dim * np.eye(dim)
    values, vectors = np.linalg.eigh(within)
    matrix = vectors @ np.diag(values**-0.5) @ vectors.T
    return np.asarray(mean, np.float32), np.asarray(matrix, np.float32)


def prototypes(white: FloatArray, owner: npt.NDArray[np.int64], labels: int) -> FloatArray:
    """Each label's normalised mean of its (whitened) references."""
    sums = np.zeros((labels, white.shape[1]), np.float64)
    np.add.at(sums, owner, white)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return np.asarray(sums / np.maximum(norms, 1e-12), np.float32)


def _folds(owner: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Each reference's fold: its position among its label's references, in ``FOLDS`` blocks."""
    fold = np.zeros(len(owner), np.int64)
    for c in np.unique(owner):
        rows = np.flatnonzero(owner == c)
        fold[rows] = np.arange(len(rows)) * FOLDS // len(rows)
    return fold


def fit_whitening(embeddings: FloatArray, owner: npt.NDArray[np.int64]) -> Whitening | None:
    """The whitening of a gallery (``owner``: each reference's label index), or None when the
    gallery is too small or too thin (fewer than two labels with a reference in every fold)."""
    n, dim = embeddings.shape
    counts = np.bincount(owner)
    if n < MIN_REFERENCES_PER_DIM * dim or int((counts >= FOLDS).sum()) < 2:
        return None
    labels = len(counts)
    fold = _folds(owner)
    scores: list[FloatArray] = []
    targets: list[npt.NDArray[np.int64]] = []
    for f in range(FOLDS):
        train, test = fold != f, fold == f
        # Labels with every reference in this fold have no prototype in it: left out.
        test &= np.isin(owner, np.unique(owner[train]))
        mean, matrix = _transform(embeddings[train], owner[train])
        whitening = Whitening(mean, matrix, 1.0)
        protos = prototypes(whitening.apply(embeddings[train]), owner[train], labels)
        scores.append(whitening.apply(embeddings[test]) @ protos.T)
        targets.append(owner[test])
    temperature = fit_temperature(np.concatenate(scores), np.concatenate(targets))
    mean, matrix = _transform(embeddings, owner)
    return Whitening(mean, matrix, temperature)
