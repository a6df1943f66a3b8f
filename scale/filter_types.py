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

    # Mirrored in the configuration's [scale] table.
    settle_time_s: float = 0.4  # a plateau must hold this long (after a clean move)
    stable_tolerance_g: float = 2.0  # least half-width of the stability band
    min_change_g: float = 3.0  # smaller settled shifts are drift, never reported
    zero_tracking_band_g: float = 1.0  # zero tracking acts only this close to 0 g
    capacity_g: float = 30_000.0  # readings above are overload
    # Plateau detection.
    stable_tolerance_rel: float = 0.001  # the band grows by this fraction of the change
    quick_change_s: float = 1.0  # motion longer than this before a plateau makes it "busy"
    busy_settle_time_s: float = 0.5  # the hold after a busy motion
    median_window: int = 5  # samples in the spike-removing median (odd)
    noise_band_k: float = 4.0  # band >= this many filtered-noise sigmas
    noise_rms_k: float = 3.5  # a plateau's spread <= this many filtered-noise sigmas
    raw_spread_k: float = 2.0  # its raw samples' spread <= this many raw-noise sigmas
    rms_floor_g: float = 0.5  # floor of both spread limits (a quantised, noiseless scale)
    max_band_g: float = 10.0  # ceiling of the band, however noisy the scale
    departure_samples: int = 2  # filtered samples in a row outside the band to leave a plateau
    plateau_average_s: float = 2.0  # a plateau's level is the mean of its last this many s
    # Withdrawals and long motion.
    dwell_cancel_s: float = 1.5  # an increase undone within this withdraws it
    lean_max_s: float = 4.0  # an increase gone within this of its start was a lean
    # Zero, tare and alerts.
    zero_tracking_rate_g_per_s: float = 0.5
    zero_tracking_max_total_g: float = 20.0  # from the last explicit zero
    zero_range_g: float = 600.0  # request_zero() refuses plateaus further from the scale's 0
    negative_alert_g: float = 10.0  # a plateau below -this raises a "negative" alert
    unknown_alert_s: float = 3.0  # no weight for this long raises an alert
    max_sample_interval_s: float = 0.5  # a longer silence between samples is a gap
    motion_flag: MotionFlagUse = "auto"  # auto: use the scale's flag once it has shown one

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
    """The weight went back to where it was before ``change``: withdraw ``change``.

    The move that undid it is not reported as a change of its own, so the pair nets to
    nothing. ``reason`` is ``"reversed"`` (undone within ``dwell_cancel_s`` of its report; an
    increase, or a change that came out of a long disturbed motion) or ``"lean"`` (an increase
    gone again within ``lean_max_s`` of its start: the signature of a hand resting still on the
    handle). A lean that swayed across several plateaus withdraws each of its changes, oldest
    first, with the same ``t``.
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
