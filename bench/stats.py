"""Small statistics shared by the benchmarks."""

from __future__ import annotations

import math


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank: the smallest value with ``p`` % at or below it)."""
    ordered = sorted(values)
    # round() before ceil: 0.95 * 100 is 95.00000000000001 in floating point.
    rank = math.ceil(round(p / 100 * len(ordered), 9))
    return ordered[max(0, min(len(ordered) - 1, rank - 1))]
