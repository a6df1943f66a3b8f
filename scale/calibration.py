"""Load-cell calibration: raw counts of each cell to grams, two points per cell, persisted.

The cart board reports raw 24-bit counts per load cell; each cell is linear over its range, so
two known loads (empty and a reference weight) fix it: ``grams = (counts - zero) / per_gram``.
The basket's weight is the sum over cells, so an item anywhere on the floor weighs the same.

The maintenance procedure (:class:`CalibrationProcedure`, docs/scale-service.md) captures the
counts empty and with one reference weight on each corner in turn, and solves for every cell's
gain at once (:func:`corner_calibration`), because a weight on one corner always loads its
neighbours a little too.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scale.protocols.base import CellFrame
from scale.protocols.cartboard import COUNT_MAX, COUNT_MIN
from scale.types import WeightSample

CALIBRATION_FORMAT = 1


class CalibrationError(ValueError):
    """A calibration that cannot be computed, read or trusted."""


@dataclass(frozen=True, slots=True)
class CellCalibration:
    """One load cell: counts at zero load and counts per gram (sign follows the wiring)."""

    zero_counts: float
    counts_per_gram: float

    def grams(self, counts: int) -> float:
        """The load on this cell in grams."""
        return (counts - self.zero_counts) / self.counts_per_gram


@dataclass(frozen=True, slots=True)
class Calibration:
    """All cells of a basket, in the board's wiring order."""

    cells: tuple[CellCalibration, ...]

    def grams(self, counts: tuple[int | None, ...]) -> float | None:
        """Total grams, or ``None`` when a cell was not read (never a partial sum)."""
        if len(counts) != len(self.cells):
            return None
        total = 0.0
        for cell, value in zip(self.cells, counts, strict=True):
            if value is None:
                return None
            total += cell.grams(value)
        return total


def two_point(zero_counts: float, loaded_counts: float, reference_g: float) -> CellCalibration:
    """Calibrate one cell from its counts empty and under ``reference_g`` grams."""
    if not (math.isfinite(zero_counts) and math.isfinite(loaded_counts)) or reference_g <= 0:
        raise CalibrationError("calibration needs finite counts and a positive reference weight")
    per_gram = (loaded_counts - zero_counts) / reference_g
    if abs(per_gram) < 1e-6:
        raise CalibrationError(
            "the cell's counts did not change under the reference weight: cell unplugged?"
        )
    return CellCalibration(zero_counts, per_gram)


# The simulator's cells: a 24-bit HX711 at gain 128 on a 20 kg cell gives about 100 counts/g.
DEFAULT_CELL = CellCalibration(zero_counts=8_000.0, counts_per_gram=100.0)
DEFAULT_CALIBRATION = Calibration((DEFAULT_CELL,) * 4)


