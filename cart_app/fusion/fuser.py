"""The fuser: observations, weight changes, scans and answers in; engine commands out.

The fuser runs on the engine thread and holds the only state fusion needs: what it saw and
weighed but has not decided yet, the prompts it opened, and the weights the shopper declared
their own. That state is a frozen :class:`FusionState`, replaced (never mutated) by each call,
and every time comes from the event's own timestamps or the injected clock, so a recorded
session replays to the same commands.

Pairing. A weight change pairs with the observations whose time lies within
``pairing_window_s`` of its interval (``t_start`` to ``t_settled``) and whose direction fits its
sign (in, unknown or held for a gain; out, unknown or held for a loss). Every change waits for
late observations: a decisive verdict is carried out ``observation_grace_s`` after the weight
settled; an undecided one is asked then (or, when nothing at all was seen, at the end of the
pairing window).
An observation that nothing claims within its window (plus the grace) was held, not placed:
nothing is charged, unless its product is too light for the scale, which is then confirmed
from the camera or barcode alone.

All times (observation ``t``, weight ``t_start``/``t_settled``, ``tick(now)``) are on one
monotonic clock: the cart's ``Clock.monotonic``, which vision and scale stamp with too.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from cart_app.basket import BasketState, PendingPrompt
from cart_app.clock import Clock
from cart_app.domain import BasketLine, Evidence, EvidenceSource, Product
from cart_app.events import Answer, Ask, ChangeKind, Command, Confirm, ReopenShopping, Tare
from cart_app.fusion import choices as ch
from cart_app.fusion import prompts
from cart_app.fusion.hypotheses import (
    NOT_PLACED,
    OTHER,
    SCANNER_CAMERA,
    Assessment,
    FusionCatalog,
    Item,
    LooseWeight,
    ObservationView,
    Outcome,
    ProductBook,
    RankedOutcome,
    assess_add,
    assess_remove,
    verdict,
    view_observation,
)
from cart_app.fusion.named import check_named
from cart_app.fusion.provisional import Provisional, pairs_with, take_back
from cart_app.fusion.settings import FusionSettings
from cart_app.fusion.weights import best_quantity, is_per_kg, reading_sigma
from cart_app.session import SessionState
from scale.types import WeightChange
from vision.types import BarcodeRead, Direction, ItemObservation

log = logging.getLogger(__name__)

OWN_BAG_LABEL = "own-bag"
"""Reserved recognition label of the shoppers' own bags (no SKU; enrolled by the store)."""
WITHDRAWN = "withdrawn"
"""Answer recorded (by ``"system"``) when an unresolved item is taken back out."""

_ACTIVE = frozenset({SessionState.SHOPPING, SessionState.CHECKOUT, SessionState.HANDED_OFF})
"""States in which weight changes are merchandise; checkout and handed-off reopen shopping."""
_FROZEN = frozenset({SessionState.CHECKOUT, SessionState.HANDED_OFF})
_ADD_DIRECTIONS = frozenset({Direction.INTO, Direction.UNKNOWN, Direction.HELD})
_REMOVE_DIRECTIONS = frozenset({Direction.OUT_OF, Direction.UNKNOWN, Direction.HELD})
_SCAN_SLACK_S = 0.5
"""A scan this long after an addition started may still be its item's (clocks, a quick hand)."""
_TOO_LIGHT_ASK_MASS = 0.5
"""Vision mass on too-light products above which an unclear one is asked about, not dropped."""


@dataclass(frozen=True, slots=True)
class PromptContext:
    """What a prompt is about: the weight change (None for a too-light item) and the views."""

    kind: ChangeKind | None
    delta_g: float
    observations: tuple[ItemObservation, ...] = ()
    change: WeightChange | None = None


@dataclass(frozen=True, slots=True)
class OpenPrompt:
    """A prompt fusion opened and has not seen answered.

    ``seen_open`` turns true once the basket lists it; if it later disappears without an
    answer through the fuser, the engine timed it out. ``deadline`` is monotonic.
    """

    prompt_id: str
    reason: str
    choices: tuple[str, ...]
    context: PromptContext
    deadline: float
    seen_open: bool = False


@dataclass(frozen=True, slots=True)
class RecentLight:
    """A too-light item confirmed without weight; other cameras' views of it are duplicates."""

    sku: str
    t: float
    camera_id: str


@dataclass(frozen=True, slots=True)
class FusionState:
    """Everything fusion remembers between calls."""

    observations: tuple[ItemObservation, ...] = ()
    weights: tuple[WeightChange, ...] = ()
    prompts: tuple[OpenPrompt, ...] = ()
    own_items_g: tuple[float, ...] = ()
    recent_light: tuple[RecentLight, ...] = ()
    provisional: tuple[Provisional, ...] = ()
    awaiting_scan: tuple[str, ...] = ()
    """Prompts whose shopper tapped "scan it": the next scan answers them."""
    awaiting_show: tuple[str, ...] = ()
    """Prompts whose shopper tapped "show it": an item held up to a camera answers them."""
    deferred_scans: tuple[ItemObservation, ...] = ()
    """Scans made while prompts were open that nobody asked for: the next item's, if it goes
    in; otherwise, ``pairing_window_s`` later, an answer to the prompt they fit."""


def _default_id() -> str:
    return uuid.uuid4().hex


def _withdraws(change: WeightChange, earlier: WeightChange) -> bool:
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


def _kind(change: WeightChange) -> ChangeKind:
    return ChangeKind.ADD if change.delta_g > 0 else ChangeKind.REMOVE


