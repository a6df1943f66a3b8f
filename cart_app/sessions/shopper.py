"""Who answers the cart's prompts during a replay.

A recorded session carries the real shopper's answers in its inputs; nothing more is needed
(:class:`NoResponder`). A generated trip cannot: its prompts exist only once the replay raises
them. :class:`TruthShopper` plays the shopper from the trip's truth, as an honest shopper would:

- a prompt is matched to the physical action it is about (by the time of its weight change, or
  of its observation for an item too light for the scale);
- after ``reaction_s`` the shopper taps the product choice that is what really went in or came
  out; "this is mine" for their own bag; "nothing went in" (or "this is mine") when nothing did;
- with no true choice on offer: "scan it" and a scan of the item's own barcode, or "show it" for
  an item dropped in unseen (the trip holds it up to the camera a little later), else
  "something else" and the true products found by name (once per action: asked again, they
  let it go to staff, who name it too);
- a prompt nobody could answer times out into a staff prompt, which staff answer after
  ``staff_reaction_s`` from the same rules; one they cannot answer stays open and blocks
  checkout (the trip then fails: that is a finding, not something to paper over);
- a checkout refused because a prompt was open is tried again once no prompt is open.

An adversary's only dishonesty is physical (a swapped label, scanned; an item dropped in
unseen). When caught, they answer truthfully: the benchmark measures whether the cart catches
the move, not whether a caught shopper lies twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Protocol

from cart_app.basket import BasketState, PendingPrompt
from cart_app.fusion import (
    NOT_MINE,
    NOTHING,
    OTHER,
    SCAN,
    SHOW,
    ChoiceItem,
    FusionState,
    OpenPrompt,
    decode_choice,
    encode_choice,
)
from cart_app.fusion.prompts import STAFF_NEEDED
from cart_app.sessions.inputs import AnswerInput, CheckoutInput, ScanInput, SessionInput
from cart_app.sessions.sim.plan import SHOW_DELAY_S, SHOW_DURATION_S
from cart_app.sessions.truth import Action, Truth, TruthItem
from vision.gtin import normalize_gtin


@dataclass(frozen=True, slots=True)
class Scheduled:
    """An input to deliver at ``t`` (``None``: only wake the replay at ``t``)."""

    t: float
    item: SessionInput | None


class Responder(Protocol):
    """Reacts to the cart during a replay."""

    def observe(self, now: float, basket: BasketState, fusion: FusionState) -> list[Scheduled]:
        """Called after every step of the replay; returns inputs to deliver later."""
        ...

    def checkout_refused(self, now: float) -> None:
        """A checkout request was refused (a prompt is open)."""
        ...

    def action_of(self, prompt_id: str) -> int | None:
        """The truth action a prompt was matched to, if any."""
        ...


class NoResponder:
    """A recorded session's inputs already hold every answer."""

    def observe(self, now: float, basket: BasketState, fusion: FusionState) -> list[Scheduled]:
        """Nothing to add."""
        return []

    def checkout_refused(self, now: float) -> None:
        """The recorded shopper did whatever they did next; it is in the inputs."""

    def action_of(self, prompt_id: str) -> int | None:
        """Recorded sessions have no truth."""
        return None


@dataclass(frozen=True, slots=True)
class ShopperSettings:
    """How quickly the simulated people react."""

    reaction_s: float = 2.0
    staff_reaction_s: float = 20.0
    checkout_retry_s: float = 1.0
    match_window_s: float = 3.0
    """A prompt's weight change and an action this far apart (or less) may be the same."""


_SAME_G = 5.0
"""Weights of two sets of items this close are equally likely to be what the scale weighed."""


def _close(a_g: float, b_g: float) -> bool:
    """Two weights a shopper would call the same item's: within 15 g or 3 %."""
    return abs(a_g - b_g) <= max(15.0, 0.03 * max(a_g, b_g))


