"""The weight filter's building blocks, one at a time."""

from __future__ import annotations

import numpy as np
import pytest

from scale.plateau import MedianPrefilter, NoiseEstimator, PlateauAverage, RawSpread, StabilityRun
from scale.types import WeightChange
from scale.withdrawals import RecentChanges
from scale.zero_tracking import ZeroTracker


def test_median_prefilter_removes_a_two_sample_spike_and_centres_time() -> None:
    m = MedianPrefilter(5)
    outputs = [m.push(float(t), g) for t, g in enumerate([10, 10, 900, 900, 10, 10, 10, 10])]
    assert outputs[:4] == [None] * 4
    assert outputs[4:] == [(2.0, 10), (3.0, 10), (4.0, 10), (5.0, 10)]
    m.reset()
    assert m.push(9.0, 1.0) is None


@pytest.mark.parametrize("window", [0, 4])
def test_median_prefilter_needs_an_odd_window(window: int) -> None:
    with pytest.raises(ValueError, match="odd"):
        MedianPrefilter(window)


def test_noise_estimate_ignores_steps_and_spikes() -> None:
    rng = np.random.default_rng(1)
    signal = rng.normal(0.0, 0.7, 80 * 20)
    signal[800:] += 500.0  # an item
    signal[300] += 2000.0  # a spike
    estimator = NoiseEstimator()
    for g in signal.tolist():
        estimator.push(g)
    assert estimator.sigma_g == pytest.approx(0.7, rel=0.15)


def test_noise_estimate_keeps_to_the_quiet_moments() -> None:
    rng = np.random.default_rng(2)
    t = np.arange(80 * 30) / 80.0
    signal = rng.normal(0.0, 0.4, len(t))
    shaking = (t % 10) < 4  # pushed 40 % of the time
    signal[shaking] += 30.0 * np.sin(2 * np.pi * 7.0 * t[shaking])
    estimator = NoiseEstimator()
    for g in signal.tolist():
        estimator.push(g)
    assert estimator.sigma_g == pytest.approx(0.4, rel=0.2)


def test_stability_run_restarts_at_the_new_level() -> None:
    run = StabilityRun(max_span_s=10.0)
    for i in range(10):
        run.push(i * 0.1, 100.0, band_g=2.0)
    assert run.held_s == pytest.approx(0.9)
    run.push(1.0, 150.0, band_g=2.0)
    assert run.held_s == 0.0
    assert run.mean == 150.0
    run.push(1.1, 151.0, band_g=2.0)
    assert run.values() == [(1.0, 150.0), (1.1, 151.0)]
    assert run.std == pytest.approx(0.7071, abs=1e-4)


def test_stability_run_is_bounded_in_time() -> None:
    run = StabilityRun(max_span_s=0.5)
    for i in range(100):
        run.push(i * 0.0125, 5.0, band_g=2.0)
    assert run.held_s <= 0.5
    assert run.first_t == pytest.approx(99 * 0.0125 - 0.5, abs=0.013)


def test_plateau_average_drops_the_last_samples_when_leaving() -> None:
    plateau = PlateauAverage(span_s=2.0, lag=3)
    plateau.start([(0.0, 100.0), (0.1, 100.0)])
    for i, g in enumerate([100.0, 100.0, 100.0, 101.5, 102.0, 102.0]):
        plateau.push(0.2 + i * 0.1, g)
    # The last three (the start of a change) are still pending and never counted.
    assert plateau.level == pytest.approx(100.0)
    plateau.drop_pending()
    plateau.push(1.0, 100.0)
    assert plateau.level == pytest.approx(100.0)


def test_plateau_average_follows_slow_drift() -> None:
    plateau = PlateauAverage(span_s=1.0, lag=0)
    plateau.start([(0.0, 0.0)])
    for i in range(1, 1000):
        plateau.push(i * 0.01, i * 0.01)  # 1 g/s
    assert plateau.level == pytest.approx(9.99 - 0.5, abs=0.02)


def test_raw_spread_sees_shaking_and_not_a_spike() -> None:
    spread = RawSpread(span_s=1.0)
    for i in range(40):
        spread.push(i * 0.0125, 10.0 + (900.0 if i == 20 else 0.0))
    assert spread.since(0.0) == 0.0
    for i in range(40, 80):
        spread.push(i * 0.0125, 10.0 + 5.0 * (-1) ** i)
    assert spread.since(0.5) >= 1.4826 * 5.0  # a 5 g rattle reads as at least 5 g of spread
    spread.reset()
    assert spread.since(0.0) == 0.0