def save_calibration(calibration: Calibration, path: Path) -> None:
    """Write ``calibration`` atomically (a power cut leaves the old file or the new one)."""
    data = {
        "format": CALIBRATION_FORMAT,
        "cells": [
            {"zero_counts": c.zero_counts, "counts_per_gram": c.counts_per_gram}
            for c in calibration.cells
        ],
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_calibration(path: Path) -> Calibration:
    """Read a calibration file; :class:`CalibrationError` names the file and the problem."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CalibrationError(f"{path}: cannot read calibration: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != CALIBRATION_FORMAT:
        raise CalibrationError(f"{path}: not a calibration file of format {CALIBRATION_FORMAT}")
    cells = data.get("cells")
    if not isinstance(cells, list) or not cells:
        raise CalibrationError(f"{path}: no cells")
    parsed = []
    for index, cell in enumerate(cells):
        try:
            zero = float(cell["zero_counts"])
            per_gram = float(cell["counts_per_gram"])
        except (TypeError, KeyError, ValueError) as exc:
            raise CalibrationError(f"{path}: cells[{index}]: {exc!r}") from exc
        if not (math.isfinite(zero) and math.isfinite(per_gram)) or abs(per_gram) < 1e-6:
            raise CalibrationError(f"{path}: cells[{index}]: unusable values")
        parsed.append(CellCalibration(zero, per_gram))
    return Calibration(tuple(parsed))


# ---------------------------------------------------------------------------- live conversion


def cells_to_sample(calibration: Calibration, frame: CellFrame, t: float) -> WeightSample | None:
    """The basket's weight from one board frame; ``None`` for a frame with a bad checksum.

    A clipped ADC (the 24-bit limits) means that cell is beyond its range: the sample is an
    overload (or underload, by the direction the clip lies from the cell's zero), never a
    number. A cell the board did not read makes the sample ``unknown``. The board has no
    stability flag, so ``stable`` is always false and the filter finds plateaus itself.
    """
    if not frame.checksum_ok:
        return None
    if len(frame.counts) != len(calibration.cells):
        return WeightSample(t, None, False, "error")
    for cell, counts in zip(calibration.cells, frame.counts, strict=True):
        if counts in (COUNT_MIN, COUNT_MAX):
            over = cell.grams(counts) > 0
            return WeightSample(t, None, False, "overload" if over else "underload")
    grams = calibration.grams(frame.counts)
    if grams is None:
        return WeightSample(t, None, False, "unknown")
    return WeightSample(t, grams, False, "ok")


# ---------------------------------------------------------------------------- maintenance


CORNERS = ("front-left", "front-right", "rear-left", "rear-right")  # the board's wiring order
# During a capture the load must be still: a spread above this (in counts, about 0.5 g on the
# default cells) means someone touched the basket, and the step is refused.
DEFAULT_MAX_SPREAD_COUNTS = 50.0


class CountsCapture:
    """Collects the board's per-cell counts for ``seconds``; plug it into the service as a tap.

    Called on the scale thread with every good frame; :meth:`wait` returns the mean counts of
    each cell once ``seconds`` of frames were seen, after skipping the first ``skip_s``.
    Clipped or unread cells spoil a capture: the calibration must never average a limit in.
    """

    def __init__(
        self,
        seconds: float,
        *,
        skip_s: float = 0.0,
        max_spread_counts: float = DEFAULT_MAX_SPREAD_COUNTS,
    ) -> None:
        if seconds <= 0 or skip_s < 0:
            raise ValueError("a capture needs a positive duration")
        self.seconds = seconds
        self.skip_s = skip_s
        self.max_spread_counts = max_spread_counts
        self._rows: list[tuple[int, ...]] = []
        self._t0: float | None = None
        self._problem: str | None = None
        self._done = threading.Event()

    def __call__(self, t: float, frame: CellFrame) -> None:
        """Take one frame (ignored once the capture is complete)."""
        if self._done.is_set():
            return
        if self._t0 is None:
            self._t0 = t
        if t - self._t0 < self.skip_s:
            return  # the basket still swings from the hand that just let go of the weight
        if any(c is None or c in (COUNT_MIN, COUNT_MAX) for c in frame.counts):
            self._problem = "a cell was clipped or not read during the capture"
        else:
            self._rows.append(tuple(c for c in frame.counts if c is not None))
        if t - self._t0 >= self.skip_s + self.seconds:
            self._done.set()

    def wait(self, timeout: float) -> tuple[float, ...]:
        """Mean counts per cell; :class:`CalibrationError` if it failed or ran out of time."""
        if not self._done.wait(timeout):
            raise CalibrationError(
                f"no complete capture within {timeout:.0f} s: is the scale connected?"
            )
        if self._problem is not None:
            raise CalibrationError(self._problem)
        if len(self._rows) < 2:
            raise CalibrationError("too few samples captured")
        data = np.asarray(self._rows, dtype=float)
        spread = float(np.max(np.std(data, axis=0)))
        if spread > self.max_spread_counts:
            raise CalibrationError(
                f"the load moved during the capture (spread {spread:.0f} counts): "
                "keep hands off the basket and repeat the step"
            )
        return tuple(float(v) for v in data.mean(axis=0))


def corner_calibration(
    zero: Sequence[float], corners: Sequence[Sequence[float]], reference_g: float
) -> Calibration:
    """Calibrate every cell from the empty counts and one capture per corner under ``reference_g``.

    ``corners[j][i]`` is cell ``i``'s mean counts with the reference on corner ``j``. A weight on
    a corner loads mostly that corner's cell and the others a little, so the gains ``g`` (grams
    per count) are the solution of ``D g = reference_g`` over the corners, with
    ``D[j][i] = corners[j][i] - zero[i]``. With one cell this is :func:`two_point`.
    """
    n = len(zero)
    if n == 0 or len(corners) != n or any(len(row) != n for row in corners):
        raise CalibrationError(f"need one capture per corner, each with {n} cells")
    if reference_g <= 0 or not math.isfinite(reference_g):
        raise CalibrationError("the reference weight must be positive")
    delta = np.asarray(corners, dtype=float) - np.asarray(zero, dtype=float)
    if not np.all(np.isfinite(delta)):
        raise CalibrationError("calibration needs finite counts")
    for j in range(n):
        own = abs(delta[j][j])
        others = [abs(delta[j][i]) for i in range(n) if i != j]
        if own < 1.0 or (others and own <= max(others)):
            name = CORNERS[j] if n == len(CORNERS) else f"corner {j + 1}"
            raise CalibrationError(
                f"the reference on {name} did not load its own cell most: "
                "wrong corner, cells wired in another order, or the cell is unplugged"
            )
    try:
        gains = np.linalg.solve(delta, np.full(n, reference_g))
    except np.linalg.LinAlgError as exc:
        raise CalibrationError(f"the corner captures do not determine the cells: {exc}") from exc
    cells = []
    for i, gain in enumerate(gains):
        if not math.isfinite(gain) or abs(gain) < 1e-9:
            raise CalibrationError(f"cell {i + 1}: no usable gain (unplugged?)")
        cells.append(CellCalibration(float(zero[i]), float(1.0 / gain)))
    return Calibration(tuple(cells))


@dataclass(frozen=True, slots=True)
class CalibrationStep:
    """One step of the procedure: what staff must do before the capture."""

    key: str
    instruction: str


class CalibrationProcedure:
    """The maintenance calibration, step by step: empty, then the reference on each corner.

    The maintenance screen (or ``smartcart scale calibrate``) shows :attr:`current`'s
    instruction, captures the counts when staff confirm, and passes them to :meth:`record`;
    :meth:`result` solves once every step is done.
    """

    def __init__(self, reference_g: float, cells: int = len(CORNERS)) -> None:
        if reference_g <= 0:
            raise ValueError("the reference weight must be positive")
        self.reference_g = reference_g
        names = CORNERS if cells == len(CORNERS) else tuple(f"corner {i + 1}" for i in range(cells))
        self.steps: tuple[CalibrationStep, ...] = (
            CalibrationStep("empty", "Empty the basket, keep hands off it."),
            *(
                CalibrationStep(
                    name, f"Put the {reference_g:g} g reference weight on the {name} corner."
                )
                for name in names
            ),
        )
        self._captured: list[tuple[float, ...]] = []

    @property
    def current(self) -> CalibrationStep | None:
        """The step to do next, or ``None`` when all are done."""
        return self.steps[len(self._captured)] if len(self._captured) < len(self.steps) else None

    def record(self, counts: Sequence[float]) -> None:
        """Store the mean counts captured for :attr:`current`."""
        if self.current is None:
            raise CalibrationError("every step is already recorded")
        if len(counts) != len(self.steps) - 1:
            raise CalibrationError(f"expected {len(self.steps) - 1} cells, got {len(counts)}")
        self._captured.append(tuple(counts))

    def result(self) -> Calibration:
        """The calibration from the recorded steps."""
        if self.current is not None:
            raise CalibrationError(f"step {self.current.key!r} is not recorded yet")
        zero, *corners = self._captured
        return corner_calibration(zero, corners, self.reference_g)
