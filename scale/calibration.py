"""Load-cell calibration: raw counts of each cell to grams, two points per cell, persisted.

The cart board reports raw 24-bit counts per load cell; each cell is linear over its range, so
two known loads (empty and a reference weight) fix it: ``grams = (counts - zero) / per_gram``.
The basket's weight is the sum over cells, so an item anywhere on the floor weighs the same.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

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
