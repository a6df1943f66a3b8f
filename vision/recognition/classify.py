"""From similarities to calibrated candidates: temperature-scaled softmax and the unknown outcome.

Each gallery label gets one score per query: the cosine similarity to the label's prototype (the
normalised mean of its reference embeddings) or, for ``knn``, the mean of the ``k`` highest
similarities to its references. Probabilities are ``softmax(score / T)`` over all labels. ``T``
is fitted on held-out data by minimising the negative log-likelihood of the true labels
(temperature scaling, Guo et al. 2017): one scalar, so it fixes over- or under-confidence
without changing the ranking.

A query whose best score is below ``unknown_threshold`` is :class:`Unknown`: the item looks like
nothing enrolled, and fusion should ask or rely on the barcode rather than trust a softmax that
always sums to one over the known labels.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vision.recognition.manifest import SCORE_METHODS, Calibration, ScoreMethod
from vision.types import Candidate

FloatArray = npt.NDArray[np.float32]

# Fallbacks when a manifest carries no calibration section (a freshly built model).
DEFAULT_TEMPERATURE = 0.05
DEFAULT_UNKNOWN_THRESHOLD = 0.35
DEFAULT_KNN_K = 3


@dataclass(frozen=True, slots=True)
class ClassifierSettings:
    """How scores become candidates. ``unknown_threshold`` mirrors ``[vision]
    unknown_threshold``; ``knn_k`` is used by the ``knn`` method only; ``whiten`` scores
    prototypes in the gallery's whitened space (``normalise.py``) when it is large enough."""

    method: ScoreMethod = "prototype"
    temperature: float = DEFAULT_TEMPERATURE
    unknown_threshold: float = DEFAULT_UNKNOWN_THRESHOLD
    knn_k: int = DEFAULT_KNN_K
    whiten: bool = True

    def __post_init__(self) -> None:
        if self.method not in SCORE_METHODS:
            raise ValueError(f"method must be one of {SCORE_METHODS}, not {self.method!r}")
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError("temperature must be a positive number")
        if not -1.0 <= self.unknown_threshold <= 1.0:
            raise ValueError("unknown_threshold is a cosine similarity: it must lie in [-1, 1]")
        if self.knn_k < 1:
            raise ValueError("knn_k must be >= 1")

    @classmethod
    def from_calibration(
        cls, calibration: Calibration | None, *, unknown_threshold: float | None = None
    ) -> ClassifierSettings:
        """The model's measured defaults; an explicit ``unknown_threshold`` (the config) wins."""
        if calibration is None:
            base = cls()
        else:
            base = cls(
                method=calibration.method,
                temperature=calibration.temperature,
                unknown_threshold=calibration.unknown_threshold,
                knn_k=calibration.knn_k,
            )
        if unknown_threshold is None:
            return base
        return cls(base.method, base.temperature, unknown_threshold, base.knn_k, base.whiten)


@dataclass(frozen=True, slots=True)
class Unknown:
    """The crop matched nothing enrolled well enough.

    ``best_similarity`` is the best label score; ``nearest`` the top candidates anyway (with
    their softmax probabilities), for logs and for a prompt that offers choices.
    """

    best_similarity: float
    nearest: tuple[Candidate, ...]


Recognition = tuple[Candidate, ...] | Unknown
"""What classifying one crop yields: candidates best first, or :class:`Unknown`."""


def softmax(scores: FloatArray, temperature: float) -> FloatArray:
    """Row-wise ``softmax(scores / temperature)``, computed stably."""
    z = np.asarray(scores, dtype=np.float64) / temperature
    z -= z.max(axis=-1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=-1, keepdims=True)
    return z.astype(np.float32)


def candidates_from_scores(
    scores: FloatArray,
    labels: tuple[str, ...],
    settings: ClassifierSettings,
    top_k: int,
    *,
    similarity: FloatArray | None = None,
) -> Recognition:
    """One query's label scores (aligned with ``labels``) → candidates or :class:`Unknown`.

    ``similarity``: the raw cosine similarities the open-set check is made on, when ``scores``
    are something else (whitened: ``normalise.py``); by default the scores themselves.
    """
    if top_k < 1:
        raise ValueError("top_k must be >= 1")
    if not labels:
        return Unknown(best_similarity=-1.0, nearest=())
    row = np.asarray(scores, dtype=np.float32).reshape(-1)
    probabilities = softmax(row, settings.temperature)
    k = min(top_k, len(labels))
    # argpartition then sort the k: O(C) instead of sorting every label.
    top = np.argpartition(-probabilities, k - 1)[:k] if k < len(labels) else np.arange(k)
    top = top[np.argsort(-probabilities[top], kind="stable")]
    candidates = tuple(Candidate(labels[i], float(probabilities[i])) for i in top)
    raw = row if similarity is None else np.asarray(similarity, dtype=np.float32).reshape(-1)
    best = float(raw[top[0]])
    if best < settings.unknown_threshold:
        return Unknown(best_similarity=best, nearest=candidates)
    return candidates


def nll(scores: FloatArray, targets: npt.NDArray[np.int64], temperature: float) -> float:
    """Mean negative log-likelihood of ``targets`` (column indices) under the softmax."""
    z = np.asarray(scores, dtype=np.float64) / temperature
    z_max = z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z - z_max).sum(axis=1)) + z_max[:, 0]
    picked = z[np.arange(len(targets)), targets]
    return float(np.mean(log_norm - picked))


def fit_temperature(
    scores: FloatArray,
    targets: npt.NDArray[np.int64],
    *,
    low: float = 1e-3,
    high: float = 10.0,
    iterations: int = 80,
) -> float:
    """The temperature minimising :func:`nll` on held-out ``scores`` / ``targets``.

    NLL is unimodal in ``log T`` for a fixed set of scores, so a golden-section search on
    ``log T`` over ``[low, high]`` finds the optimum without an optimiser dependency.
    """
    if len(targets) == 0:
        raise ValueError("need at least one held-out example to fit a temperature")
    a, b = math.log(low), math.log(high)
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    c = b - ratio * (b - a)
    d = a + ratio * (b - a)
    fc = nll(scores, targets, math.exp(c))
    fd = nll(scores, targets, math.exp(d))
    for _ in range(iterations):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = nll(scores, targets, math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = nll(scores, targets, math.exp(d))
    return math.exp((a + b) / 2.0)


def expected_calibration_error(
    probabilities: FloatArray, targets: npt.NDArray[np.int64], bins: int = 15
) -> float:
    """ECE of the top-1 probability: |accuracy − confidence| averaged over equal-width bins."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == targets
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lo, hi in itertools.pairwise(edges):
        in_bin = (confidence > lo) & (confidence <= hi)
        if in_bin.any():
            total += float(in_bin.mean()) * abs(
                float(correct[in_bin].mean()) - float(confidence[in_bin].mean())
            )
    return total
