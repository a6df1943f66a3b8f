"""Quantities charged on the weight's word, open to revision by a late observation.

Several units seen as one item are counted by the weight (``docs/fusion.md``). The cameras
normally report an item before the scale settles, so fusion charges such a count at once rather
than waiting ``observation_grace_s`` for a report that almost never comes late (a second of
waiting on every multi-pack put the line on screen a second late). If a report *does* come late
— within the grace, of an item going in at the change's time — the change is assessed again with
it; when the new verdict differs, what was charged is taken back and the change is decided (or
asked about) anew. The receipt ends as if fusion had waited; only the screen saw the first guess.
"""

from __future__ import annotations

from dataclasses import dataclass

from cart_app.domain import Evidence, EvidenceSource
from cart_app.events import ChangeKind, Confirm
from cart_app.fusion.hypotheses import Outcome
from scale.types import WeightChange
from vision.types import ItemObservation


@dataclass(frozen=True, slots=True)
class Provisional:
    """A count fusion charged before the grace for late observations was over."""

    change: WeightChange
    observations: tuple[ItemObservation, ...]
    outcome: Outcome
    confirms: tuple[Confirm, ...]
    until: float
    """Monotonic time after which a late report no longer revises it."""


def pairs_with(provisional: Provisional, obs: ItemObservation, window_s: float) -> bool:
    """Whether ``obs`` could be part of the provisional change (timing only)."""
    change = provisional.change
    return max(change.t_start - obs.t, obs.t - change.t_settled, 0.0) <= window_s


def take_back(provisional: Provisional, reason: str) -> list[Confirm]:
    """Confirms that undo what ``provisional`` charged (the same units out again)."""
    undo: list[Confirm] = []
    for confirm in provisional.confirms:
        if confirm.kind is not ChangeKind.ADD:
            continue
        evidence = Evidence(EvidenceSource.SYSTEM, None, note=f"revised: {reason}")
        undo.append(
            Confirm(ChangeKind.REMOVE, confirm.sku, confirm.quantity, confirm.weight_g, evidence)
        )
    return undo
