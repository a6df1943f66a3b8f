"""Which reported weight changes a return to an earlier weight withdraws, and why.

Kept apart from :mod:`scale.filter` so that the rules (``docs/scale-filter.md``, "Withdrawals")
read in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from scale.filter_types import CancelReason
from scale.types import WeightChange


@dataclass(frozen=True, slots=True)
class RecentChange:
    """A reported change that may still be withdrawn."""

    change: WeightChange
    from_g: float  # gross level before the change
    busy: bool  # it settled out of a long, disturbed motion rather than a clean move


class RecentChanges:
    """The changes reported in the last few seconds, oldest first."""

    def __init__(self, dwell_cancel_s: float, lean_max_s: float) -> None:
        self._dwell_cancel_s = dwell_cancel_s
        self._lean_max_s = lean_max_s
        self._recent: list[RecentChange] = []

    def add(self, change: WeightChange, from_g: float, busy: bool) -> None:
        """Remember a change just reported."""
        self._recent.append(RecentChange(change, from_g, busy))

    def clear(self) -> None:
        """Forget them all (a new baseline, a zero, a tare)."""
        self._recent.clear()

    def withdraw(
        self, t_start: float, level: float, going_down: bool, band_g: float
    ) -> tuple[list[WeightChange], CancelReason] | None:
        """The changes undone by a move that began at ``t_start`` and settled at ``level``.

        ``reversed``: the last change undone within ``dwell_cancel_s`` of its report, if it was
        an increase or if it came out of a long disturbed motion (a push's lull). A clean
        decrease undone by an increase stands: weight alone cannot tell an item put back from
        a swap for another of the same weight, and the cameras can. ``lean``: a run of changes
        that began with an increase less than ``lean_max_s`` ago and is now gone again, the
        weight going down (a hand lifted off the handle, which may have swayed across more than
        one plateau while it rested there). Withdrawn changes are forgotten.
        """
        self._recent = [
            r
            for r in self._recent
            if t_start - r.change.t_start <= self._lean_max_s
            or t_start - r.change.t_settled <= self._dwell_cancel_s
        ]
        for i, r in enumerate(self._recent):
            # Back within the band, plus a little for the creep a heavy item leaves behind.
            if abs(level - r.from_g) > band_g + 0.001 * abs(r.change.delta_g):
                continue
            reason: CancelReason | None = None
            if (
                i == len(self._recent) - 1
                and (r.change.delta_g > 0 or r.busy)
                and t_start - r.change.t_settled <= self._dwell_cancel_s
            ):
                reason = "reversed"
            elif (
                going_down
                and r.change.delta_g > 0
                and t_start - r.change.t_start <= self._lean_max_s
            ):
                reason = "lean"
            if reason is not None:
                withdrawn = [w.change for w in self._recent[i:]]
                del self._recent[i:]
                return withdrawn, reason
        return None
