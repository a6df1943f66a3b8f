"""The scale's signal processing: settled plateaus in, weight changes out.

:class:`WeightFilter` is fed :class:`~scale.types.WeightSample` values one at a time and returns
the events each one caused. It is pure apart from its own state: time comes only from
``sample.t``, so a recorded stream replays to the same events, and tests need no clock.
``docs/scale-filter.md`` describes the algorithm, every setting and the benchmark.
"""

from __future__ import annotations

import math

from scale.filter_types import (
    CancelReason,
    ChangeCancelled,
    FilterEvent,
    FilterSettings,
    MotionFlagUse,
    Settled,
    Unsettled,
    ZeroAlert,
    ZeroAlertReason,
)
from scale.plateau import (
    MedianPrefilter,
    NoiseEstimator,
    PlateauAverage,
    RawSpread,
    StabilityRun,
)
from scale.types import WeightChange, WeightSample
from scale.withdrawals import RecentChanges
from scale.zero_tracking import ZeroTracker

__all__ = [
    "CancelReason",
    "ChangeCancelled",
    "FilterEvent",
    "FilterSettings",
    "MotionFlagUse",
    "Settled",
    "Unsettled",
    "WeightChange",
    "WeightFilter",
    "ZeroAlert",
    "ZeroAlertReason",
]

_GAP_REASONS: dict[str, ZeroAlertReason] = {
    "overload": "overload",
    "underload": "underload",
    "error": "error",
}


_TIME_SLACK_S = 0.002  # sample timestamps jitter; a window "of 0.4 s" may measure 0.399 s


