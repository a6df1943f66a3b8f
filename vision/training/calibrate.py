"""Temperature scaling of the class logits on val, and how well calibrated they are.

One scalar ``T`` divides the logits before the softmax (Guo et al. 2017); it is fitted by
minimising the negative log-likelihood on val (the only held-out data: the split is never
re-split) with the same golden-section search the gallery classifier uses. ECE on the very data
``T`` was fitted on flatters it, so :func:`calibrate` also reports a cross-fitted ECE: ``T``
fitted on one half of val, ECE measured on the other, both ways, averaged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vision.recognition.classify import expected_calibration_error, fit_temperature, nll, softmax

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class CalibrationResult:
    """Fitted temperature and the calibration figures before and after it."""

    temperature: float
    nll_before: float
    nll_after: float
    ece_before: float
    ece_after: float
    ece_after_crossfit: float
    photos: int


def calibrate(
    logits: FloatArray, columns: npt.NDArray[np.int64], seed: int = 0
) -> CalibrationResult:
    """Fit ``T`` on (``logits``, ``columns``) and measure ECE/NLL at ``T = 1`` and at ``T``."""
    if len(columns) == 0:
        raise ValueError("calibration needs at least one validation photo")
    temperature = fit_temperature(logits, columns, low=0.05, high=20.0)
    order = np.random.default_rng(seed).permutation(len(columns))
    halves = (order[: len(order) // 2], order[len(order) // 2 :])
    crossfit = []
    for fit_on, measure_on in (halves, halves[::-1]):
        if len(fit_on) and len(measure_on):
            t = fit_temperature(logits[fit_on], columns[fit_on], low=0.05, high=20.0)
            probs = softmax(logits[measure_on], t)
            crossfit.append(expected_calibration_error(probs, columns[measure_on]))
    return CalibrationResult(
        temperature=temperature,
        nll_before=nll(logits, columns, 1.0),
        nll_after=nll(logits, columns, temperature),
        ece_before=expected_calibration_error(softmax(logits, 1.0), columns),
        ece_after=expected_calibration_error(softmax(logits, temperature), columns),
        ece_after_crossfit=float(np.mean(crossfit)) if crossfit else float("nan"),
        photos=len(columns),
    )
