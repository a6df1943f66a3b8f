"""Zero offset, bag tare and automatic zero tracking: how a gross reading becomes merchandise.

``merchandise = gross - offset - tare``. The offset is the filter's own correction of the
scale's zero: set by an explicit zero, moved slowly by zero tracking, and re-based after a
reconnect so that the merchandise weight carries over. The tare is the shopper's own bags.
"""

from __future__ import annotations


class ZeroTracker:
    """Holds offset and tare, and tracks slow zero drift within a rate and a total limit.

    Tracking only pulls the merchandise weight towards 0 g when it is already within
    ``band_g`` of it: an empty basket (or one holding only tared bags) that drifts. It moves
    the offset by at most ``rate_g_per_s`` and never further than ``max_total_g`` from where the
    last explicit zero put it, so a slowly added load (sand, a trickle of water) can hide at most
    that much, and a scale whose zero keeps running away ends in an alert rather than in silence.
    """

    def __init__(self, band_g: float, rate_g_per_s: float, max_total_g: float) -> None:
        self._band_g = band_g
        self._rate = rate_g_per_s
        self._max_total_g = max_total_g
        self.offset_g = 0.0
        self.tare_g = 0.0
        self.tracked_g = 0.0
        self._last_t: float | None = None
        self._limit_reported = False

    def net(self, gross_g: float) -> float:
        """Merchandise weight for a gross reading."""
        return gross_g - self.offset_g - self.tare_g

    def pause(self) -> None:
        """Tracking stops (the plateau was left); the next :meth:`track` starts afresh."""
        self._last_t = None

    def track(self, t: float, level_g: float) -> bool:
        """One tracking step on a settled plateau at ``level_g`` (gross) at time ``t``.

        Returns ``True`` once, when tracking is needed but the total limit stops it.
        """
        last, self._last_t = self._last_t, t
        error = self.net(level_g)
        if last is None or abs(error) > self._band_g or error == 0.0:
            return False
        limit = self._rate * (t - last)
        step = max(-limit, min(limit, error))
        wanted = self.tracked_g + step
        allowed = max(-self._max_total_g, min(self._max_total_g, wanted))
        self.offset_g += allowed - self.tracked_g
        self.tracked_g = allowed
        if allowed != wanted and not self._limit_reported:
            self._limit_reported = True
            return True
        return False

    def zero_at(self, gross_g: float) -> None:
        """Explicit zero: ``gross_g`` becomes 0 g of merchandise, with no tare."""
        self.offset_g = gross_g
        self.tare_g = 0.0
        self.tracked_g = 0.0
        self._limit_reported = False

    def rebase(self, gross_g: float, merchandise_g: float) -> None:
        """Make ``gross_g`` read as ``merchandise_g`` (after a reconnect); not counted as tracking.

        A scale that powers up again zeroes itself with the goods on it; the offset absorbs
        that jump so that the merchandise weight carries over.
        """
        self.offset_g = gross_g - self.tare_g - merchandise_g

    def set_tare(self, grams: float) -> None:
        """The bags weigh ``grams``; merchandise excludes them from now on."""
        if grams < 0:
            raise ValueError("a tare cannot be negative")
        self.tare_g = grams
