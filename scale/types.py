"""Typed outputs of the scale package. ``scale`` is a leaf: it never imports ``cart_app``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WeightSample:
    """One reading from the scale; ``grams`` is ``None`` when the scale reports no valid value.

    An overloaded, under-zero or timed-out scale never reports 0 g: it reports ``None`` with the
    reason in ``status``.
    """

    t: float
    grams: float | None
    stable: bool
    status: str = "ok"


@dataclass(frozen=True, slots=True)
class WeightChange:
    """A settled change of the basket's weight between two plateaus."""

    delta_g: float
    before_g: float
    after_g: float
    t_start: float
    t_settled: float