class Fuser:
    """Turns sensor events into ``Confirm``/``Ask``/``Answer``/``Tare`` commands.

    Call it from the engine thread with the engine's current basket; feed its commands to the
    engine in order. ``new_id`` makes prompt ids (unique within a session's ledger).
    """

    def __init__(
        self,
        catalog: FusionCatalog,
        settings: FusionSettings,
        clock: Clock,
        new_id: Callable[[], str] = _default_id,
    ) -> None:
        """A fuser with no pending evidence."""
        self._catalog = catalog
        self._settings = settings
        self._clock = clock
        self._new_id = new_id
        self._state = FusionState()
        self._basket: BasketState | None = None

    @property
    def state(self) -> FusionState:
        """What fusion holds pending (for logs, tests and the debug screen)."""
        return self._state

    @property
    def settings(self) -> FusionSettings:
        """The settings in use."""
        return self._settings

    # -- events ------------------------------------------------------------------------------
    def on_observation(
        self, obs: ItemObservation, basket: BasketState | None = None
    ) -> list[Command]:
        """An item seen crossing the basket opening (or held, or shown)."""
        self._remember(basket)
        now = self._clock.monotonic()
        book = self._book()
        shown = self._answer_by_showing(obs, book)
        if shown:
            return shown + self._process(now, book)
        revised = self._revise(obs, now, book)
        if revised:
            return revised + self._process(now, book)
        self._state = replace(self._state, observations=(*self._state.observations, obs))
        return self._process(now, book)

    def _revise(self, obs: ItemObservation, now: float, book: ProductBook) -> list[Command]:
        """A late report of an item going in, at the time of a count charged at once: decide
        that change again with it (``provisional.py``); nothing when the verdict stands."""
        basket = self._basket
        if basket is None or obs.direction not in _ADD_DIRECTIONS:
            return []
        settings = self._settings
        for p in self._state.provisional:
            if now > p.until or not pairs_with(p, obs, settings.pairing_window_s):
                continue
            views = [
                view_observation(o, ChangeKind.ADD, book, settings) for o in (*p.observations, obs)
            ]
            assessment = assess_add(p.change.delta_g, views, book, settings)
            result = verdict(assessment, settings)
            if result.confirm is not None and result.confirm.outcome == p.outcome:
                continue  # the late view changes nothing: it is the next item's
            self._state = replace(
                self._state, provisional=tuple(q for q in self._state.provisional if q is not p)
            )
            commands: list[Command] = list(take_back(p, "a late observation changed the count"))
            if result.confirm is not None:
                return commands + self._carry_out(assessment, result.confirm, book, basket)
            return commands + self._ask(
                assessment,
                change=p.change,
                reason=result.reason or prompts.AMBIGUOUS_ITEM,
                options=result.choices,
                basket=basket,
                book=book,
                now=now,
            )
        return []

    def on_weight_change(self, change: WeightChange, basket: BasketState) -> list[Command]:
        """A settled change of the basket's weight."""
        self._remember(basket)
        if basket.state not in _ACTIVE or change.delta_g == 0:
            # Idle, done, locked or in maintenance: there is no open basket to charge to.
            log.info("weight change of %.1f g ignored while %s", change.delta_g, basket.state)
            return []
        undone = next((w for w in self._state.weights if _withdraws(change, w)), None)
        if undone is not None:
            # The scale withdrew an increase that fusion has not decided yet (a lean on the
            # handle, an item put back at once): nothing happened, whatever was seen meanwhile.
            weights = tuple(w for w in self._state.weights if w is not undone)
            self._state = replace(self._state, weights=weights)
            return self._process(self._clock.monotonic(), self._book())
        asked = next(
            (
                p
                for p in self._state.prompts
                if p.context.change is not None
                and not p.context.observations
                and _withdraws(change, p.context.change)
            ),
            None,
        )
        if asked is not None:
            # The scale withdrew an increase nobody saw go in, which fusion already asked
            # about (a lean on the handle): the question is moot. A gain the cameras saw is an
            # item; its "mirror" is as likely another item of its weight coming out, and is
            # decided as a removal (the unresolved item among the things that may have left).
            self._drop_prompt(asked.prompt_id)
            withdrawn: list[Command] = [Answer(asked.prompt_id, WITHDRAWN, "system")]
            return withdrawn + self._process(self._clock.monotonic(), self._book())
        commands: list[Command] = []
        if basket.state in _FROZEN:
            # The basket is frozen during checkout: any weight change reopens shopping (and
            # invalidates a handoff) before anything is decided about it.
            commands.append(ReopenShopping(f"weight changed by {change.delta_g:+.1f} g"))
        self._state = replace(self._state, weights=(*self._state.weights, change))
        return commands + self._process(self._clock.monotonic(), self._book())

    def on_scan(self, barcode: BarcodeRead, basket: BasketState | None = None) -> list[Command]:
        """A barcode read by the basket scanner: answers an open prompt, else is evidence."""
        self._remember(basket)
        if barcode.gtin is None:
            return []  # not a product code (coupons and app codes are the app's business)
        book = self._book()
        now = self._clock.monotonic()
        match = book.resolve(barcode.gtin)
        waiting = [p for p in self._open_prompts() if ch.SCAN in p.choices]
        if waiting and match is None:
            log.info("scan %s answers nothing: unknown product", barcode.gtin)
            return []
        obs = ItemObservation(SCANNER_CAMERA, Direction.UNKNOWN, (), barcode, now)
        awaiting = [p for p in waiting if p.prompt_id in self._state.awaiting_scan]
        if awaiting:
            answered, fitted = self._answer_by_scan(awaiting, obs, book)
            if not fitted:
                # It may also be the next item, scanned before it goes in.
                self._state = replace(self._state, observations=(*self._state.observations, obs))
            return answered + self._process(now, book)
        # Nobody tapped "scan it": a scan while a question is open is as likely the next item,
        # scanned before it goes in (a shopper scanning a swapped label does just that). It is
        # evidence for the next item first, and answers the question only if no item follows.
        deferred = self._state.deferred_scans + ((obs,) if waiting else ())
        self._state = replace(
            self._state, observations=(*self._state.observations, obs), deferred_scans=deferred
        )
        return self._process(now, book)

    def on_answer(
        self, prompt_id: str, answer: str, basket: BasketState, answered_by: str = "shopper"
    ) -> list[Command]:
        """The shopper (or staff) chose ``answer`` on prompt ``prompt_id``."""
        self._remember(basket)
        book = self._book()
        now = self._clock.monotonic()
        prompt = next((p for p in self._state.prompts if p.prompt_id == prompt_id), None)
        if prompt is None:
            restored = next((p for p in basket.pending_prompts if p.prompt_id == prompt_id), None)
            if restored is None:
                return []
            prompt = self._restored(restored)
        if not ch.accepts(prompt.choices, answer):
            log.warning("answer %r is not a choice of prompt %s", answer, prompt_id)
            return []
        if answer == ch.SCAN:
            self._state = replace(
                self._state, awaiting_scan=(*self._state.awaiting_scan, prompt.prompt_id)
            )
            return []  # the scan answers
        if answer == ch.SHOW:
            self._state = replace(
                self._state, awaiting_show=(*self._state.awaiting_show, prompt.prompt_id)
            )
            return []  # the item held up to a camera answers
        if answer == ch.OTHER:
            return []  # the named product answers
        if answer not in prompt.choices:
            return self._answer_named(
                prompt, answer, basket, book, answered_by=answered_by, now=now
            )
        commands: list[Command] = [Answer(prompt_id, answer, answered_by)]
        if answer == ch.NOT_MINE:
            commands += self._not_mine(prompt)
        elif answer != ch.NOTHING:
            note = f"answer to prompt {prompt_id} ({prompt.reason})"
            commands += self._carry_out_choice(
                prompt, ch.decode_choice(answer), basket, book, answered_by=answered_by, note=note
            )
        self._drop_prompt(prompt_id)
        return commands + self._process(now, book)

    def _answer_named(
        self,
        prompt: OpenPrompt,
        answer: str,
        basket: BasketState,
        book: ProductBook,
        *,
        answered_by: str,
        now: float,
    ) -> list[Command]:
        """ "Something else": the shopper named a product the prompt did not offer.

        Carried out when it fits the prompt's weight (``named.check_named``); a shopper's
        answer that does not fit is recorded and the question asked again (a swap or a
        mistake: it must not be charged); staff answers are carried out with the misfit noted.
        """
        context = prompt.context
        named = ch.decode_choice(answer)
        if any(book.product(item.sku) is None for item in named):
            log.warning("answer %r to prompt %s names no product we sell", answer, prompt.prompt_id)
            return []
        checked = check_named(
            named,
            context.kind,
            context.delta_g,
            basket=basket,
            book=book,
            settings=self._settings,
        )
        commands: list[Command] = [Answer(prompt.prompt_id, answer, answered_by)]
        self._drop_prompt(prompt.prompt_id)
        note = f"answer to prompt {prompt.prompt_id} ({prompt.reason}); named"
        if checked.fits or (answered_by == "staff" and checked.valid):
            if not checked.fits:
                note += f"; weight_unchecked={checked.problem}"
            commands += self._carry_out_choice(
                prompt, checked.items, basket, book, answered_by=answered_by, note=note
            )
            return commands + self._process(now, book)
        log.info("named answer %r does not fit: %s", answer, checked.problem)
        reason = (
            prompts.REMOVAL_MISMATCH
            if context.kind is ChangeKind.REMOVE
            else prompts.WEIGHT_MISMATCH
        )
        return commands + self._ask_again(prompt, reason, context, now)

    def _ask_again(
        self, prompt: OpenPrompt, reason: str, context: PromptContext, now: float
    ) -> list[Command]:
        """A new prompt with ``prompt``'s choices (an answer that did not fit it)."""
        prompt_id = self._new_id()
        timeout = self._settings.prompt_timeout_s
        again = OpenPrompt(prompt_id, reason, prompt.choices, context, now + timeout)
        self._state = replace(self._state, prompts=(*self._state.prompts, again))
        return [Ask(reason, prompt.choices, prompt_id, timeout)]

    def _carry_out_choice(
        self,
        prompt: OpenPrompt,
        items: Sequence[ch.ChoiceItem],
        basket: BasketState,
        book: ProductBook,
        *,
        answered_by: str,
        note: str,
    ) -> list[Command]:
        """The confirms of a product choice the shopper (or staff) picked or named."""
        context = prompt.context
        kind = context.kind or (
            ChangeKind.REMOVE if any(i.line_id for i in items) else ChangeKind.ADD
        )
        delta = context.delta_g if context.kind is not None else None
        commands: list[Command] = []
        for item in items:
            seen = self._seen_in(context, item.sku, book)
            evidence = Evidence(
                EvidenceSource.SHOPPER if answered_by != "staff" else EvidenceSource.STAFF,
                weight_delta_g=delta if len(items) == 1 else None,
                vision_label=seen[1] if seen else None,
                vision_probability=seen[0] if seen else None,
                camera_id=seen[2] if seen else None,
                note=self._notes(book.product(item.sku), [note]),
            )
            commands.append(self._command(kind, _item(item), evidence, book, basket))
        return commands

    def _seen_in(
        self, context: PromptContext, sku: str, book: ProductBook
    ) -> tuple[float, str, str] | None:
        """What the camera made of ``sku`` in the prompt's observations, for the evidence."""
        best: tuple[float, str, str] | None = None
        for obs in context.observations:
            view = view_observation(obs, context.kind or ChangeKind.ADD, book, self._settings)
            found = view.seen(sku)
            if found is not None and (best is None or found[0] > best[0]):
                best = (found[0], found[1], obs.camera_id)
        return best

    def tick(self, now: float, basket: BasketState) -> list[Command]:
        """Let time pass: decide what waited long enough, expire observations and prompts."""
        self._remember(basket)
        return self._process(now, self._book())

    # -- the decision loop -------------------------------------------------------------------
    def _process(self, now: float, book: ProductBook) -> list[Command]:
        basket = self._basket
        if basket is None:
            return []
        if basket.state in (SessionState.IDLE, SessionState.DONE):
            # No open session: nothing pending can be charged any more.
            self._state = FusionState()
            return []
        if basket.state not in _ACTIVE:
            return []  # locked or in maintenance: staff are in charge; keep what is pending
        commands = self._housekeep_prompts(now, basket)
        self._cancel_pairs()
        commands += self._decide_weights(now, basket, book)
        if self._state.deferred_scans:
            commands += self._settle_deferred_scans(now, book)
        commands += self._expire_observations(now, basket, book)
        return commands

    def _decide_weights(self, now: float, basket: BasketState, book: ProductBook) -> list[Command]:
        settings = self._settings
        commands: list[Command] = []
        remaining: list[WeightChange] = []
        consumed: set[int] = set()
        reserved: set[int] = set()
        provisional = [p for p in self._state.provisional if now <= p.until]
        for change in sorted(self._state.weights, key=lambda c: (c.t_settled, c.t_start)):
            kind = _kind(change)
            group = self._group(change, kind, consumed | reserved)
            bag = self._own_bag(change, kind, group) if group else None
            if bag is not None:
                commands.append(bag)
                consumed |= set(group)
                continue
            views = [
                view_observation(self._state.observations[i], kind, book, settings) for i in group
            ]
            assessment = self._assess(change.delta_g, views, basket, book)
            result = verdict(assessment, settings)
            if result.confirm is not None:
                if self._act_now(change, assessment, result.confirm, now):
                    done = self._carry_out(assessment, result.confirm, book, basket)
                    commands += done
                    used = self._used(group, assessment, result.confirm)
                    consumed |= used
                    if self._counted_early(change, assessment, result.confirm, now):
                        provisional.append(
                            Provisional(
                                change,
                                tuple(self._state.observations[i] for i in sorted(used)),
                                result.confirm.outcome,
                                tuple(c for c in done if isinstance(c, Confirm)),
                                change.t_settled + settings.observation_grace_s,
                            )
                        )
                else:
                    remaining.append(change)
                    reserved |= set(group)
                continue
            wait = settings.observation_grace_s if group else settings.pairing_window_s
            if now < change.t_settled + wait or result.reason is None:
                remaining.append(change)
                reserved |= set(group)  # an undecided change keeps its observations
                continue
            commands += self._ask(
                assessment,
                change=change,
                reason=result.reason,
                options=result.choices,
                basket=basket,
                book=book,
                now=now,
            )
            consumed |= set(group)
        observations = tuple(o for i, o in enumerate(self._state.observations) if i not in consumed)
        self._state = replace(
            self._state,
            weights=tuple(remaining),
            observations=observations,
            provisional=tuple(provisional),
        )
        return commands

    def _counted_early(
        self, change: WeightChange, assessment: Assessment, ranked: RankedOutcome, now: float
    ) -> bool:
        """Whether a count the weight vouches for was charged before the grace was over."""
        if assessment.kind is not ChangeKind.ADD:
            return False
        if now >= change.t_settled + self._settings.observation_grace_s:
            return False
        return _beyond_seen(ranked)

    def _own_bag(self, change: WeightChange, kind: ChangeKind, group: list[int]) -> Tare | None:
        """The shopper's own bag going in, seen as one: tared without asking.

        Stores enrol a few of the bags shoppers bring under the reserved recognition label
        ``own-bag`` (docs/fusion.md). Every paired observation must call it a bag, and the
        gain must be an empty bag's: a heavier "bag" holds something, and is asked about.
        """
        settings = self._settings
        if kind is not ChangeKind.ADD or change.delta_g > settings.own_bag_max_g:
            return None
        tops = []
        for i in group:
            obs = self._state.observations[i]
            top = max(obs.candidates, key=lambda c: c.probability, default=None)
            if obs.barcode is not None or top is None or top.label != OWN_BAG_LABEL:
                return None
            if top.probability < settings.own_bag_probability:
                return None
            tops.append(top.probability)
        self._state = replace(self._state, own_items_g=(*self._state.own_items_g, change.delta_g))
        return Tare(
            change.delta_g, f"shopper's own bag (seen as {OWN_BAG_LABEL}, p={max(tops):.2f})"
        )

    def _act_now(
        self, change: WeightChange, assessment: Assessment, ranked: RankedOutcome, now: float
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
        if now >= change.t_settled + self._settings.observation_grace_s:
            return True
        if assessment.kind is ChangeKind.REMOVE:
            # One line (or own item) that alone fits: no late view can make it another. Two
            # lines that happen to add up to the weight wait for the camera's report.
            return len(ranked.outcome.items) == 1 or any(
                key not in (NOT_PLACED, OTHER) for key in ranked.best.assignment
            )
        return not _beyond_seen(ranked) or now >= change.t_settled + self._settings.count_grace_s

    def _assess(
        self,
        delta_g: float,
        views: Sequence[ObservationView],
        basket: BasketState,
        book: ProductBook,
    ) -> Assessment:
        if delta_g > 0:
            return assess_add(delta_g, views, book, self._settings)
        loose = [LooseWeight(w, own=True) for w in self._state.own_items_g] + [
            LooseWeight(p.context.delta_g, prompt_id=p.prompt_id)
            for p in self._state.prompts
            if p.context.kind is ChangeKind.ADD
        ]
        return assess_remove(
            delta_g, views, lines=basket.lines, loose=loose, book=book, settings=self._settings
        )

    def _group(self, change: WeightChange, kind: ChangeKind, consumed: set[int]) -> list[int]:
        """Indices of the observations paired with ``change``, oldest first."""
        window = self._settings.pairing_window_s
        directions = _ADD_DIRECTIONS if kind is ChangeKind.ADD else _REMOVE_DIRECTIONS
        start, end = change.t_start, change.t_settled

        def distance(i: int) -> float:
            t = self._state.observations[i].t
            return max(start - t, t - end, 0.0)

        def scanned_after(o: ItemObservation) -> bool:
            # A code scanned on the basket scanner names an item *about to* go in: once an
            # item is down, it is in the basket, not in the shopper's hand at the scanner.
            return (
                o.camera_id == SCANNER_CAMERA
                and kind is ChangeKind.ADD
                and o.t > start + _SCAN_SLACK_S
            )

        near = [
            i
            for i, o in enumerate(self._state.observations)
            if i not in consumed
            and o.direction in directions
            and distance(i) <= window
            and not scanned_after(o)
        ]
        near.sort(key=lambda i: (distance(i), i))
        return sorted(near[: self._settings.max_group_observations])

    @staticmethod
    def _used(group: list[int], assessment: Assessment, ranked: RankedOutcome) -> set[int]:
        """Observations the outcome accounts for: assigned to it, or other views of its items."""
        used: set[int] = set()
        skus = ranked.outcome.skus
        for position, index in enumerate(group):
            key = ranked.best.assignment[position] if ranked.best.assignment else NOT_PLACED
            view = assessment.views[position]
            top = view.masses[0][0] if view.masses else None
            if key not in (NOT_PLACED, OTHER) or top in skus:
                used.add(index)
        return used

    def _cancel_pairs(self) -> None:
        """An unseen gain followed by an unseen loss of the same weight: nothing happened."""
        weights = list(self._state.weights)
        changed = True
        while changed:
            changed = False
            for gain in weights:
                if gain.delta_g <= 0 or self._group(gain, ChangeKind.ADD, set()):
                    continue
                for loss in weights:
                    if loss.delta_g >= 0 or loss.t_start < gain.t_settled:
                        continue
                    if self._group(loss, ChangeKind.REMOVE, set()):
                        continue
                    sigma = reading_sigma(
                        gain.delta_g, self._settings.scale_sigma_g**2, self._settings
                    )
                    if abs(gain.delta_g + loss.delta_g) <= self._settings.fit_sigmas * sigma:
                        weights.remove(gain)
                        weights.remove(loss)
                        changed = True
                        break
                if changed:
                    break
        if len(weights) != len(self._state.weights):
            self._state = replace(self._state, weights=tuple(weights))

    def _expire_observations(
        self, now: float, basket: BasketState, book: ProductBook
    ) -> list[Command]:
        horizon = self._settings.pairing_window_s + self._settings.observation_grace_s
        claimed: set[int] = set()
        for change in self._state.weights:
            claimed |= set(self._group(change, _kind(change), set()))
        keep: list[ItemObservation] = []
        commands: list[Command] = []
        for i, obs in enumerate(self._state.observations):
            if i in claimed or now < obs.t + horizon:
                keep.append(obs)
                continue
            commands += self._unweighed(obs, basket, book, now)
        self._state = replace(
            self._state,
            observations=tuple(keep),
            recent_light=tuple(r for r in self._state.recent_light if now < r.t + 2 * horizon),
        )
        return commands

    def _unweighed(
        self, obs: ItemObservation, basket: BasketState, book: ProductBook, now: float
    ) -> list[Command]:
        """An observation no weight change claimed: held (nothing), or a too-light item."""
        if obs.direction is Direction.HELD:
            return []
        kind = ChangeKind.REMOVE if obs.direction is Direction.OUT_OF else ChangeKind.ADD
        view = view_observation(obs, kind, book, self._settings)
        if not view.masses:
            return []
        sku, mass = view.masses[0]
        product = book.product(sku)
        if product is None or not product.too_light_for_scale:
            if kind is ChangeKind.ADD and obs.direction is Direction.INTO:
                return self._maybe_ask_too_light(view, book, now)
            return []
        if any(
            r.sku == sku
            and r.camera_id != obs.camera_id
            and abs(r.t - obs.t) <= self._settings.pairing_window_s
            for r in self._state.recent_light
        ):
            return []  # another camera's view of an item already confirmed
        decisive = view.barcode is not None or (
            obs.direction is not Direction.UNKNOWN
            and mass >= self._settings.min_confirm_probability
        )
        if not decisive:
            if kind is ChangeKind.ADD and obs.direction is Direction.INTO:
                return self._maybe_ask_too_light(view, book, now)
            return []
        item = Item(sku)
        if kind is ChangeKind.REMOVE:
            line = _newest_line(basket.lines, sku)
            if line is None:
                return []
            item = Item(sku, 1, line_id=line.line_id)
        evidence = self._evidence(view, sku, None, ["too_light_for_scale"], book)
        self._state = replace(
            self._state,
            recent_light=(*self._state.recent_light, RecentLight(sku, obs.t, obs.camera_id)),
        )
        return [self._command(kind, item, evidence, book)]

    def _maybe_ask_too_light(
        self, view: ObservationView, book: ProductBook, now: float
    ) -> list[Command]:
        light = []
        for sku, mass in view.masses:
            product = book.product(sku)
            if product is not None and product.too_light_for_scale:
                light.append((sku, mass))
        if sum(m for _, m in light) < _TOO_LIGHT_ASK_MASS:
            return []  # most likely a heavier item held over the basket: nothing went in
        options = tuple(Outcome((Item(sku),), fits=True) for sku, _ in light)
        context = PromptContext(None, 0.0, (view.observation,))
        return self._open(
            prompts.TOO_LIGHT_UNCLEAR,
            options=options,
            specials=(ch.SCAN, ch.OTHER, ch.NOTHING),
            context=context,
            now=now,
        )

    # -- carrying out --------------------------------------------------------------------------
    def _carry_out(
        self,
        assessment: Assessment,
        ranked: RankedOutcome,
        book: ProductBook,
        basket: BasketState,
    ) -> list[Command]:
        commands: list[Command] = []
        items = ranked.outcome.items
        for item in items:
            if item.own:
                # The shopper's own item came back out: not merchandise, nothing to record.
                own = list(self._state.own_items_g)
                if item.weight_g in own:
                    own.remove(item.weight_g)
                self._state = replace(self._state, own_items_g=tuple(own))
                log.info("own item of %.1f g taken out", item.weight_g or 0.0)
                continue
            if item.withdraws is not None:
                commands.append(Answer(item.withdraws, WITHDRAWN, "system"))
                self._drop_prompt(item.withdraws)
                continue
            view = self._view_for(assessment, ranked, item.sku)
            notes = [f"posterior={ranked.posterior:.4f}"]
            if ranked.best.z is not None:
                notes.append(f"z={ranked.best.z:.2f}")
            others = sorted({i.sku for i in items if i.sku and i.sku != item.sku})
            if others:
                notes.append(f"weighed_with={','.join(others)}")
                notes.append(f"delta_g={assessment.delta_g:.1f}")
            delta = assessment.delta_g if len(items) == 1 else None
            evidence = self._evidence(view, item.sku, delta, notes, book)
            commands.append(self._command(assessment.kind, item, evidence, book, basket))
        return commands

    @staticmethod
    def _view_for(
        assessment: Assessment, ranked: RankedOutcome, sku: str
    ) -> ObservationView | None:
        best: ObservationView | None = None
        for position, view in enumerate(assessment.views):
            key = ranked.best.assignment[position] if ranked.best.assignment else sku
            if sku not in key.split("+"):  # "A+B": one track that held both
                continue
            if best is None or view.mass(sku) > best.mass(sku):
                best = view
        return best

    def _evidence(
        self,
        view: ObservationView | None,
        sku: str,
        delta_g: float | None,
        notes: list[str],
        book: ProductBook,
    ) -> Evidence:
        product = book.product(sku)
        if view is None:
            return Evidence(
                EvidenceSource.SYSTEM, delta_g, note=self._notes(product, ["weight_only", *notes])
            )
        seen = view.seen(sku)
        if view.barcode is not None and view.barcode.product.sku == sku:
            return Evidence(
                EvidenceSource.BARCODE,
                delta_g,
                gtin=view.barcode.gtin14,
                vision_label=seen[1] if seen else None,
                vision_probability=seen[0] if seen else None,
                camera_id=view.observation.camera_id,
                note=self._notes(product, notes),
            )
        return Evidence(
            EvidenceSource.VISION,
            delta_g,
            vision_label=seen[1] if seen else None,
            vision_probability=seen[0] if seen else None,
            camera_id=view.observation.camera_id,
            note=self._notes(product, notes),
        )

    @staticmethod
    def _notes(product: Product | None, notes: list[str]) -> str:
        parts = list(notes)
        if product is not None and product.min_age is not None:
            # Staff check the shopper's age at the exit for every such line.
            parts.append(f"age_check={product.min_age}")
        return "; ".join(parts)

    @staticmethod
    def _command(
        kind: ChangeKind,
        item: Item,
        evidence: Evidence,
        book: ProductBook,
        basket: BasketState | None = None,
    ) -> Confirm:
        product = book.product(item.sku)
        per_kg = product is not None and is_per_kg(product)
        weight = item.weight_g or 0.0
        if kind is ChangeKind.REMOVE and per_kg and basket is not None and item.line_id:
            line = basket.line(item.line_id)
            if line is not None:
                weight = line.weight_g  # a weighed line comes out whole, at its own weight
        return Confirm(
            kind,
            item.sku,
            item.quantity if not per_kg else 1,
            weight if per_kg else 0.0,
            evidence,
            item.line_id,
            item.unit_price_cents,
        )

    # -- prompts -------------------------------------------------------------------------------
    def _ask(
        self,
        assessment: Assessment,
        *,
        change: WeightChange,
        reason: str,
        options: tuple[Outcome, ...],
        basket: BasketState,
        book: ProductBook,
        now: float,
    ) -> list[Command]:
        specials: tuple[str, ...] = (ch.SCAN, ch.OTHER, ch.NOT_MINE)
        if assessment.kind is ChangeKind.ADD and reason == prompts.UNSEEN_ITEM:
            specials = (ch.SHOW, ch.SCAN, ch.OTHER, ch.NOT_MINE)
            options = options + self._another_of(assessment.delta_g, basket, book, options)
        context = PromptContext(
            assessment.kind,
            assessment.delta_g,
            tuple(v.observation for v in assessment.views),
            change,
        )
        return self._open(reason, options=options, specials=specials, context=context, now=now)

    def _another_of(
        self, delta_g: float, basket: BasketState, book: ProductBook, taken: tuple[Outcome, ...]
    ) -> tuple[Outcome, ...]:
        """Per-unit products already in the basket that the unseen weight fits: likely more."""
        found: list[Outcome] = []
        for sku in dict.fromkeys(line.sku for line in basket.lines):
            product = book.product(sku)
            if product is None or is_per_kg(product):
                continue
            quantity = best_quantity(delta_g, book.unit(product), self._settings)
            if quantity is None:
                continue
            outcome = Outcome((Item(sku, quantity[0]),), fits=True)
            if outcome not in taken and outcome not in found:
                found.append(outcome)
        room = max(self._settings.max_choices - len(taken), 0)
        return tuple(found[:room])

    def _open(
        self,
        reason: str,
        *,
        options: tuple[Outcome, ...],
        specials: tuple[str, ...],
        context: PromptContext,
        now: float,
        timeout_s: float | None = None,
    ) -> list[Command]:
        product_choices = tuple(
            ch.encode_choice([_choice(i) for i in o.items]) for o in options if o.offerable
        )
        choices = tuple(dict.fromkeys(product_choices + specials))
        timeout = self._settings.prompt_timeout_s if timeout_s is None else timeout_s
        prompt_id = self._new_id()
        prompt = OpenPrompt(prompt_id, reason, choices, context, now + timeout)
        self._state = replace(self._state, prompts=(*self._state.prompts, prompt))
        return [Ask(reason, choices, prompt_id, timeout)]

    def _open_prompts(self) -> list[OpenPrompt]:
        return list(self._state.prompts)

    def _drop_prompt(self, prompt_id: str) -> None:
        self._state = replace(
            self._state,
            prompts=tuple(p for p in self._state.prompts if p.prompt_id != prompt_id),
            awaiting_scan=tuple(a for a in self._state.awaiting_scan if a != prompt_id),
            awaiting_show=tuple(a for a in self._state.awaiting_show if a != prompt_id),
        )

    def _settle_deferred_scans(self, now: float, book: ProductBook) -> list[Command]:
        """Deferred scans no item claimed within the pairing window: answers, if they fit."""
        commands: list[Command] = []
        keep: list[ItemObservation] = []
        for obs in self._state.deferred_scans:
            pending = any(o is obs for o in self._state.observations)
            if not pending:
                continue  # a weight change took it: it was the next item's
            if now < obs.t + self._settings.pairing_window_s:
                keep.append(obs)
                continue
            observations = tuple(o for o in self._state.observations if o is not obs)
            self._state = replace(self._state, observations=observations)
            waiting = [p for p in self._open_prompts() if ch.SCAN in p.choices]
            commands += self._answer_with_scan(waiting, obs, book) or []
        self._state = replace(self._state, deferred_scans=tuple(keep))
        return commands

    def _housekeep_prompts(self, now: float, basket: BasketState) -> list[Command]:
        open_ids = {p.prompt_id for p in basket.pending_prompts}
        keep: list[OpenPrompt] = []
        commands: list[Command] = []
        for prompt in self._state.prompts:
            expired = now > prompt.deadline and prompt.reason != prompts.STAFF_NEEDED
            if prompt.prompt_id in open_ids and not expired:
                keep.append(replace(prompt, seen_open=True))
            elif prompt.seen_open or now > prompt.deadline:
                # Not answered in time (the engine leaves prompts' deadlines to fusion), or
                # closed without an answer through fusion. The item is still unaccounted for,
                # so staff are called; the staff prompt blocks checkout until answered.
                log.warning("prompt %s (%s) timed out", prompt.prompt_id, prompt.reason)
                if prompt.prompt_id in open_ids:
                    commands.append(Answer(prompt.prompt_id, "timeout", "timeout"))
                prompt_id = self._new_id()
                timeout = self._settings.staff_prompt_timeout_s
                keep.append(
                    replace(
                        prompt,
                        prompt_id=prompt_id,
                        reason=prompts.STAFF_NEEDED,
                        deadline=now + timeout,
                        seen_open=False,
                    )
                )
                commands.append(Ask(prompts.STAFF_NEEDED, prompt.choices, prompt_id, timeout))
            else:
                keep.append(prompt)  # not applied by the engine yet
        self._state = replace(self._state, prompts=tuple(keep))
        return commands

    def _restored(self, pending: PendingPrompt) -> OpenPrompt:
        """A prompt from before a restart: its choices carry all there is to carry out."""
        return OpenPrompt(
            pending.prompt_id,
            pending.reason,
            pending.choices,
            PromptContext(None, 0.0),
            deadline=self._clock.monotonic(),
            seen_open=True,
        )

    def _not_mine(self, prompt: OpenPrompt) -> list[Command]:
        context = prompt.context
        if context.kind is ChangeKind.ADD:
            seen = ""
            if context.observations and context.observations[0].candidates:
                seen = f"; seen as {context.observations[0].candidates[0].label}"
            self._state = replace(
                self._state, own_items_g=(*self._state.own_items_g, context.delta_g)
            )
            return [Tare(context.delta_g, f"shopper's own item (prompt {prompt.prompt_id}{seen})")]
        if context.kind is ChangeKind.REMOVE:
            own = list(self._state.own_items_g)
            closest = min(own, key=lambda w: abs(w + context.delta_g), default=None)
            if closest is not None:
                own.remove(closest)
                self._state = replace(self._state, own_items_g=tuple(own))
        return []

    def _answer_by_scan(
        self, waiting: list[OpenPrompt], obs: ItemObservation, book: ProductBook
    ) -> tuple[list[Command], bool]:
        """A scan answers the open prompt its product fits; else the oldest is asked again.

        Returns the commands and whether the scan answered a prompt.
        """
        answered = self._answer_with_scan(waiting, obs, book)
        if answered is not None:
            return answered, True
        prompt = waiting[0]
        self._drop_prompt(prompt.prompt_id)
        reason = (
            prompts.REMOVAL_MISMATCH
            if prompt.context.kind is ChangeKind.REMOVE
            else prompts.BARCODE_MISMATCH
        )
        commands: list[Command] = [Answer(prompt.prompt_id, ch.SCAN, "scan")]
        context = replace(prompt.context, observations=(*prompt.context.observations, obs))
        return commands + self._ask_again(prompt, reason, context, self._clock.monotonic()), False

    def _answer_with_scan(
        self, waiting: list[OpenPrompt], obs: ItemObservation, book: ProductBook
    ) -> list[Command] | None:
        """The answer and its confirms for the first of ``waiting`` the scan fits, or None."""
        basket = self._basket
        assert basket is not None
        for prompt in waiting:
            outcome = self._try(prompt, obs, basket, book, placed=1.0)
            if outcome is not None:
                self._drop_prompt(prompt.prompt_id)
                return [Answer(prompt.prompt_id, ch.SCAN, "scan"), *outcome]
        return None

    def _answer_by_showing(self, obs: ItemObservation, book: ProductBook) -> list[Command]:
        """An item shown to the camera while an unseen-item prompt is open may answer it.

        An item held up (or of unknown direction) is a showing once the shopper tapped "show
        it" — before that, an item held over the basket is just that (looked at, maybe put
        back). Any item answers if vision reports it late, within the pairing window of the
        prompt's weight change; one seen going in later is the next item, with its own weight
        change to come.
        """
        if obs.direction is Direction.OUT_OF or self._basket is None:
            return []
        for prompt in self._state.prompts:
            if ch.SHOW not in prompt.choices:
                continue
            change = prompt.context.change
            late = change is not None and (
                change.t_start - self._settings.pairing_window_s
                <= obs.t
                <= change.t_settled + self._settings.pairing_window_s
            )
            asked = prompt.prompt_id in self._state.awaiting_show
            if not late and (obs.direction is Direction.INTO or not asked):
                continue
            outcome = self._try(prompt, obs, self._basket, book, placed=1.0)
            if outcome is not None:
                self._drop_prompt(prompt.prompt_id)
                return [Answer(prompt.prompt_id, ch.SHOW, "vision"), *outcome]
        return []

    def _try(
        self,
        prompt: OpenPrompt,
        obs: ItemObservation,
        basket: BasketState,
        book: ProductBook,
        placed: float,
    ) -> list[Command] | None:
        """The commands if ``obs`` (a scan or a shown item) decisively explains the prompt."""
        context = prompt.context
        note = f"answer to prompt {prompt.prompt_id} ({prompt.reason})"
        if context.kind is None:
            # A too-light item's prompt: only a scan of a too-light product settles it.
            if obs.barcode is None:
                return None
            match = book.resolve(obs.barcode.gtin or "")
            if match is None or not match.product.too_light_for_scale:
                return None
            view = view_observation(obs, ChangeKind.ADD, book, self._settings, placed)
            evidence = self._evidence(view, match.product.sku, None, [note], book)
            return [self._command(ChangeKind.ADD, Item(match.product.sku), evidence, book)]
        view = view_observation(obs, context.kind, book, self._settings, placed)
        assessment = self._assess(context.delta_g, [view], basket, book)
        result = verdict(assessment, self._settings)
        if result.confirm is None:
            return None
        scanned = view.barcode
        if scanned is not None and result.confirm.outcome.skus != {scanned.product.sku}:
            return None
        commands = self._carry_out(assessment, result.confirm, book, basket)
        return [_with_note(c, note) for c in commands]

    # -- helpers -------------------------------------------------------------------------------
    def _remember(self, basket: BasketState | None) -> None:
        if basket is None:
            return
        previous = self._basket
        self._basket = basket
        if (
            (previous is None or previous.session_id != basket.session_id)
            and basket.tare_g > 0
            and not self._state.own_items_g
        ):
            # A session restored after a restart: its tare is the shopper's own things, and
            # taking them out again must be recognised. The single weights are not on record
            # (the basket keeps their sum), so the tare comes back as one item; a bag taken
            # out alone is then asked about once ("this is mine").
            self._state = replace(self._state, own_items_g=(basket.tare_g,))

    def _book(self) -> ProductBook:
        return ProductBook(self._catalog, self._settings)


def _beyond_seen(ranked: RankedOutcome) -> bool:
    """Whether the outcome holds more units than observations it was given (counted by weight)."""
    seen = sum(1 for key in ranked.best.assignment if key not in (NOT_PLACED, OTHER))
    units = sum(1 if i.weight_g is not None else i.quantity for i in ranked.outcome.items)
    return units > seen


def _choice(item: Item) -> ch.ChoiceItem:
    return ch.ChoiceItem(
        item.sku, item.quantity, item.weight_g, item.unit_price_cents, item.line_id
    )


def _item(choice: ch.ChoiceItem) -> Item:
    return Item(
        choice.sku, choice.quantity, choice.weight_g, choice.unit_price_cents, choice.line_id
    )


def _newest_line(lines: Sequence[BasketLine], sku: str) -> BasketLine | None:
    return next((line for line in reversed(lines) if line.sku == sku), None)


def _with_note(command: Command, note: str) -> Command:
    if isinstance(command, Confirm) and command.evidence is not None:
        evidence = command.evidence
        joined = f"{evidence.note}; {note}" if evidence.note else note
        return replace(command, evidence=replace(evidence, note=joined))
    return command
