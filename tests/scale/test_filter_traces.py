"""The weight filter on saved traces (``tests/scale/traces/*.csv``) with their ground truth.

The traces are synthetic (``python -m tests.scale.traces`` regenerates them), saved so that the
filter is checked against fixed bytes, whatever later happens to the generator.
"""

from __future__ import annotations

import pytest

from scale.filter import ChangeCancelled, Unsettled
from tests.scale.traces import (
    FIXTURES,
    TRACES_DIR,
    alerts,
    error_target_g,
    read_csv,
    run_filter,
    standing_changes,
)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_saved_trace_gives_its_true_events(name: str) -> None:
    samples, truth = read_csv(TRACES_DIR / name)
    events = run_filter(samples)
    got = standing_changes(events)
    assert [round(c.delta_g) for c in got] == pytest.approx(
        [round(t.delta_g) for t in truth], abs=2
    )
    for change, true in zip(got, truth, strict=True):
        assert abs(change.delta_g - true.delta_g) <= error_target_g(true.delta_g)
        # Started when the hand moved; reported after the physical settle, not long after.
        assert true.t_start - 0.1 <= change.t_start <= true.t_settle
        assert true.t_settle <= change.t_settled <= true.t_settle + 0.6
    assert not alerts(events)


def test_the_leaning_trace_has_no_withdrawn_flicker() -> None:
    samples, _ = read_csv(TRACES_DIR / "shop_leaning.csv")
    events = run_filter(samples)
    assert not [e for e in events if isinstance(e, ChangeCancelled)]


def test_the_pushed_trace_reports_the_long_push() -> None:
    samples, _ = read_csv(TRACES_DIR / "shop_pushed.csv")
    assert len([e for e in run_filter(samples) if isinstance(e, Unsettled)]) == 1


def test_fixtures_are_small() -> None:
    total = sum((TRACES_DIR / name).stat().st_size for name in FIXTURES)
    assert total < 200_000
