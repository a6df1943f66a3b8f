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

The :class:`Fuser` takes the events and runs the decision loop; the work is done by its
collaborators, which share one :class:`~cart_app.fusion.state.FuserCore`: deciding weight
changes (:mod:`~cart_app.fusion.decisions`, with :mod:`~cart_app.fusion.pairing`), opening
prompts (:mod:`~cart_app.fusion.asking`), answers by scan or showing
(:mod:`~cart_app.fusion.answers`), confirms and their evidence
(:mod:`~cart_app.fusion.charging`) and observations no weight claimed
(:mod:`~cart_app.fusion.unclaimed`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import replace

from cart_app.basket import BasketState
from cart_app.clock import Clock
from cart_app.events import Answer, ChangeKind, Command, ReopenShopping
from cart_app.fusion import choices as ch
from cart_app.fusion import prompts
from cart_app.fusion.answers import AnswerDesk
from cart_app.fusion.asking import PromptDesk
from cart_app.fusion.book import FusionCatalog, ProductBook
from cart_app.fusion.charging import Charger
from cart_app.fusion.decisions import OWN_BAG_LABEL, WeightDecider
from cart_app.fusion.named import check_named
from cart_app.fusion.pairing import cancel_pairs, withdraws
from cart_app.fusion.settings import FusionSettings
from cart_app.fusion.state import (
    WITHDRAWN,
    FuserCore,
    FusionState,
    OpenPrompt,
    PromptContext,
)
from cart_app.fusion.unclaimed import UnclaimedObservations
from cart_app.fusion.views import SCANNER_CAMERA
from cart_app.session import SessionState
from scale.types import WeightChange
from vision.types import BarcodeRead, Direction, ItemObservation

__all__ = [
    "OWN_BAG_LABEL",
    "WITHDRAWN",
    "Fuser",
    "FusionState",
    "OpenPrompt",
    "PromptContext",
]

log = logging.getLogger(__name__)

_ACTIVE = frozenset({SessionState.SHOPPING, SessionState.CHECKOUT, SessionState.HANDED_OFF})
"""States in which weight changes are merchandise; checkout and handed-off reopen shopping."""
_FROZEN = frozenset({SessionState.CHECKOUT, SessionState.HANDED_OFF})


def _default_id() -> str:
    return uuid.uuid4().hex


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
        self._core = FuserCore(catalog, settings, clock, new_id)
        self._settings = settings
        self._clock = clock
        self._desk = PromptDesk(self._core)
        self._charger = Charger(self._core)
        self._answers = AnswerDesk(self._core, self._desk, self._charger)
        self._decider = WeightDecider(self._core, self._desk, self._charger)
        self._unclaimed = UnclaimedObservations(self._core, self._desk)

    @property
    def state(self) -> FusionState:
        """What fusion holds pending (for logs, tests and the debug screen)."""
        return self._core.state

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
        book = self._core.book()
        shown = self._answers.by_showing(obs, book)
        if shown:
            return shown + self._process(now, book)
        revised = self._decider.revise(obs, now, book)
        if revised:
            return revised + self._process(now, book)
        core = self._core
        core.state = replace(core.state, observations=(*core.state.observations, obs))
        return self._process(now, book)

    def on_weight_change(self, change: WeightChange, basket: BasketState) -> list[Command]:
        """A settled change of the basket's weight."""
        self._remember(basket)
        core = self._core
        if basket.state not in _ACTIVE or change.delta_g == 0:
            # Idle, done, locked or in maintenance: there is no open basket to charge to.
            log.info("weight change of %.1f g ignored while %s", change.delta_g, basket.state)
            return []
        undone = next((w for w in core.state.weights if withdraws(change, w)), None)
        if undone is not None:
            # The scale withdrew an increase that fusion has not decided yet (a lean on the
            # handle, an item put back at once): nothing happened, whatever was seen meanwhile.
            weights = tuple(w for w in core.state.weights if w is not undone)
            core.state = replace(core.state, weights=weights)
            return self._process(self._clock.monotonic(), core.book())
        asked = next(
            (
                p
                for p in core.state.prompts
                if p.context.change is not None
                and not p.context.observations
                and withdraws(change, p.context.change)
            ),
            None,
        )
        if asked is not None:
            # The scale withdrew an increase nobody saw go in, which fusion already asked
            # about (a lean on the handle): the question is moot. A gain the cameras saw is an
            # item; its "mirror" is as likely another item of its weight coming out, and is
            # decided as a removal (the unresolved item among the things that may have left).
            core.drop_prompt(asked.prompt_id)
            withdrawn: list[Command] = [Answer(asked.prompt_id, WITHDRAWN, "system")]
            return withdrawn + self._process(self._clock.monotonic(), core.book())
        commands: list[Command] = []
        if basket.state in _FROZEN:
            # The basket is frozen during checkout: any weight change reopens shopping (and
            # invalidates a handoff) before anything is decided about it.
            commands.append(ReopenShopping(f"weight changed by {change.delta_g:+.1f} g"))
        core.state = replace(core.state, weights=(*core.state.weights, change))
        return commands + self._process(self._clock.monotonic(), core.book())

    def on_scan(self, barcode: BarcodeRead, basket: BasketState | None = None) -> list[Command]:
        """A barcode read by the basket scanner: answers an open prompt, else is evidence."""
        self._remember(basket)
        if barcode.gtin is None:
            return []  # not a product code (coupons and app codes are the app's business)
        core = self._core
        book = core.book()
        now = self._clock.monotonic()
        match = book.resolve(barcode.gtin)
        waiting = [p for p in self._desk.open_prompts() if ch.SCAN in p.choices]
        if waiting and match is None:
            log.info("scan %s answers nothing: unknown product", barcode.gtin)
            return []
        obs = ItemObservation(SCANNER_CAMERA, Direction.UNKNOWN, (), barcode, now)
        awaiting = [p for p in waiting if p.prompt_id in core.state.awaiting_scan]
        if awaiting:
            answered, fitted = self._answers.by_scan(awaiting, obs, book)
            if not fitted:
                # It may also be the next item, scanned before it goes in.
                core.state = replace(core.state, observations=(*core.state.observations, obs))
            return answered + self._process(now, book)
        # Nobody tapped "scan it": a scan while a question is open is as likely the next item,
        # scanned before it goes in (a shopper scanning a swapped label does just that). It is
        # evidence for the next item first, and answers the question only if no item follows.
        deferred = core.state.deferred_scans + ((obs,) if waiting else ())
        core.state = replace(
            core.state, observations=(*core.state.observations, obs), deferred_scans=deferred
        )
        return self._process(now, book)

    def on_answer(
        self, prompt_id: str, answer: str, basket: BasketState, answered_by: str = "shopper"
    ) -> list[Command]:
        """The shopper (or staff) chose ``answer`` on prompt ``prompt_id``."""
        self._remember(basket)
        core = self._core
        book = core.book()
        now = self._clock.monotonic()
        prompt = next((p for p in core.state.prompts if p.prompt_id == prompt_id), None)
        if prompt is None:
            restored = next((p for p in basket.pending_prompts if p.prompt_id == prompt_id), None)
            if restored is None:
                return []
            prompt = self._desk.restored(restored)
        if not ch.accepts(prompt.choices, answer):
            log.warning("answer %r is not a choice of prompt %s", answer, prompt_id)
            return []
        if answer == ch.SCAN:
            core.state = replace(
                core.state, awaiting_scan=(*core.state.awaiting_scan, prompt.prompt_id)
            )
            return []  # the scan answers
        if answer == ch.SHOW:
            core.state = replace(
                core.state, awaiting_show=(*core.state.awaiting_show, prompt.prompt_id)
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
            commands += self._answers.not_mine(prompt)
        elif answer != ch.NOTHING:
            note = f"answer to prompt {prompt_id} ({prompt.reason})"
            commands += self._charger.carry_out_choice(
                prompt, ch.decode_choice(answer), basket, book, answered_by=answered_by, note=note
            )
        core.drop_prompt(prompt_id)
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
        self._core.drop_prompt(prompt.prompt_id)
        note = f"answer to prompt {prompt.prompt_id} ({prompt.reason}); named"
        if checked.fits or (answered_by == "staff" and checked.valid):
            if not checked.fits:
                note += f"; weight_unchecked={checked.problem}"
            commands += self._charger.carry_out_choice(
                prompt, checked.items, basket, book, answered_by=answered_by, note=note
            )
            return commands + self._process(now, book)
        log.info("named answer %r does not fit: %s", answer, checked.problem)
        reason = (
            prompts.REMOVAL_MISMATCH
            if context.kind is ChangeKind.REMOVE
            else prompts.WEIGHT_MISMATCH
        )
        return commands + self._desk.ask_again(prompt, reason, context, now)

    def tick(self, now: float, basket: BasketState) -> list[Command]:
        """Let time pass: decide what waited long enough, expire observations and prompts."""
        self._remember(basket)
        return self._process(now, self._core.book())

    # -- the decision loop -------------------------------------------------------------------
    def _process(self, now: float, book: ProductBook) -> list[Command]:
        core = self._core
        basket = core.basket
        if basket is None:
            return []
        if basket.state in (SessionState.IDLE, SessionState.DONE):
            # No open session: nothing pending can be charged any more.
            core.state = FusionState()
            return []
        if basket.state not in _ACTIVE:
            return []  # locked or in maintenance: staff are in charge; keep what is pending
        commands = self._desk.housekeep(now, basket)
        core.state = cancel_pairs(core.state, self._settings)
        commands += self._decider.decide(now, basket, book)
        if core.state.deferred_scans:
            commands += self._answers.settle_deferred_scans(now, book)
        commands += self._unclaimed.expire(now, basket, book)
        return commands

    def _remember(self, basket: BasketState | None) -> None:
        if basket is None:
            return
        core = self._core
        previous = core.basket
        core.basket = basket
        if (
            (previous is None or previous.session_id != basket.session_id)
            and basket.tare_g > 0
            and not core.state.own_items_g
        ):
            # A session restored after a restart: its tare is the shopper's own things, and
            # taking them out again must be recognised. The single weights are not on record
            # (the basket keeps their sum), so the tare comes back as one item; a bag taken
            # out alone is then asked about once ("this is mine").
            core.state = replace(core.state, own_items_g=(basket.tare_g,))
