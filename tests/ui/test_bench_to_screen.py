"""The UI benchmark's event-to-screen arithmetic (``bench/ui_bench.py``), without a display."""

from __future__ import annotations

import pytest

from bench.stats import percentile
from bench.ui_frames import to_screen


def test_each_snapshot_counts_until_a_version_at_least_as_new_shows() -> None:
    published = {1: 0.000, 2: 0.010, 3: 0.020, 4: 0.030}
    # 1 and 2 were coalesced and shown together at 50 ms; 3 shown at 60 ms; 4 never shown.
    shown = {2: 0.050, 3: 0.060}
    assert to_screen(published, shown) == pytest.approx([0.050, 0.040, 0.040])


def test_a_version_shown_before_it_was_published_is_not_counted() -> None:
    # A clock mix-up must not give negative or zero latencies.
    assert to_screen({5: 0.100}, {5: 0.090}) == []


@pytest.mark.parametrize(
    ("n", "p", "expected"),
    [
        (100, 95, 95.0),
        (100, 50, 50.0),
        (100, 99, 99.0),
        (100, 100, 100.0),
        (146, 95, 139.0),
        (1, 95, 1.0),
    ],
)
def test_percentile_is_nearest_rank(n: int, p: float, expected: float) -> None:
    values = [float(v) for v in range(n, 0, -1)]
    assert percentile(values, p) == expected