class TruthShopper:
    """The honest shopper (and staff) of a generated trip; see the module docstring."""

    def __init__(
        self,
        truth: Truth,
        gtins: dict[str, str],
        per_kg: frozenset[str],
        settings: ShopperSettings | None = None,
    ) -> None:
        self._truth = truth
        self._gtins = gtins
        self._per_kg = per_kg
        self._s = settings or ShopperSettings()
        self._seen: set[str] = set()
        self._matched: dict[str, int | None] = {}
        self._named: set[int] = set()
        self._shown: dict[str, tuple[float, Action]] = {}
        """Prompts answered "show it": when to look again, and the action they are about."""
        """Actions the shopper already named through "something else" (asked again: staff)."""
        self._want_checkout = False

    def action_of(self, prompt_id: str) -> int | None:
        """The action a prompt was matched to."""
        return self._matched.get(prompt_id)

    def checkout_refused(self, now: float) -> None:
        """Try again once no prompt is open."""
        self._want_checkout = True

    def observe(self, now: float, basket: BasketState, fusion: FusionState) -> list[Scheduled]:
        """Answer new prompts; retry a refused checkout when the basket allows it."""
        out: list[Scheduled] = []
        for pending in basket.pending_prompts:
            shown = self._shown.get(pending.prompt_id)
            if shown is not None and now >= shown[0]:
                # Shown to the camera, and still asked: the camera was not sure. Name it.
                del self._shown[pending.prompt_id]
                if OTHER in pending.choices:
                    at = round(now + self._s.reaction_s, 6)
                    answer = self._name(shown[1].items)
                    out.append(Scheduled(at, self._tap(pending, answer, at, "shopper")))
            if pending.prompt_id in self._seen:
                continue
            self._seen.add(pending.prompt_id)
            context = next((p for p in fusion.prompts if p.prompt_id == pending.prompt_id), None)
            action = self._match(context)
            self._matched[pending.prompt_id] = action.id if action else None
            out += self._answer(now, pending, action, context)
        if self._want_checkout and not basket.pending_prompts:
            self._want_checkout = False
            retry = CheckoutInput(kind="checkout", t=round(now + self._s.checkout_retry_s, 6))
            out.append(Scheduled(retry.t, retry))
        return out

    # -- matching ------------------------------------------------------------------------------
    def _match(self, prompt: OpenPrompt | None) -> Action | None:
        if prompt is None:
            return None
        window = self._s.match_window_s
        change = prompt.context.change
        best: tuple[float, Action] | None = None
        for action in self._truth.actions:
            if change is not None:
                if action.t_weight is None or action.t_settle is None:
                    continue
                if (action.delta_g > 0) != (change.delta_g > 0):
                    continue
                if not self._true_sets(action, change.delta_g) and action.kind != "own_item":
                    continue  # not what this action weighed: a lean, or someone else's doing
                gap = max(action.t_weight - change.t_settled, change.t_start - action.t_settle, 0.0)
                gap += abs(abs(action.delta_g) - abs(change.delta_g)) / 1000.0
            elif prompt.context.observations:
                t = prompt.context.observations[0].t
                gap = max(action.t_start - t, t - (action.t_settle or action.t_start + 3.0), 0.0)
            else:
                continue
            if gap <= window and (best is None or gap < best[0]):
                best = (gap, action)
        return best[1] if best else None

    def _true_sets(self, action: Action, delta_g: float) -> list[tuple[TruthItem, ...]]:
        """What the prompt may be about: the whole action or, when the scale split two items
        put in together, the one whose weight the prompt's change is."""
        sets = [action.items] + ([(i,) for i in action.items] if len(action.items) > 1 else [])
        weighed = abs(delta_g)
        close = [
            (abs(total - weighed), s)
            for s in sets
            if _close(total := sum(i.weight_g or 0.0 for i in s), weighed)
        ]
        if not close:
            return []
        # A melon (1,044 g) and a milk (1,059 g) put in together and weighed apart: the
        # 1,059 g prompt is about the milk, not "close enough" to the melon.
        best = min(gap for gap, _ in close)
        return [s for gap, s in close if gap <= best + _SAME_G]

    def _choice_for(self, choices: tuple[str, ...], items: tuple[TruthItem, ...]) -> str | None:
        """The choice that is exactly ``items``: products, counts, and a weighing's weight."""
        wanted = Counter({i.sku: (1 if i.sku in self._per_kg else i.quantity) for i in items})
        weights = {i.sku: i.weight_g for i in items if i.sku in self._per_kg}
        for choice in choices:
            if choice.startswith(":"):
                continue
            offered: Counter[str] = Counter()
            right_weights = True
            for item in decode_choice(choice):
                offered[item.sku] += 1 if item.sku in self._per_kg else item.quantity
                true_g = weights.get(item.sku)
                if item.weight_g is not None and true_g is not None:
                    right_weights &= _close(item.weight_g, true_g)
            if offered == wanted and right_weights:
                return choice
        return None

    # -- answering -----------------------------------------------------------------------------
    def _answer(
        self,
        now: float,
        pending: PendingPrompt,
        action: Action | None,
        prompt: OpenPrompt | None,
    ) -> list[Scheduled]:
        staff = pending.reason == STAFF_NEEDED
        delay = self._s.staff_reaction_s if staff else self._s.reaction_s
        at = round(now + delay, 6)
        by = "staff" if staff else "shopper"
        choices = pending.choices

        def tap(answer: str) -> list[Scheduled]:
            return [Scheduled(at, self._tap(pending, answer, at, by))]

        if action is None or action.kind in ("own_item", "held"):
            # Nothing of the shop's went in: a bag is "mine", a phantom is "nothing" or "mine".
            order = (
                (NOTHING, NOT_MINE)
                if action is not None and action.kind == "held"
                else (
                    NOT_MINE,
                    NOTHING,
                )
            )
            special = next((c for c in order if c in choices), None)
            return tap(special) if special else self._give_up(prompt, staff)
        delta = prompt.context.delta_g if prompt is not None else action.delta_g
        for items in self._true_sets(action, delta):
            choice = self._choice_for(choices, items)
            if choice is not None:
                return tap(choice)
        single = action.items[0] if len(action.items) == 1 else None
        gtin = self._gtins.get(single.sku) if single else None
        if SCAN in choices and gtin and action.label_gtin is None and not staff:
            scan = ScanInput(
                kind="scan",
                t=round(at + 1.0, 6),
                symbology={8: "ean8", 12: "upca"}.get(len(gtin), "ean13"),
                text=gtin,
                gtin=normalize_gtin(gtin),
            )
            return [*tap(SCAN), Scheduled(scan.t, scan)]
        if SHOW in choices and not action.seen and not staff:
            # The trip holds the item up to the camera shortly; if the cart still asks once
            # the camera has had its look, the shopper names the item.
            shown = (action.t_weight or at) + SHOW_DELAY_S + SHOW_DURATION_S + self._s.reaction_s
            due = round(max(at, shown), 6)
            self._shown[pending.prompt_id] = (due, action)
            return [*tap(SHOW), Scheduled(due, None)]
        if OTHER in choices and (staff or action.id not in self._named):
            # "Something else": find what really went in (or came out) by name and say so;
            # the shopper knows the products and counts, never the weights.
            self._named.add(action.id)
            sets = self._true_sets(action, delta) or [action.items]
            return tap(self._name(sets[0]))
        return self._give_up(prompt, staff)

    @staticmethod
    def _tap(pending: PendingPrompt, answer: str, at: float, by: str) -> AnswerInput:
        return AnswerInput(
            kind="answer", t=at, answer=answer, answered_by=by, prompt_reason=pending.reason
        )

    def _name(self, items: tuple[TruthItem, ...]) -> str:
        """The product choice a shopper makes in the search: products and unit counts."""
        named = [
            ChoiceItem(i.sku, 1 if i.sku in self._per_kg else max(i.quantity, 1)) for i in items
        ]
        return encode_choice(named)

    @staticmethod
    def _give_up(prompt: OpenPrompt | None, staff: bool) -> list[Scheduled]:
        """No honest answer on offer: let the prompt time out into a staff prompt (the replay
        is woken for it); a staff prompt nobody can answer stays open."""
        if staff or prompt is None:
            return []
        return [Scheduled(round(prompt.deadline + 0.2, 6), None)]
