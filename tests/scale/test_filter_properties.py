"""Properties of the weight filter over generated traces (hypothesis)."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scale.filter import ChangeCancelled, WeightChange, WeightFilter
from scale.types import WeightSample
from tests.scale.traces import (
    TraceBuilder,
    error_target_g,
    run_filter,
    settled_weights,
    standing_changes,
)

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(
    seed=st.integers(0, 2**32 - 1),
    noise_g=st.floats(0.05, 1.0),
    drift_g_per_min=st.floats(-2.0, 2.0),
    initial_g=st.floats(0.0, 20_000.0),
    seconds=st.floats(3.0, 30.0),
    spike_rate_hz=st.sampled_from([0.0, 0.3]),
)
def test_noise_alone_never_reports_a_change(
    *,
    seed: int,
    noise_g: float,
    drift_g_per_min: float,
    initial_g: float,
    seconds: float,
    spike_rate_hz: float,
) -> None:
    trace = TraceBuilder(
        seed=seed,
        noise_g=noise_g,
        drift_g_per_min=drift_g_per_min,
        initial_g=initial_g,
        spike_rate_hz=spike_rate_hz,
    ).wait(seconds)
    events = run_filter(trace.build().samples())
    assert not [e for e in events if isinstance(e, WeightChange | ChangeCancelled)]
    assert settled_weights(events)  # and it did settle


ITEMS = st.lists(
    st.tuples(
        st.floats(20.0, 5000.0),  # grams
        st.booleans(),  # take the oldest item out instead, if there is one
        st.floats(0.8, 4.0),  # seconds from the last settle to the hand's next move
    ),
    min_size=1,
    max_size=8,
)


@FAST
@given(
    seed=st.integers(0, 2**32 - 1),
    noise_g=st.floats(0.1, 1.0),
    drift_g_per_min=st.floats(-1.0, 1.0),
    items=ITEMS,
)
def test_changes_add_up_and_match_what_happened(
    seed: int, noise_g: float, drift_g_per_min: float, items: list[tuple[float, bool, float]]
) -> None:
    builder = TraceBuilder(seed=seed, noise_g=noise_g, drift_g_per_min=drift_g_per_min)
    builder.wait(1.5)
    basket: list[float] = []
    last_move, last_in = -math.inf, True
    for grams, take_out, gap in items:
        builder.wait(gap)
        going_in = not (take_out and basket)
        if going_in != last_in:
            # A move the other way soon after the last one, by the same weight, is an
            # in-and-out pair that the filter cancels by design (test_filter.py covers it).
            builder.wait(max(0.0, last_move + 5.0 - builder.cursor))
        last_move, last_in = builder.cursor, going_in
        if going_in:
            basket.append(grams)
            builder.add(grams)
        else:
            builder.remove(basket.pop(0))
    trace = builder.wait(2.0).build()
    events = run_filter(trace.samples())
    got = standing_changes(events)

    # Every item, one change each, each within the weight-error target.
    assert len(got) == len(trace.events)
    for change, truth in zip(got, trace.events, strict=True):
        assert abs(change.delta_g - truth.delta_g) <= error_target_g(truth.delta_g)

    # The changes add up to the difference between the first and the last plateau, give or
    # take plateau refinement (a quarter gram, or the 0.1 % a heavy item may settle within),
    # zero tracking on the empty basket, and the drift.
    total = sum(c.delta_g for c in got)
    weights = settled_weights(events)
    drift = abs(drift_g_per_min) * trace.duration_s / 60.0
    moved = sum(abs(t.delta_g) for t in trace.events)
    tolerance = 1.0 + 0.25 * len(got) + 0.001 * moved + drift
    assert math.isclose(total, weights[-1] - weights[0], abs_tol=tolerance)
    assert math.isclose(total, sum(t.delta_g for t in trace.events), abs_tol=tolerance)


SAMPLE = st.builds(
    WeightSample,
    t=st.one_of(st.floats(-10.0, 1e6), st.sampled_from([math.nan, math.inf])),
    grams=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    stable=st.booleans(),
    status=st.sampled_from(["ok", "motion", "overload", "underload", "error", "unknown", "?"]),
)


@settings(max_examples=60, deadline=None)
@given(samples=st.lists(SAMPLE, max_size=200), sort=st.booleans())
def test_any_input_is_survived_and_numbers_out_are_finite(
    samples: list[WeightSample], sort: bool
) -> None:
    if sort:
        samples = sorted(samples, key=lambda s: s.t if not math.isnan(s.t) else 0.0)
    f = WeightFilter()
    for sample in samples:
        for event in f.feed(sample):
            if isinstance(event, WeightChange):
                assert math.isfinite(event.delta_g)
                assert math.isfinite(event.before_g)
                assert math.isfinite(event.after_g)
    if f.merchandise_g is not None:
        assert math.isfinite(f.merchandise_g)
