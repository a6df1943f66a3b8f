"""Pairing observations with weight changes, and when a decision on a change may be acted on.

A weight change pairs with the observations whose time lies within ``pairing_window_s`` of its
interval (``t_start`` to ``t_settled``) and whose direction fits its sign (in, unknown or held
for a gain; out, unknown or held for a loss). A decisive verdict is normally carried out at
once; one that counts units the weight alone vouches for may wait (:func:`act_now`) and is
charged provisionally (:func:`counted_early`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from cart_app.basket import BasketState
from cart_app.events import ChangeKind
from cart_app.fusion.addition import assess_add
from cart_app.fusion.book import ProductBook
from cart_app.fusion.hypotheses import NOT_PLACED, OTHER, Assessment, RankedOutcome
from cart_app.fusion.removal import LooseWeight, assess_remove
from cart_app.fusion.settings import FusionSettings
from cart_app.fusion.state import FusionState
from cart_app.fusion.views import SCANNER_CAMERA, ObservationView
from cart_app.fusion.weights import reading_sigma
from scale.types import WeightChange
from vision.types import Direction, ItemObservation

ADD_DIRECTIONS = frozenset({Direction.INTO, Direction.UNKNOWN, Direction.HELD})
"""Directions of an observation that may pair with a gain."""
REMOVE_DIRECTIONS = frozenset({Direction.OUT_OF, Direction.UNKNOWN, Direction.HELD})
"""Directions of an observation that may pair with a loss."""
_SCAN_SLACK_S = 0.5
"""A scan this long after an addition started may still be its item's (clocks, a quick hand)."""


def withdraws(change: WeightChange, earlier: WeightChange) -> bool:
    """Whether ``change`` is the scale's withdrawal of ``earlier``.

    The cart's scale wiring hands a withdrawn increase to fusion as its exact mirror image: the
    same weights the other way round, at one instant (``t_start == t_settled``). A real change
    always takes time to settle, so the mirror cannot be mistaken for one.
    """
    return (
        earlier.delta_g > 0
        and change.t_start == change.t_settled
        and change.delta_g == -earlier.delta_g
        and change.before_g == earlier.after_g
        and change.after_g == earlier.before_g
    )


def change_kind(change: WeightChange) -> ChangeKind:
    """Whether ``change`` is an addition or a removal."""
    return ChangeKind.ADD if change.delta_g > 0 else ChangeKind.REMOVE


def paired(
    observations: Sequence[ItemObservation],
    change: WeightChange,
    kind: ChangeKind,
    consumed: set[int],
    settings: FusionSettings,
) -> list[int]:
    """Indices of the observations paired with ``change``, oldest first: the
    :func:`closest` of those :func:`nearby`."""
    return closest(nearby(observations, change, kind, consumed, settings), settings)


def closest(near: Sequence[int], settings: FusionSettings) -> list[int]:
    """The ``max_group_observations`` first of ``near`` (closest in time first), oldest first."""
    return sorted(near[: settings.max_group_observations])


def nearby(
    observations: Sequence[ItemObservation],
    change: WeightChange,
    kind: ChangeKind,
    consumed: set[int],
    settings: FusionSettings,
) -> list[int]:
    """Indices of every observation that may have caused ``change``, closest in time first."""
    window = settings.pairing_window_s
    directions = ADD_DIRECTIONS if kind is ChangeKind.ADD else REMOVE_DIRECTIONS
    start, end = change.t_start, change.t_settled

    def distance(i: int) -> float:
        t = observations[i].t
        return max(start - t, t - end, 0.0)

    def scanned_after(o: ItemObservation) -> bool:
        # A code scanned on the basket scanner names an item *about to* go in: once an
        # item is down, it is in the basket, not in the shopper's hand at the scanner.
        return (
            o.camera_id == SCANNER_CAMERA and kind is ChangeKind.ADD and o.t > start + _SCAN_SLACK_S
        )

    near = [
        i
        for i, o in enumerate(observations)
        if i not in consumed
        and o.direction in directions
        and distance(i) <= window
        and not scanned_after(o)
    ]
    near.sort(key=lambda i: (distance(i), i))
    return near


