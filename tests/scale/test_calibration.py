"""Calibration: counts to grams, corner calibration, captures, persistence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from scale.calibration import (
    DEFAULT_CALIBRATION,
    Calibration,
    CalibrationError,
    CalibrationProcedure,
    CellCalibration,
    CountsCapture,
    cells_to_sample,
    corner_calibration,
    load_calibration,
    save_calibration,
    two_point,
)
from scale.protocols.base import CellFrame
from scale.protocols.cartboard import COUNT_MAX, COUNT_MIN

TRUE = Calibration(
    (
        CellCalibration(8_000.0, 100.0),
        CellCalibration(-12_000.0, 95.0),
        CellCalibration(3_000.0, -105.0),  # a cell wired the other way round
        CellCalibration(0.0, 110.0),
    )
)
# Share of a corner load that each cell takes: mostly its own, some to the neighbours.
SPREAD = np.array(
    [
        [0.85, 0.07, 0.07, 0.01],
        [0.07, 0.85, 0.01, 0.07],
        [0.07, 0.01, 0.85, 0.07],
        [0.01, 0.07, 0.07, 0.85],
    ]
)


def counts_for(loads: np.ndarray) -> list[float]:
    return [c.zero_counts + c.counts_per_gram * g for c, g in zip(TRUE.cells, loads, strict=True)]


def frame(counts: tuple[int | None, ...], ok: bool = True) -> CellFrame:
    return CellFrame(1, counts, ok)


def test_two_point_is_the_one_cell_case_of_the_corner_solve() -> None:
    single = corner_calibration([8_000.0], [[108_000.0]], 1000.0)
    assert single.cells[0] == two_point(8_000.0, 108_000.0, 1000.0)


def test_corner_calibration_recovers_every_cell_despite_cross_loading() -> None:
    reference = 2000.0
    zero = counts_for(np.zeros(4))
    corners = [counts_for(reference * SPREAD[j]) for j in range(4)]
    cal = corner_calibration(zero, corners, reference)
    for got, true in zip(cal.cells, TRUE.cells, strict=True):
        assert got.zero_counts == pytest.approx(true.zero_counts)
        assert got.counts_per_gram == pytest.approx(true.counts_per_gram)
    # An item anywhere weighs the same.
    centre = tuple(round(c) for c in counts_for(np.full(4, 123.4 / 4)))
    assert cal.grams(centre) == pytest.approx(123.4, abs=0.05)


def test_corner_calibration_names_a_corner_that_did_not_load_its_cell() -> None:
    zero = counts_for(np.zeros(4))
    corners = [counts_for(2000.0 * SPREAD[j]) for j in range(4)]
    corners[1], corners[2] = corners[2], corners[1]  # staff swapped two corners
    with pytest.raises(CalibrationError, match="front-right"):
        corner_calibration(zero, corners, 2000.0)


@pytest.mark.parametrize(
    ("zero", "corners", "reference", "words"),
    [
        ([0.0, 0.0], [[1.0, 0.0]], 1.0, "one capture per corner"),
        ([0.0], [[100.0]], 0.0, "positive"),
        ([0.0], [[0.2]], 1.0, "did not load"),
    ],
)
def test_corner_calibration_refuses_bad_input(
    zero: list[float], corners: list[list[float]], reference: float, words: str
) -> None:
    with pytest.raises(CalibrationError, match=words):
        corner_calibration(zero, corners, reference)


def test_procedure_walks_empty_then_each_corner() -> None:
    procedure = CalibrationProcedure(1000.0)
    keys = []
    while (step := procedure.current) is not None:
        keys.append(step.key)
        loads = np.zeros(4) if step.key == "empty" else 1000.0 * SPREAD[len(keys) - 2]
        procedure.record(counts_for(loads))
    assert keys == ["empty", "front-left", "front-right", "rear-left", "rear-right"]
    assert "1000 g" in procedure.steps[1].instruction
    cal = procedure.result()
    assert cal.cells[2].counts_per_gram == pytest.approx(-105.0)
    with pytest.raises(CalibrationError, match="already"):
        procedure.record([0.0] * 4)


def test_procedure_refuses_a_result_before_every_step() -> None:
    procedure = CalibrationProcedure(500.0)
    procedure.record([0.0] * 4)
    with pytest.raises(CalibrationError, match="front-left"):
        procedure.result()


def test_capture_averages_a_still_load() -> None:
    capture = CountsCapture(0.5)
    for i in range(50):
        capture(i * 0.0125, frame((100 + i % 2, 200, 300, 400)))
    assert capture.wait(0.1) == pytest.approx((100.5, 200.0, 300.0, 400.0), abs=0.02)


def test_capture_skips_the_swing_after_the_weight_was_placed() -> None:
    capture = CountsCapture(0.25, skip_s=0.25)
    for i in range(60):
        swinging = i * 0.0125 < 0.25
        capture(i * 0.0125, frame((9_000 if swinging and i % 2 else 100, 200, 300, 400)))
    assert capture.wait(0.1) == pytest.approx((100.0, 200.0, 300.0, 400.0))


def test_capture_refuses_a_moving_load_and_clipped_cells() -> None:
    moving = CountsCapture(0.1)
    for i in range(20):
        moving(i * 0.0125, frame((i * 1000, 0, 0, 0)))
    with pytest.raises(CalibrationError, match="moved"):
        moving.wait(0.1)
    clipped = CountsCapture(0.1)
    for i in range(20):
        clipped(i * 0.0125, frame((COUNT_MAX, 0, 0, 0)))
    with pytest.raises(CalibrationError, match="clipped"):
        clipped.wait(0.1)
    with pytest.raises(CalibrationError, match="connected"):
        CountsCapture(1.0).wait(0.01)


def test_cells_to_sample() -> None:
    cal = DEFAULT_CALIBRATION
    ok = cells_to_sample(cal, frame((8_100, 8_100, 8_100, 8_100)), 1.0)
    assert ok is not None
    assert ok.grams == pytest.approx(4.0)
    assert (ok.stable, ok.status) == (False, "ok")
    assert cells_to_sample(cal, frame((8_000,) * 4, ok=False), 1.0) is None
    over = cells_to_sample(cal, frame((COUNT_MAX, 8_000, 8_000, 8_000)), 1.0)
    under = cells_to_sample(cal, frame((COUNT_MIN, 8_000, 8_000, 8_000)), 1.0)
    missing = cells_to_sample(cal, frame((None, 8_000, 8_000, 8_000)), 1.0)
    wrong = cells_to_sample(cal, frame((8_000, 8_000)), 1.0)
    assert [(s.grams, s.status) for s in (over, under, missing, wrong) if s] == [
        (None, "overload"),
        (None, "underload"),
        (None, "unknown"),
        (None, "error"),
    ]


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "cal.json"
    save_calibration(TRUE, path)
    assert load_calibration(path) == TRUE
    assert not (tmp_path / "cal.json.tmp").exists()


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{", "cannot read"),
        ('{"format": 99}', "format"),
        ('{"format": 1, "cells": []}', "no cells"),
        ('{"format": 1, "cells": [{"zero_counts": 1}]}', r"cells\[0\]"),
        ('{"format": 1, "cells": [{"zero_counts": 1, "counts_per_gram": 0}]}', "unusable"),
    ],
)
def test_load_refuses_bad_files_naming_them(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "cal.json"
    path.write_text(content)
    with pytest.raises(CalibrationError, match=words) as info:
        load_calibration(path)
    assert str(path) in str(info.value)


def test_saved_file_is_plain_json(tmp_path: Path) -> None:
    path = tmp_path / "cal.json"
    save_calibration(DEFAULT_CALIBRATION, path)
    data = json.loads(path.read_text())
    assert data["format"] == 1 and len(data["cells"]) == 4
