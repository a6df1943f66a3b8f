"""Settings and events of the weight filter (:mod:`scale.filter`), as frozen values.

Kept apart from the filter's logic so that consumers (the scale service, the CLI, fusion) can
import the types without the machinery; :mod:`scale.filter` re-exports all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from scale.types import WeightChange

MotionFlagUse = Literal["auto", "use", "ignore"]
ZeroAlertReason = Literal[
    "overload",
    "underload",
    "error",
    "no_reading",
    "zero_tracking_limit",
    "negative",
    "zero_out_of_range",
]
CancelReason = Literal["reversed", "lean"]


@dataclass(frozen=True, slots=True)
class FilterSettings:
    """Every tolerance and time of the filter; see ``docs/scale-filter.md`` for each one.

    The first five mirror ``[scale]`` in the configuration under the same names.
    """

    settle_time_s: float = 0.4
    stable_tolerance_g: float = 2.0
    min_change_g: float = 3.0
    zero_tracking_band_g: float = 1.0
    capacity_g: float = 30_000.0
    stable_tolerance_rel: float = 0.001
    quick_change_s: float = 1.0
    busy_settle_time_s: float = 0.5
    median_window: int = 5
    noise_band_k: float = 4.0
    noise_rms_k: float = 3.5
    raw_spread_k: float = 2.0
    rms_floor_g: float = 0.5
    max_band_g: float = 10.0
    departure_samples: int = 2
    plateau_average_s: float = 2.0
    dwell_cancel_s: float = 1.5
    lean_max_s: float = 4.0
    zero_tracking_rate_g_per_s: float = 0.5
    zero_tracking_max_total_g: float = 20.0
    zero_range_g: float = 600.0
    negative_alert_g: float = 10.0
    unknown_alert_s: float = 3.0
    max_sample_interval_s: float = 0.5
    motion_flag: MotionFlagUse = "auto"

    def __post_init__(self) -> None:
        positive = {
            "settle_time_s": self.settle_time_s,
            "stable_tolerance_g": self.stable_tolerance_g,
            "capacity_g": self.capacity_g,
            "plateau_average_s": self.plateau_average_s,
            "max_sample_interval_s": self.max_sample_interval_s,
        }
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"{name} must be positive, not {value}")
        if self.max_band_g < self.stable_tolerance_g:
            raise ValueError("max_band_g must be at least stable_tolerance_g")
        if self.departure_samples < 1:
            raise ValueError("departure_samples must be at least 1")
        if self.median_window < 1 or self.median_window % 2 == 0:
            raise ValueError("median_window must be a positive odd number")


@dataclass(frozen=True, slots=True)
class Settled:
    """The weight settled on a plateau; ``grams`` is the merchandise on it (tare excluded)."""

    t: float
    grams: float


@dataclass(frozen=True, slots=True)
class Unsettled:
    """The weight has not settled for ``lean_max_s`` since ``since`` (a lean, a long push).

    Changes are not lost: the next plateau is compared with the one before ``since``.
    """

    t: float
    since: float


@dataclass(frozen=True, slots=True)
class ChangeCancelled:
    """The weight went back to where it was before ``change``: treat the pair as nothing.

    ``reason`` is ``"reversed"`` (undone within ``dwell_cancel_s``) or ``"lean"`` (an increase
    gone again within ``lean_max_s`` of its start: the signature of a still hand on the handle).
    """

    t: float
    change: WeightChange
    reason: CancelReason


@dataclass(frozen=True, slots=True)
class ZeroAlert:
    """A maintenance alert: the scale cannot give or find a true zero (see ``reason``)."""

    t: float
    reason: ZeroAlertReason
    detail: str = ""


FilterEvent = WeightChange | Settled | Unsettled | ChangeCancelled | ZeroAlert