class WeightFilter:
    """Turns a stream of weight samples into settled weight changes and alerts."""

    def __init__(self, settings: FilterSettings | None = None) -> None:
        s = self.settings = settings or FilterSettings()
        self._median = MedianPrefilter(s.median_window)
        self._noise = NoiseEstimator()
        # The median of n gaussian samples has about sqrt(pi / 2n) times their spread.
        self._median_gain = math.sqrt(math.pi / (2 * s.median_window))
        self._run = StabilityRun(max_span_s=max(s.settle_time_s, s.busy_settle_time_s))
        self._rough = RawSpread(span_s=max(s.settle_time_s, s.busy_settle_time_s) + 0.1)
        self._plateau = PlateauAverage(s.plateau_average_s, lag=s.median_window // 2 + 2)
        self._zero = ZeroTracker(
            s.zero_tracking_band_g, s.zero_tracking_rate_g_per_s, s.zero_tracking_max_total_g
        )
        self._band = s.stable_tolerance_g
        self._rms_limit = max(s.rms_floor_g, s.stable_tolerance_g / 2)
        self._rough_limit = self._rms_limit
        self._has_flag = s.motion_flag == "use"
        self._settled = False
        self._before: float | None = None  # gross level the current excursion started from
        self._t_start: float | None = None
        self._outside: list[tuple[float, float]] = []
        self._ringing_g = 0.0  # extra band a heavy item settled within, while it still rings
        self._ringing_until = 0.0
        self._unsettled_from: float | None = None  # None once reported
        self._negative_reported = False
        self._last_t: float | None = None
        # Reported changes that a return to an earlier level may still withdraw, oldest first.
        self._recent = RecentChanges(s.dwell_cancel_s, s.lean_max_s)
        self._gap_start: float | None = None
        self._gap_alerted = False
        self._rebase = False
        self._rebase_to: float | None = None
        self._pending_zero = False
        self._pending_tare = False
        self._outbox: list[FilterEvent] = []
        self.dropped_samples = 0

    # ----------------------------------------------------------------- readings

    @property
    def band_g(self) -> float:
        """Current stability band: max(stable_tolerance_g, noise_band_k x filtered noise)."""
        return self._band

    @property
    def noise_g(self) -> float | None:
        """Estimated standard deviation of the raw readings, once measured."""
        return self._noise.sigma_g

    @property
    def settled(self) -> bool:
        """Whether the weight is on a settled plateau now."""
        return self._settled

    @property
    def merchandise_g(self) -> float | None:
        """Merchandise on the last settled plateau (tare excluded); ``None`` before the first."""
        if self._settled:
            return self._zero.net(self._plateau.level)
        return None if self._before is None else self._zero.net(self._before)

    @property
    def tare_g(self) -> float:
        """The bag tare."""
        return self._zero.tare_g

    @property
    def zero_tracked_g(self) -> float:
        """How far zero tracking has moved the zero since the last explicit zero."""
        return self._zero.tracked_g

    # ----------------------------------------------------------------- commands

    def request_zero(self) -> None:
        """Zero on the current plateau, or the next one if the weight is moving.

        For an empty basket at the start of a trip. A plateau further than ``zero_range_g`` from
        the scale's own zero is refused with a :class:`ZeroAlert` (``zero_out_of_range``).
        """
        self._pending_zero = True
        if self._settled:
            self._apply_pending(self._now(), self._plateau.level, self._outbox)

    def tare_bags(self) -> None:
        """The shopper's bags are in: the merchandise on the current (or next) plateau is tare.

        No change is reported for it; the next :meth:`feed` returns a :class:`Settled` at 0 g.
        """
        self._pending_tare = True
        if self._settled:
            self._apply_pending(self._now(), self._plateau.level, self._outbox)

    def set_tare(self, grams: float) -> None:
        """Set the bag tare outright (``0`` clears it)."""
        self._zero.set_tare(grams)
        if self._settled:
            self._outbox.append(Settled(self._now(), self._zero.net(self._plateau.level)))

    def reset_baseline(self, grams: float | None = None) -> None:
        """Re-establish the baseline from the next settled plateau without reporting a change.

        That plateau's merchandise becomes ``grams`` or, with ``None``, stays what it was on the
        last settled plateau. Whatever happened in between is not reported.
        """
        self._rebase_to = self.merchandise_g if grams is None else grams
        self._rebase = True
        self._recent.clear()
        self._forget_signal()
        self._settled = False
        self._before = None
        self._t_start = None
        self._unsettled_from = None

    def on_reconnect(self) -> None:
        """The scale link was re-opened: no phantom change from a zero it may have re-taken."""
        self.reset_baseline(None)

    # ----------------------------------------------------------------- the stream

    def feed(self, sample: WeightSample) -> list[FilterEvent]:
        """Process one sample; return the events it caused (often none), oldest first."""
        out, self._outbox = self._outbox, []
        s = self.settings
        t = sample.t
        last_t = self._last_t
        if not math.isfinite(t) or (last_t is not None and not t > last_t):
            self.dropped_samples += 1  # time must move forward, or nothing can be timed
            return out
        self._last_t = t
        if self._t_start is None:
            self._t_start = self._unsettled_from = t
        grams, reason = sample.grams, sample.status
        if grams is not None and not math.isfinite(grams):
            grams, reason = None, "error"
        elif grams is not None and grams > s.capacity_g:
            grams, reason = None, "overload"
        if grams is None:
            self._no_weight(t, reason, out)
            return out
        if last_t is not None and t - last_t > s.max_sample_interval_s:
            # Silence is a gap of unknown readings too, ending now.
            self._no_weight(last_t, "no_reading", out)
            self._no_weight(t, "no_reading", out)
        if self._gap_start is not None:
            self._gap_start = None
            # A long gap has its own alert; time the next Unsettled from its end.
            self._unsettled_from = t
        if self._noise.push(grams):
            self._update_band()
        self._rough.push(t, grams)
        if sample.stable and s.motion_flag == "auto":
            self._has_flag = True
        filtered = self._median.push(t, grams)
        if filtered is None:
            return out
        tc, x = filtered
        if self._settled:
            self._on_plateau(t, tc, x, out)
        else:
            self._on_moving(t, tc, x, self._has_flag and not sample.stable, out)
        return out

    def _now(self) -> float:
        return 0.0 if self._last_t is None else self._last_t

    def _update_band(self) -> None:
        sigma = self._noise.sigma_g
        if sigma is None:
            return
        s = self.settings
        filtered_sigma = self._median_gain * sigma
        wanted = s.noise_band_k * filtered_sigma
        self._band = min(s.max_band_g, max(s.stable_tolerance_g, wanted))
        self._rms_limit = max(s.rms_floor_g, s.noise_rms_k * filtered_sigma)
        self._rough_limit = max(s.rms_floor_g, s.raw_spread_k * sigma)

    def _forget_signal(self) -> None:
        self._median.reset()
        self._run.reset()
        self._noise.break_continuity()
        self._rough.reset()
        self._outside.clear()
        self._zero.pause()

    def _no_weight(self, t: float, status: str, out: list[FilterEvent]) -> None:
        if self._gap_start is None:
            self._gap_start = t
            self._gap_alerted = False
            if self._settled:
                self._leave_plateau(t)
            self._forget_signal()
        s = self.settings
        if not self._gap_alerted and t - self._gap_start >= s.unknown_alert_s:
            self._gap_alerted = True
            reason = _GAP_REASONS.get(status, "no_reading")
            detail = f"no weight ({status}) for {t - self._gap_start:.1f} s"
            out.append(ZeroAlert(t, reason, detail))

    def _leave_plateau(self, t_start: float) -> None:
        self._plateau.drop_pending()
        self._before = self._plateau.level
        self._settled = False
        self._t_start = self._unsettled_from = t_start
        self._run.reset()
        self._zero.pause()

    def _on_plateau(self, t: float, tc: float, x: float, out: list[FilterEvent]) -> None:
        # Fades as the plateau's level, first averaged over the ringing, is averaged anew.
        fading = (self._ringing_until - tc) / self.settings.plateau_average_s
        band = self._band + self._ringing_g * min(1.0, max(0.0, fading))
        if abs(x - self._plateau.level) > band:
            # Two filtered samples in a row outside the band: the weight is leaving. One
            # alone is a noise tail or the remains of a spike, and is simply not averaged in.
            self._outside.append((tc, x))
            if len(self._outside) >= self.settings.departure_samples:
                self._leave_plateau(self._outside[0][0])
                for tt, xx in self._outside:
                    self._run.push(tt, xx, self._band)
                self._outside.clear()
            return
        self._outside.clear()
        self._plateau.push(tc, x)
        if self._zero.track(t, self._plateau.level):
            detail = f"zero tracking used its {self.settings.zero_tracking_max_total_g:g} g"
            out.append(ZeroAlert(t, "zero_tracking_limit", detail))

    def _on_moving(
        self, t: float, tc: float, x: float, device_moving: bool, out: list[FilterEvent]
    ) -> None:
        s = self.settings
        # A heavy item may settle within a band that grows with it: its weight only needs to
        # be right to 0.2 %, and waiting for its last gram of ringing only adds latency.
        grown = 0.0 if self._before is None else s.stable_tolerance_rel * abs(x - self._before)
        self._run.push(tc, x, self._band + grown)
        since = self._t_start if self._t_start is not None else tc
        if self._unsettled_from is not None and tc - self._unsettled_from >= s.lean_max_s:
            self._unsettled_from = None
            out.append(Unsettled(t, since))
        hold = s.settle_time_s
        busy = self._run.first_t - since > s.quick_change_s
        if busy:
            # The weight has been moving for a while (a push, a lean, a hand rummaging): a
            # short quiet spell in the middle of that is likelier a lull than a plateau.
            hold = max(hold, s.busy_settle_time_s)
        if (
            self._run.held_s >= hold - _TIME_SLACK_S
            and not device_moving
            and self._run.std <= self._rms_limit + grown / 2
            and self._rough.since(self._run.first_t) <= self._rough_limit + grown / 2
        ):
            self._settle(t, since, busy, out)

    def _settle(self, t: float, t_start: float, busy: bool, out: list[FilterEvent]) -> None:
        level = self._run.mean
        self._plateau.start(self._run.values())
        self._run.reset()
        self._settled = True
        before, self._before = self._before, None
        if before is not None:
            # It settled within a band grown by its weight; leaving the plateau because of
            # the same ringing a moment later would split one item into two changes.
            self._ringing_g = self.settings.stable_tolerance_rel * abs(level - before)
            self._ringing_until = t + self.settings.plateau_average_s
        if self._rebase:
            self._rebase = False
            if self._rebase_to is not None:
                self._zero.rebase(level, self._rebase_to)
        elif self._pending_zero or self._pending_tare:
            pass  # the zero or the tare takes whatever changed; nothing to report
        elif before is not None and abs(level - before) >= self.settings.min_change_g:
            self._report_change(t, t_start, before, level, busy=busy, out=out)
        if self._pending_zero or self._pending_tare:
            self._apply_pending(t, level, out)
        else:
            self._report_settled(t, level, out)

    def _apply_pending(self, t: float, level: float, out: list[FilterEvent]) -> None:
        self._recent.clear()
        if self._pending_zero:
            self._pending_zero = False
            if abs(level) <= self.settings.zero_range_g:
                self._zero.zero_at(level)
            else:
                detail = f"{level:.0f} g from the scale's zero"
                out.append(ZeroAlert(t, "zero_out_of_range", detail))
        if self._pending_tare:
            self._pending_tare = False
            self._zero.set_tare(max(0.0, self._zero.tare_g + self._zero.net(level)))
        self._report_settled(t, level, out)

    def _report_settled(self, t: float, level: float, out: list[FilterEvent]) -> None:
        grams = self._zero.net(level)
        out.append(Settled(t, grams))
        negative = grams < -self.settings.negative_alert_g
        if negative and not self._negative_reported:
            detail = f"settled at {grams:.1f} g: zero lost, scale not level, or tare too large"
            out.append(ZeroAlert(t, "negative", detail))
        self._negative_reported = negative

    def _report_change(
        self,
        t: float,
        t_start: float,
        before: float,
        level: float,
        *,
        busy: bool,
        out: list[FilterEvent],
    ) -> None:
        withdrawn = self._recent.withdraw(t_start, level, level < before, self._band)
        if withdrawn is not None:
            changes, reason = withdrawn
            out.extend(ChangeCancelled(t, change, reason) for change in changes)
            return
        net = self._zero.net
        change = WeightChange(level - before, net(before), net(level), t_start, t)
        self._recent.add(change, before, busy)
        out.append(change)
