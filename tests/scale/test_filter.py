"""The weight filter on scripted scenes: which changes it reports, and which it must not."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pytest

from scale.filter import (
    ChangeCancelled,
    FilterSettings,
    Settled,
    Unsettled,
    WeightChange,
    WeightFilter,
    ZeroAlert,
)
from scale.types import WeightSample
from tests.scale.traces import (
    Trace,
    TraceBuilder,
    after_gaps,
    alerts,
    deltas,
    error_target_g,
    run_filter,
    settled_weights,
    standing_changes,
)


@dataclass(frozen=True)
class Scene:
    """A scripted trace and the changes the filter must leave standing."""

    name: str
    build: Callable[[], Trace]
    expected: tuple[float, ...]


def _b(
    seed: int,
    *,
    noise_g: float = 0.5,
    initial_g: float = 0.0,
    drift_g_per_min: float = 0.0,
    spike_rate_hz: float = 0.0,
) -> TraceBuilder:
    """A builder that starts with 1.5 s of quiet, so that the filter has a first plateau."""
    builder = TraceBuilder(
        seed=seed,
        noise_g=noise_g,
        initial_g=initial_g,
        drift_g_per_min=drift_g_per_min,
        spike_rate_hz=spike_rate_hz,
    )
    return builder.wait(1.5)


SCENES = [
    Scene("nothing happens", lambda: _b(1).wait(5).build(), ()),
    Scene("single item in", lambda: _b(2).add(250).wait(2).build(), (250,)),
    Scene("item out", lambda: _b(3, initial_g=800).remove(300).wait(2).build(), (-300,)),
    Scene("heavy item", lambda: _b(4).add(4800).wait(2).build(), (4800,)),
    Scene("small item", lambda: _b(5, noise_g=0.3).add(8).wait(2).build(), (8,)),
    Scene(
        "two items, one after the other",
        lambda: _b(6).add(100).wait(1.5).add(200).wait(2).build(),
        (100, 200),
    ),
    Scene(
        "two items at once: one change of both",
        lambda: _b(7).add(100, advance=False).wait(0.08).add(200).wait(2).build(),
        (300,),
    ),
    Scene(
        "spikes on a plateau",
        lambda: (
            _b(8, initial_g=500)
            .wait(1)
            .spike(900)
            .wait(1)
            .spike(-700, samples=2)
            .wait(1)
            .spike(40, samples=2)
            .wait(2)
            .build()
        ),
        (),
    ),
    Scene(
        "the cart pushed", lambda: _b(9, initial_g=1500).push(6, amplitude_g=40).wait(2).build(), ()
    ),
    Scene(
        "a gentle push",
        lambda: _b(10, initial_g=1500, noise_g=0.9).push(6, amplitude_g=10).wait(2).build(),
        (),
    ),
    Scene("a bump", lambda: _b(11, initial_g=700).bump(250).wait(2).build(), ()),
    Scene("a swaying lean", lambda: _b(12).lean(2.5, 500, sway=0.06).wait(2).build(), ()),
    Scene(
        "an item in while the cart is pushed",
        lambda: _b(13).push(4, amplitude_g=30, advance=False).wait(1.5).add(640).wait(5).build(),
        (640,),
    ),
    Scene(
        "in and straight out again: cancelled",
        lambda: _b(14).add(150).wait(0.6).remove(150).wait(2).build(),
        (),
    ),
    Scene(
        "out and straight back in: both stand (put back, or swapped?)",
        lambda: _b(15, initial_g=900).remove(150).wait(0.6).add(150).wait(2).build(),
        (-150, 150),
    ),
    Scene(
        "in, then out much later: both stand",
        lambda: _b(16).add(150).wait(6).remove(150).wait(2).build(),
        (150, -150),
    ),
    Scene(
        "overload and back: nothing changed",
        lambda: _b(17, initial_g=2000).no_weight(2.0).wait(2).build(),
        (),
    ),
    Scene(
        "an item in during an overload: the settled difference",
        lambda: _b(18, initial_g=2000).no_weight(0.5).add(300, advance=False).wait(2).build(),
        (300,),
    ),
]


@pytest.mark.parametrize("scene", SCENES, ids=[s.name for s in SCENES])
def test_scene(scene: Scene) -> None:
    trace = scene.build()
    events = run_filter(trace.samples())
    got = deltas(events)
    assert len(got) == len(scene.expected), got
    for g, want in zip(got, scene.expected, strict=True):
        assert g == pytest.approx(want, abs=error_target_g(want))
    assert not alerts(events)


def test_a_change_carries_its_plateaus_and_times() -> None:
    trace = _b(20, initial_g=300).add(250).wait(2).build()
    (truth,) = trace.events
    (change,) = standing_changes(run_filter(trace.samples()))
    assert change.before_g == pytest.approx(300, abs=1)
    assert change.after_g == pytest.approx(550, abs=1)
    assert change.delta_g == pytest.approx(change.after_g - change.before_g, abs=0.6)
    # t_start is when the weight left the plateau; t_settled when the filter was sure.
    assert truth.t_start <= change.t_start < truth.t_settle
    assert truth.t_settle < change.t_settled < truth.t_settle + 0.6


def test_a_heavy_item_still_ringing_is_one_change_and_the_next_one_is_its_own() -> None:
    builder = _b(26, initial_g=16_000, noise_g=0.9).item(4250, f_n=4.0, zeta=0.5, ramp_s=0.1)
    trace = builder.wait(0.85).remove(475).wait(2).build()
    got = standing_changes(run_filter(trace.samples()))
    assert [round(c.delta_g) for c in got] == pytest.approx([4250, -475], abs=9)
    # The second change starts when the hand moved, not when the first one stopped ringing.
    assert got[1].t_start >= trace.events[1].t_start - 0.05


def test_a_settled_event_follows_each_plateau() -> None:
    trace = _b(21).add(250).wait(2).build()
    events = run_filter(trace.samples())
    weights = settled_weights(events)
    assert weights[0] == pytest.approx(0, abs=1)
    assert weights[-1] == pytest.approx(250, abs=1)
    change = next(i for i, e in enumerate(events) if isinstance(e, WeightChange))
    assert isinstance(events[change + 1], Settled)  # the change first, then its plateau


def test_quick_reversal_is_withdrawn_with_its_reason() -> None:
    trace = _b(22).add(150).wait(0.6).remove(150).wait(2).build()
    events = run_filter(trace.samples())
    (cancel,) = [e for e in events if isinstance(e, ChangeCancelled)]
    (change,) = [e for e in events if isinstance(e, WeightChange)]
    assert cancel.change is change
    assert cancel.reason == "reversed"


def _stream(*segments: tuple[float, Callable[[float], float]]) -> list[WeightSample]:
    """Samples at 80 Hz from ``(seconds, grams_at(t))`` segments, with 0.3 g of noise."""
    rng = np.random.default_rng(7)
    samples: list[WeightSample] = []
    t0 = 0.0
    for seconds, grams_at in segments:
        for i in range(round(seconds * 80)):
            t = t0 + i / 80
            samples.append(WeightSample(t, grams_at(t) + float(rng.normal(0, 0.3)), False))
        t0 += seconds
    return samples


def test_a_lull_in_a_long_shake_undone_at_once_is_withdrawn() -> None:
    shake = lambda t: 1000.0 + 30.0 * math.sin(2 * math.pi * 5 * t)  # noqa: E731
    samples = _stream(
        (2.0, lambda t: 1000.0),
        (3.0, shake),  # a long, disturbed motion...
        (0.8, lambda t: 990.0),  # ...that pauses 10 g low, long enough to settle
        (2.0, shake),  # and shakes on, ending where it began
        (1.0, lambda t: 1000.0),
    )
    events = run_filter(samples)
    (cancel,) = [e for e in events if isinstance(e, ChangeCancelled)]
    assert cancel.reason == "reversed"
    assert cancel.change.delta_g == pytest.approx(-10, abs=1)
    assert deltas(events) == []


def test_a_clean_removal_put_back_at_once_stands() -> None:
    samples = _stream(
        (2.0, lambda t: 1000.0),
        (0.1, lambda t: 1000.0 - 100.0 * (t - 2.0) / 0.1),  # a hand lifts 100 g out
        (0.8, lambda t: 900.0),
        (0.1, lambda t: 900.0 + 100.0 * (t - 2.9) / 0.1),  # and puts it (or another) back
        (1.0, lambda t: 1000.0),
    )
    assert deltas(run_filter(samples)) == pytest.approx([-100, 100], abs=1)


def test_a_still_lean_is_reported_then_withdrawn() -> None:
    # A hand that does not sway settles like an item; only its going away tells.
    trace = _b(23).lean(3.0, 300, sway=0.0).wait(2).build()
    events = run_filter(trace.samples())
    assert deltas(events) == []
    (cancel,) = [e for e in events if isinstance(e, ChangeCancelled)]
    assert cancel.reason == "lean"
    assert cancel.change.delta_g == pytest.approx(300, abs=5)


def test_a_lean_longer_than_lean_max_stands() -> None:
    trace = _b(24).lean(6.0, 300, sway=0.0).wait(2).build()
    assert deltas(run_filter(trace.samples())) == pytest.approx([300, -300], abs=5)


def test_long_motion_reports_unsettled_once_and_loses_nothing() -> None:
    trace = _b(25).push(9, amplitude_g=40, advance=False).wait(2).add(420).wait(9).build()
    events = run_filter(trace.samples())
    unsettled = [e for e in events if isinstance(e, Unsettled)]
    assert len(unsettled) == 1
    assert deltas(events) == pytest.approx([420], abs=2)


# ------------------------------------------------------------------ gaps and reconnects


def test_a_long_overload_raises_an_alert_and_reports_no_change() -> None:
    trace = _b(30, initial_g=2000).no_weight(4.0).wait(2).build()
    events = run_filter(trace.samples())
    assert alerts(events) == ["overload"]
    assert deltas(events) == []


def test_readings_above_capacity_are_overload() -> None:
    trace = _b(31, initial_g=2000).wait(2).build()
    settings = FilterSettings(capacity_g=1000)
    events = run_filter(trace.samples(), settings)
    assert alerts(events) == ["overload"]
    assert not settled_weights(events)


@pytest.mark.parametrize("status", ["underload", "error", "unknown"])
def test_other_long_gaps_alert_with_their_reason(status: str) -> None:
    trace = _b(32).no_weight(3.5, status=status).wait(1).build()
    expected = {"underload": "underload", "error": "error", "unknown": "no_reading"}[status]
    assert alerts(run_filter(trace.samples())) == [expected]


def test_silence_between_samples_is_a_gap() -> None:
    samples = _b(33, initial_g=600).wait(2).build().samples()
    late = [replace(s, t=s.t + 5.0) for s in samples[len(samples) // 2 :]]
    events = run_filter(samples[: len(samples) // 2] + late)
    assert alerts(events) == ["no_reading"]
    assert deltas(events) == []


def test_reconnect_to_a_rezeroed_scale_reports_no_phantom_change() -> None:
    # The scale power-cycled and zeroed itself with 500 g on it: it now reads 0 g.
    trace = _b(34).add(500).wait(2).disconnect(2.0, zero_shift_g=500).wait(2).add(120).wait(2)
    samples = trace.build().samples()
    events = run_filter(samples, at=after_gaps(samples, WeightFilter.on_reconnect))
    assert deltas(events) == pytest.approx([500, 120], abs=1.5)
    assert settled_weights(events)[-1] == pytest.approx(620, abs=1.5)


def test_without_the_reconnect_call_the_settled_difference_is_reported() -> None:
    # Both sides are settled, so a plain gap reports the true settled difference; that is why
    # the scale service calls on_reconnect() when it re-opens the link.
    samples = _b(35).add(500).wait(5).disconnect(2.0, zero_shift_g=500).wait(2).build().samples()
    assert deltas(run_filter(samples)) == pytest.approx([500, -500], abs=1.5)


def test_reset_baseline_sets_the_merchandise_of_the_next_plateau() -> None:
    samples = _b(36, initial_g=900).wait(2).build().samples()
    events = run_filter(samples, at=[(102.0, lambda f: f.reset_baseline(1234.0))])
    assert deltas(events) == []
    assert settled_weights(events)[-1] == pytest.approx(1234.0, abs=0.5)


# ------------------------------------------------------------------ zero, tare, drift


def test_idle_drift_on_an_empty_basket_is_tracked_away() -> None:
    trace = _b(40, drift_g_per_min=3.0).wait(40).build()
    f = WeightFilter()
    events = run_filter(trace.samples(), filt=f)
    assert deltas(events) == []
    assert f.zero_tracked_g == pytest.approx(2.0, abs=0.5)  # 3 g/min for 40 s
    assert f.merchandise_g == pytest.approx(0.0, abs=0.5)


def test_drift_under_goods_is_not_tracked_and_not_reported() -> None:
    trace = _b(41, initial_g=2500, drift_g_per_min=3.0).wait(40).build()
    f = WeightFilter()
    events = run_filter(trace.samples(), filt=f)
    assert deltas(events) == []
    assert f.zero_tracked_g == 0.0


def test_zero_tracking_stops_at_its_total_and_alerts() -> None:
    settings = FilterSettings(zero_tracking_max_total_g=5.0)
    trace = _b(42, drift_g_per_min=12.0).wait(45).build()  # 9 g of drift
    f = WeightFilter(settings)
    events = run_filter(trace.samples(), filt=f)
    assert alerts(events) == ["zero_tracking_limit"]
    assert f.zero_tracked_g == pytest.approx(5.0)


def test_zero_tracking_ignores_an_item_bigger_than_its_band() -> None:
    trace = _b(43).add(5).wait(10).build()
    f = WeightFilter()
    assert deltas(run_filter(trace.samples(), filt=f)) == pytest.approx([5], abs=1)
    assert f.merchandise_g == pytest.approx(5, abs=0.5)


def test_request_zero_takes_the_current_plateau() -> None:
    samples = _b(44, initial_g=45).wait(2).add(100).wait(2).build().samples()
    events = run_filter(samples, at=[(102.5, WeightFilter.request_zero)])
    assert settled_weights(events)[1] == pytest.approx(0.0, abs=1e-9)
    assert deltas(events) == pytest.approx([100], abs=1)


def test_request_zero_refuses_a_loaded_basket() -> None:
    samples = _b(45, initial_g=900).wait(2).build().samples()
    events = run_filter(samples, at=[(102.5, WeightFilter.request_zero)])
    assert alerts(events) == ["zero_out_of_range"]
    assert settled_weights(events)[-1] == pytest.approx(900, abs=1)


def test_a_negative_plateau_raises_one_alert() -> None:
    # Zeroed with a bag in, then the bag came out: the scale can no longer find its zero.
    samples = _b(46, initial_g=100).wait(1).remove(100).wait(2).push(2).wait(2).build().samples()
    events = run_filter(samples, at=[(102.0, WeightFilter.request_zero)])
    assert deltas(events) == pytest.approx([-100], abs=1)
    assert alerts(events) == ["negative"]


def test_bag_tare_while_the_bags_go_in_reports_no_change() -> None:
    builder = _b(47).add(350).wait(2).add(200).wait(2)
    events = run_filter(builder.build().samples(), at=[(101.55, WeightFilter.tare_bags)])
    (change,) = standing_changes(events)
    assert change.delta_g == pytest.approx(200, abs=1)
    assert change.before_g == pytest.approx(0, abs=1)
    assert change.after_g == pytest.approx(200, abs=1)


def test_bag_tare_on_a_settled_plateau_and_clearing_it() -> None:
    samples = _b(48, initial_g=420).wait(3).build().samples()
    f = WeightFilter()
    events = run_filter(samples[:200], filt=f)
    f.tare_bags()
    events = f.feed(samples[200])
    assert settled_weights(events) == pytest.approx([0.0], abs=1e-9)
    assert f.tare_g == pytest.approx(420, abs=1)
    f.set_tare(0)
    assert settled_weights(f.feed(samples[201])) == pytest.approx([420], abs=1)
    with pytest.raises(ValueError, match="negative"):
        f.set_tare(-1)


# ------------------------------------------------------------------ the motion flag


def test_a_scale_with_a_motion_flag_reports_as_usual() -> None:
    trace = TraceBuilder(seed=50, motion_flag=True).wait(1.5).add(300).wait(2).build()
    assert trace.stable.any()
    assert deltas(run_filter(trace.samples())) == pytest.approx([300], abs=1)


def test_the_motion_flag_vetoes_a_plateau() -> None:
    samples = TraceBuilder(seed=51).wait(3).build().samples()
    assert not settled_weights(run_filter(samples, FilterSettings(motion_flag="use")))
    assert settled_weights(run_filter(samples, FilterSettings(motion_flag="auto")))


# ------------------------------------------------------------------ input hygiene


def test_samples_out_of_order_are_dropped() -> None:
    f = WeightFilter()
    f.feed(WeightSample(10.0, 5.0, False))
    assert f.feed(WeightSample(10.0, 5.0, False)) == []
    assert f.feed(WeightSample(9.0, 5.0, False)) == []
    assert f.dropped_samples == 2


def test_a_non_finite_reading_is_not_a_weight() -> None:
    trace = _b(52, initial_g=300).wait(5).build()
    samples = trace.samples()
    bad = [replace(s, grams=float("nan")) for s in samples[100:400]]
    events = run_filter(samples[:100] + bad + samples[400:])
    assert alerts(events) == ["error"]
    assert deltas(events) == []


def test_replaying_a_trace_gives_the_same_events() -> None:
    trace = _b(53, spike_rate_hz=0.5).add(250).push(2).wait(1).lean(2).wait(1).remove(250)
    samples = trace.wait(2).build().samples()
    assert run_filter(samples) == run_filter(samples)


@pytest.mark.parametrize(
    "make",
    [
        lambda: FilterSettings(settle_time_s=0.0),
        lambda: FilterSettings(median_window=4),
        lambda: FilterSettings(departure_samples=0),
        lambda: FilterSettings(max_band_g=1.0),
        lambda: FilterSettings(capacity_g=-5.0),
    ],
)
def test_bad_settings_are_refused(make: Callable[[], FilterSettings]) -> None:
    with pytest.raises(ValueError):
        make()


def test_events_are_frozen() -> None:
    event = ZeroAlert(1.0, "overload")
    with pytest.raises(AttributeError):
        event.t = 2.0  # type: ignore[misc]
