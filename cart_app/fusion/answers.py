"""Answers that are not a tap on a product: a scan, an item shown to a camera, "not mine".

A scan answers the open prompt its product fits (or, when nobody tapped "scan it", first waits
to see whether it was the next item's: a deferred scan); an item held up to a camera answers an
unseen-item prompt. Either is assessed against the prompt's weight change like any other
evidence and answers only when the verdict is decisive. "Not mine" tares the item as the
shopper's own (or, for a removal, forgets the own item that came out).
"""

from __future__ import annotations

from dataclasses import replace

from cart_app.basket import BasketState
from cart_app.events import Answer, ChangeKind, Command, Tare
from cart_app.fusion import choices as ch
from cart_app.fusion import prompts
from cart_app.fusion.asking import PromptDesk
from cart_app.fusion.book import ProductBook
from cart_app.fusion.charging import Charger, confirm_for, evidence_for, with_note
from cart_app.fusion.hypotheses import Item
from cart_app.fusion.pairing import assess
from cart_app.fusion.state import FuserCore, OpenPrompt
from cart_app.fusion.verdicts import verdict
from cart_app.fusion.views import view_observation
from vision.types import Direction, ItemObservation


class AnswerDesk:
    """Answers prompts by scan, by showing and by "not mine"."""

    def __init__(self, core: FuserCore, desk: PromptDesk, charger: Charger) -> None:
        """An answer desk over ``core``'s prompts, asking again through ``desk``."""
        self._core = core
        self._settings = core.settings
        self._desk = desk
        self._charger = charger

    def not_mine(self, prompt: OpenPrompt) -> list[Command]:
        """ "Not mine": an added item is the shopper's own; a removed one was."""
        context = prompt.context
        if context.kind is ChangeKind.ADD:
            seen = ""
            if context.observations and context.observations[0].candidates:
                seen = f"; seen as {context.observations[0].candidates[0].label}"
            self._core.state = replace(
                self._core.state, own_items_g=(*self._core.state.own_items_g, context.delta_g)
            )
            return [Tare(context.delta_g, f"shopper's own item (prompt {prompt.prompt_id}{seen})")]
        if context.kind is ChangeKind.REMOVE:
            own = list(self._core.state.own_items_g)
            closest = min(own, key=lambda w: abs(w + context.delta_g), default=None)
            if closest is not None:
                own.remove(closest)
                self._core.state = replace(self._core.state, own_items_g=tuple(own))
        return []

    def by_scan(
        self, waiting: list[OpenPrompt], obs: ItemObservation, book: ProductBook
    ) -> tuple[list[Command], bool]:
        """A scan answers the open prompt its product fits; else the oldest is asked again.

        Returns the commands and whether the scan answered a prompt.
        """
        answered = self._with_scan(waiting, obs, book)
        if answered is not None:
            return answered, True
        prompt = waiting[0]
        self._core.drop_prompt(prompt.prompt_id)
        reason = (
            prompts.REMOVAL_MISMATCH
            if prompt.context.kind is ChangeKind.REMOVE
            else prompts.BARCODE_MISMATCH
        )
        commands: list[Command] = [Answer(prompt.prompt_id, ch.SCAN, "scan")]
        context = replace(prompt.context, observations=(*prompt.context.observations, obs))
        again = self._desk.ask_again(prompt, reason, context, self._core.clock.monotonic())
        return commands + again, False

    def settle_deferred_scans(self, now: float, book: ProductBook) -> list[Command]:
        """Deferred scans no item claimed within the pairing window: answers, if they fit."""
        commands: list[Command] = []
        keep: list[ItemObservation] = []
        for obs in self._core.state.deferred_scans:
            pending = any(o is obs for o in self._core.state.observations)
            if not pending:
                continue  # a weight change took it: it was the next item's
            if now < obs.t + self._settings.pairing_window_s:
                keep.append(obs)
                continue
            observations = tuple(o for o in self._core.state.observations if o is not obs)
            self._core.state = replace(self._core.state, observations=observations)
            waiting = [p for p in self._desk.open_prompts() if ch.SCAN in p.choices]
            commands += self._with_scan(waiting, obs, book) or []
        self._core.state = replace(self._core.state, deferred_scans=tuple(keep))
        return commands

    def _with_scan(
        self, waiting: list[OpenPrompt], obs: ItemObservation, book: ProductBook
    ) -> list[Command] | None:
        """The answer and its confirms for the first of ``waiting`` the scan fits, or None."""
        basket = self._core.basket
        assert basket is not None
        for prompt in waiting:
            outcome = self._try(prompt, obs, basket, book, placed=1.0)
            if outcome is not None:
                self._core.drop_prompt(prompt.prompt_id)
                return [Answer(prompt.prompt_id, ch.SCAN, "scan"), *outcome]
        return None

    def by_showing(self, obs: ItemObservation, book: ProductBook) -> list[Command]:
        """An item shown to the camera while an unseen-item prompt is open may answer it.

        An item held up (or of unknown direction) is a showing once the shopper tapped "show
        it" — before that, an item held over the basket is just that (looked at, maybe put
        back). Any item answers if vision reports it late, within the pairing window of the
        prompt's weight change; one seen going in later is the next item, with its own weight
        change to come.
        """
        basket = self._core.basket
        if obs.direction is Direction.OUT_OF or basket is None:
            return []
        for prompt in self._core.state.prompts:
            if ch.SHOW not in prompt.choices:
                continue
            change = prompt.context.change
            late = change is not None and (
                change.t_start - self._settings.pairing_window_s
                <= obs.t
                <= change.t_settled + self._settings.pairing_window_s
            )
            asked = prompt.prompt_id in self._core.state.awaiting_show
            if not late and (obs.direction is Direction.INTO or not asked):
                continue
            outcome = self._try(prompt, obs, basket, book, placed=1.0)
            if outcome is not None:
                self._core.drop_prompt(prompt.prompt_id)
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
            evidence = evidence_for(view, match.product.sku, None, [note], book)
            return [confirm_for(ChangeKind.ADD, Item(match.product.sku), evidence, book)]
        view = view_observation(obs, context.kind, book, self._settings, placed)
        assessment = assess(
            context.delta_g,
            [view],
            state=self._core.state,
            basket=basket,
            book=book,
            settings=self._settings,
        )
        result = verdict(assessment, self._settings)
        if result.confirm is None:
            return None
        scanned = view.barcode
        if scanned is not None and result.confirm.outcome.skus != {scanned.product.sku}:
            return None
        commands = self._charger.carry_out(assessment, result.confirm, book, basket)
        return [with_note(c, note) for c in commands]