def test_zero_tracking_is_rate_limited() -> None:
    zero = ZeroTracker(band_g=1.0, rate_g_per_s=0.5, max_total_g=20.0)
    zero.track(0.0, 0.8)
    zero.track(1.0, 0.8)
    assert zero.offset_g == pytest.approx(0.5)
    zero.track(2.0, 0.8)
    assert zero.offset_g == pytest.approx(0.8)
    assert zero.net(0.8) == pytest.approx(0.0)


def test_zero_tracking_only_near_zero() -> None:
    zero = ZeroTracker(band_g=1.0, rate_g_per_s=0.5, max_total_g=20.0)
    zero.track(0.0, 1.5)
    zero.track(10.0, 1.5)
    assert zero.offset_g == 0.0


def test_zero_tracking_stops_at_its_total_and_says_so_once() -> None:
    zero = ZeroTracker(band_g=1.0, rate_g_per_s=10.0, max_total_g=2.0)
    level, reports = 0.0, []
    for i in range(60):
        level += 0.1
        reports.append(zero.track(float(i), level))
    assert zero.tracked_g == pytest.approx(2.0)
    assert reports.count(True) == 1
    zero.zero_at(level)
    assert zero.tracked_g == 0.0
    assert zero.net(level) == 0.0


def test_pausing_zero_tracking_restarts_its_clock() -> None:
    zero = ZeroTracker(band_g=1.0, rate_g_per_s=0.5, max_total_g=20.0)
    zero.track(0.0, 0.8)
    zero.pause()
    zero.track(100.0, 0.8)  # no credit for the time away from the plateau
    assert zero.offset_g == 0.0


def test_rebase_and_tare() -> None:
    zero = ZeroTracker(band_g=1.0, rate_g_per_s=0.5, max_total_g=20.0)
    zero.set_tare(300.0)
    zero.rebase(gross_g=0.0, merchandise_g=500.0)
    assert zero.net(0.0) == pytest.approx(500.0)
    assert zero.tracked_g == 0.0
    with pytest.raises(ValueError):
        zero.set_tare(-1.0)


def test_recent_changes_withdraw_an_increase_undone_at_once() -> None:
    recent = RecentChanges(dwell_cancel_s=1.5, lean_max_s=4.0)
    up = WeightChange(100.0, 0.0, 100.0, t_start=10.0, t_settled=10.5)
    recent.add(up, from_g=0.0, busy=False)
    assert recent.withdraw(11.0, level=0.5, going_down=True, band_g=2.0) == ([up], "reversed")
    assert recent.withdraw(11.0, level=0.5, going_down=True, band_g=2.0) is None  # forgotten


def test_recent_changes_keep_a_clean_decrease_put_back() -> None:
    recent = RecentChanges(dwell_cancel_s=1.5, lean_max_s=4.0)
    down = WeightChange(-100.0, 100.0, 0.0, t_start=10.0, t_settled=10.5)
    recent.add(down, from_g=100.0, busy=False)
    assert recent.withdraw(11.0, level=100.0, going_down=False, band_g=2.0) is None
    recent.clear()
    recent.add(down, from_g=100.0, busy=True)  # a lull in a push, this time
    assert recent.withdraw(11.0, level=100.0, going_down=False, band_g=2.0) == (
        [down],
        "reversed",
    )


def test_recent_changes_withdraw_a_swaying_lean_whole() -> None:
    recent = RecentChanges(dwell_cancel_s=1.5, lean_max_s=4.0)
    lean = WeightChange(300.0, 0.0, 300.0, t_start=10.0, t_settled=10.6)
    sway = WeightChange(-6.0, 300.0, 294.0, t_start=11.0, t_settled=11.5)
    recent.add(lean, from_g=0.0, busy=False)
    recent.add(sway, from_g=300.0, busy=False)
    assert recent.withdraw(13.5, level=0.4, going_down=True, band_g=2.0) == ([lean, sway], "lean")
    recent.add(lean, from_g=0.0, busy=False)
    assert recent.withdraw(14.5, level=0.4, going_down=True, band_g=2.0) is None  # too late