def used(group: list[int], assessment: Assessment, ranked: RankedOutcome) -> set[int]:
    """Observations the outcome accounts for: assigned to it, or other views of its items."""
    found: set[int] = set()
    skus = ranked.outcome.skus
    for position, index in enumerate(group):
        key = ranked.best.assignment[position] if ranked.best.assignment else NOT_PLACED
        view = assessment.views[position]
        top = view.masses[0][0] if view.masses else None
        if key not in (NOT_PLACED, OTHER) or top in skus:
            found.add(index)
    return found


def cancel_pairs(state: FusionState, settings: FusionSettings) -> FusionState:
    """An unseen gain followed by an unseen loss of the same weight: nothing happened.

    Returns ``state`` itself when no pair cancels, else a state without the pairs' changes.
    """
    observations = state.observations
    weights = list(state.weights)
    changed = True
    while changed:
        changed = False
        for gain in weights:
            if gain.delta_g <= 0 or paired(observations, gain, ChangeKind.ADD, set(), settings):
                continue
            for loss in weights:
                if loss.delta_g >= 0 or loss.t_start < gain.t_settled:
                    continue
                if paired(observations, loss, ChangeKind.REMOVE, set(), settings):
                    continue
                sigma = reading_sigma(gain.delta_g, settings.scale_sigma_g**2, settings)
                if abs(gain.delta_g + loss.delta_g) <= settings.fit_sigmas * sigma:
                    weights.remove(gain)
                    weights.remove(loss)
                    changed = True
                    break
            if changed:
                break
    if len(weights) != len(state.weights):
        return replace(state, weights=tuple(weights))
    return state


def assess(
    delta_g: float,
    views: Sequence[ObservationView],
    *,
    state: FusionState,
    basket: BasketState,
    book: ProductBook,
    settings: FusionSettings,
    pool: bool = True,
) -> Assessment:
    """Score a change: a gain against the catalog, a loss against what the basket holds.

    Besides the basket's lines, a loss may be one of the shopper's own items or an item still
    waiting for an answer (``state``). ``pool``: whether tracks that agree may pool their
    evidence (not when observations that may have caused the change were left out).
    """
    if delta_g > 0:
        return assess_add(delta_g, views, book, settings, pool=pool)
    loose = [LooseWeight(w, own=True) for w in state.own_items_g] + [
        LooseWeight(p.context.delta_g, prompt_id=p.prompt_id)
        for p in state.prompts
        if p.context.kind is ChangeKind.ADD
    ]
    return assess_remove(
        delta_g, views, lines=basket.lines, loose=loose, book=book, settings=settings
    )


def beyond_seen(ranked: RankedOutcome) -> bool:
    """Whether the outcome holds more units than observations it was given (counted by weight)."""
    seen = sum(1 for key in ranked.best.assignment if key not in (NOT_PLACED, OTHER))
    units = sum(1 if i.weight_g is not None else i.quantity for i in ranked.outcome.items)
    return units > seen


def act_now(
    change: WeightChange,
    assessment: Assessment,
    ranked: RankedOutcome,
    now: float,
    settings: FusionSettings,
) -> bool:
    """Whether a decisive verdict is carried out now rather than after the grace period.

    The cameras report an item when its track ends, about half a second after it dropped
    out of sight, and the scale reports a weight a quarter to half a second after it came
    to rest: the observations of what caused a change are normally in before the change
    is. So a verdict whose every unit was seen going in is carried out at once, and so is
    a removal (decisive only when one thing in the basket fits it, which no late view could
    turn into another charge). A quantity the weight alone vouches for waits
    ``count_grace_s``: n units of one product may weigh what one of it and a second item
    whose report is late weigh (the trip benchmark measured no add whose observation came
    after its weight, so the default is not to wait).
    """
    if now >= change.t_settled + settings.observation_grace_s:
        return True
    if assessment.kind is ChangeKind.REMOVE:
        # One line (or own item) that alone fits: no late view can make it another. Two
        # lines that happen to add up to the weight wait for the camera's report.
        return len(ranked.outcome.items) == 1 or any(
            key not in (NOT_PLACED, OTHER) for key in ranked.best.assignment
        )
    return not beyond_seen(ranked) or now >= change.t_settled + settings.count_grace_s


def counted_early(
    change: WeightChange,
    assessment: Assessment,
    ranked: RankedOutcome,
    now: float,
    settings: FusionSettings,
) -> bool:
    """Whether a count the weight vouches for was charged before the grace was over."""
    if assessment.kind is not ChangeKind.ADD:
        return False
    if now >= change.t_settled + settings.observation_grace_s:
        return False
    return beyond_seen(ranked)
