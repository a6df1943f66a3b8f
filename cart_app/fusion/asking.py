"""Opening prompts and keeping them: the questions fusion asks and their time-outs.

A prompt offers the outcomes that fit (as encoded choices) and the special choices ("scan it",
"show it", "something else", "not mine", "nothing"). Fusion keeps every prompt it opened until
it is answered through the fuser; one the engine times out, or that is not answered in time,
becomes a staff prompt.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from cart_app.basket import BasketState, PendingPrompt
from cart_app.events import Answer, Ask, ChangeKind, Command
from cart_app.fusion import choices as ch
from cart_app.fusion import prompts
from cart_app.fusion.book import ProductBook
from cart_app.fusion.hypotheses import Assessment, Item, Outcome
from cart_app.fusion.state import FuserCore, OpenPrompt, PromptContext
from cart_app.fusion.weights import best_quantity, is_per_kg
from scale.types import WeightChange

log = logging.getLogger(__name__)


class PromptDesk:
    """Opens prompts in the shared state, and times them out."""

    def __init__(self, core: FuserCore) -> None:
        """A desk that keeps its prompts in ``core``'s state."""
        self._core = core
        self._settings = core.settings

    def ask(
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
        """Ask about an undecided weight change, offering ``options``."""
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
        return self.open(reason, options=options, specials=specials, context=context, now=now)

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

    def open(
        self,
        reason: str,
        *,
        options: tuple[Outcome, ...],
        specials: tuple[str, ...],
        context: PromptContext,
        now: float,
        timeout_s: float | None = None,
    ) -> list[Command]:
        """Open a prompt with the offerable ``options`` and ``specials`` as its choices."""
        product_choices = tuple(
            ch.encode_choice([choice_of(i) for i in o.items]) for o in options if o.offerable
        )
        choices = tuple(dict.fromkeys(product_choices + specials))
        timeout = self._settings.prompt_timeout_s if timeout_s is None else timeout_s
        prompt_id = self._core.new_id()
        prompt = OpenPrompt(prompt_id, reason, choices, context, now + timeout)
        self._core.state = replace(self._core.state, prompts=(*self._core.state.prompts, prompt))
        return [Ask(reason, choices, prompt_id, timeout)]

    def ask_again(
        self, prompt: OpenPrompt, reason: str, context: PromptContext, now: float
    ) -> list[Command]:
        """A new prompt with ``prompt``'s choices (an answer that did not fit it)."""
        prompt_id = self._core.new_id()
        timeout = self._settings.prompt_timeout_s
        again = OpenPrompt(prompt_id, reason, prompt.choices, context, now + timeout)
        self._core.state = replace(self._core.state, prompts=(*self._core.state.prompts, again))
        return [Ask(reason, prompt.choices, prompt_id, timeout)]

    def open_prompts(self) -> list[OpenPrompt]:
        """The prompts fusion opened and has not seen answered."""
        return list(self._core.state.prompts)

    def housekeep(self, now: float, basket: BasketState) -> list[Command]:
        """Note the prompts the basket lists; call staff for those not answered in time."""
        open_ids = {p.prompt_id for p in basket.pending_prompts}
        keep: list[OpenPrompt] = []
        commands: list[Command] = []
        for prompt in self._core.state.prompts:
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
                prompt_id = self._core.new_id()
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
        self._core.state = replace(self._core.state, prompts=tuple(keep))
        return commands

    def restored(self, pending: PendingPrompt) -> OpenPrompt:
        """A prompt from before a restart: its choices carry all there is to carry out."""
        return OpenPrompt(
            pending.prompt_id,
            pending.reason,
            pending.choices,
            PromptContext(None, 0.0),
            deadline=self._core.clock.monotonic(),
            seen_open=True,
        )


def choice_of(item: Item) -> ch.ChoiceItem:
    """An outcome's item as a prompt choice item."""
    return ch.ChoiceItem(
        item.sku, item.quantity, item.weight_g, item.unit_price_cents, item.line_id
    )
