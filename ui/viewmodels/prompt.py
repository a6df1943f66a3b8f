"""The prompt view-model: fusion's questions as large labelled choices with a countdown.

A pending prompt (:class:`cart_app.basket.PendingPrompt`) carries a reason code
(:mod:`cart_app.fusion.prompts`) and choices in fusion's grammar
(:mod:`cart_app.fusion.choices`). Product choices become buttons with the product's name,
amount and picture; the special tokens become "Scan it", "Show it to the camera", "This is
mine", "Nothing went in", "Something else…". Tapping a product (or "mine", "nothing") answers
through the engine, which hands shopper answers to fusion; "scan" and "show" answer nothing by
themselves (the scan or the camera does), so the screen only switches to its instruction.
"Something else…" opens the product picker (:mod:`ui.viewmodels.picker`), whose answer comes
back through :meth:`PromptVM.answer_named`. There is always a way on: every prompt also offers
"Call staff", and a timed-out prompt stays answerable while staff come.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from cart_app.basket import BasketState, PendingPrompt
from cart_app.domain import PricingMode
from cart_app.events import Answer
from cart_app.fusion import choices as ch
from cart_app.fusion import prompts
from cart_app.session import SessionState
from ui.i18n import Translator
from ui.viewmodels import formatting as fmt
from ui.viewmodels.common import NoThumbnails, ProductLookup, Thumbnails, initials

log = logging.getLogger(__name__)

PRODUCT = "product"
SCAN = "scan"
SHOW = "show"
NOT_MINE = "not_mine"
NOTHING = "nothing"
OTHER = "other"
HELP = "help"

_SPECIAL_KIND = {
    ch.SCAN: SCAN,
    ch.SHOW: SHOW,
    ch.NOT_MINE: NOT_MINE,
    ch.NOTHING: NOTHING,
    ch.OTHER: OTHER,
}
_ICONS = {SCAN: "▮▯▮", SHOW: "◉", NOT_MINE: "⌂", NOTHING: "∅", OTHER: "⌨", HELP: "?"}
_REASONS = (
    prompts.UNSEEN_ITEM,
    prompts.WEIGHT_MISMATCH,
    prompts.BARCODE_MISMATCH,
    prompts.AMBIGUOUS_ITEM,
    prompts.WEIGH_SEPARATELY,
    prompts.TOO_LIGHT_UNCLEAR,
    prompts.AMBIGUOUS_REMOVAL,
    prompts.REMOVAL_MISMATCH,
    prompts.STAFF_NEEDED,
)
_REMOVAL_REASONS = frozenset({prompts.AMBIGUOUS_REMOVAL, prompts.REMOVAL_MISMATCH})
_MISMATCH_REASONS = frozenset({prompts.WEIGHT_MISMATCH, prompts.REMOVAL_MISMATCH})
NAMED_NOTICE_S: Final = 30.0
"""A re-asked question this soon after a named answer ("something else") says why it is back."""


@dataclass(frozen=True, slots=True)
class _NamedSent:
    """A named answer the shopper sent: fusion re-asks with the same choices if it does not fit."""

    choices: tuple[str, ...]
    known: frozenset[str]
    """The prompts open when it was sent (a re-ask is a new one)."""
    at: float


@dataclass(frozen=True, slots=True)
class ChoiceView:
    """One answer button."""

    answer: str
    """What goes back to the engine (the choice string); empty for "Call staff"."""
    kind: str
    label: str
    detail: str
    tile: str
    """Letters (products) or a symbol (special answers) for the button's picture."""
    thumb: str | None


@dataclass(frozen=True, slots=True)
class PromptView:
    """A prompt as shown."""

    prompt_id: str
    reason: str
    title: str
    message: str
    choices: tuple[ChoiceView, ...]
    deadline: float
    staff_needed: bool
    waiting_for: str
    """``"scan"`` or ``"show"`` after the shopper chose it; empty otherwise."""
    instruction: str
    """What to do now (after "scan"/"show"/"call staff"), or empty."""
    notice: str = ""
    """Why the question is back: the product the shopper named did not match the weight."""


def is_removal(reason: str) -> bool:
    """Whether a prompt with ``reason`` asks about something taken out."""
    return reason in _REMOVAL_REASONS


def reason_title(reason: str, tr: Translator) -> str:
    """The prompt's question in the current language (a generic one for unknown codes)."""
    return tr(f"prompt.reason.{reason}" if reason in _REASONS else "prompt.reason.other")


class PromptVM:
    """The open prompt, its buttons and countdown; answers become engine commands."""

    def __init__(
        self,
        products: ProductLookup,
        currency: str,
        tr: Translator,
        wall: Callable[[], float],
        thumbs: Thumbnails | None = None,
    ) -> None:
        """``wall`` is the clock prompt deadlines are written in (the engine's wall clock)."""
        self._products = products
        self._currency = currency
        self._tr = tr
        self._wall = wall
        self._thumbs = thumbs or NoThumbnails()
        self._prompt: PendingPrompt | None = None
        self._waiting_for = ""
        self._staff_called = False
        self._answered: set[str] = set()
        self._named: _NamedSent | None = None
        self._notice_for = ""
        self._total_s = 1.0
        self.bags_mode = False
        """The shopper said they brought bags: "This is mine" reads "These are my bags"."""
        self.view: PromptView | None = None

    # -- updates ---------------------------------------------------------------------------------
    def update(self, basket: BasketState) -> PromptView | None:
        """The prompt to show for ``basket`` (the oldest one not answered from this screen)."""
        if basket.state not in (SessionState.SHOPPING, SessionState.CHECKOUT):
            pending: PendingPrompt | None = None
        else:
            pending = next(
                (p for p in basket.pending_prompts if p.prompt_id not in self._answered), None
            )
        # Answers we sent that the engine has closed are forgotten; the set stays small.
        open_ids = {p.prompt_id for p in basket.pending_prompts}
        self._answered &= open_ids
        if pending is None or self._prompt is None or pending.prompt_id != self._prompt.prompt_id:
            self._waiting_for = ""
            self._staff_called = False
            # The countdown bar is full when the prompt first shows.
            self._total_s = max(1.0, pending.deadline - self._wall()) if pending else 1.0
            self._check_reasked(pending)
        self._prompt = pending
        self.view = self._build()
        return self.view

    def _check_reasked(self, pending: PendingPrompt | None) -> None:
        """A new prompt just after a named answer: fusion asking again because the named
        products did not fit the weight (same choices, a mismatch reason)."""
        named = self._named
        if named is None:
            return
        if self._wall() - named.at > NAMED_NOTICE_S:
            self._named = None
            return
        if pending is None or pending.prompt_id in named.known:
            return
        self._named = None
        if pending.reason in _MISMATCH_REASONS and pending.choices == named.choices:
            self._notice_for = pending.prompt_id

    @property
    def pending(self) -> PendingPrompt | None:
        """The prompt on screen (None when there is none)."""
        return self._prompt

    def seconds_left(self) -> int:
        """Whole seconds until the prompt's deadline (0 when past or no prompt)."""
        if self._prompt is None:
            return 0
        return max(0, int(self._prompt.deadline - self._wall() + 0.999))

    def countdown_text(self) -> str:
        """``"32 s"`` for the countdown ring; staff prompts show none."""
        if self._prompt is None or self._prompt.reason == prompts.STAFF_NEEDED:
            return ""
        return self._tr("prompt.countdown", seconds=self.seconds_left())

    def countdown_fraction(self) -> float:
        """Share of the time left since the prompt first showed, 0..1, for the countdown bar."""
        if self._prompt is None:
            return 0.0
        return max(0.0, min(1.0, (self._prompt.deadline - self._wall()) / self._total_s))

    # -- actions ---------------------------------------------------------------------------------
    def choose(self, answer: str) -> Answer | None:
        """The shopper tapped ``answer``: the command to submit, or None when the screen only
        changes (scan, show, call staff) or the picker opens ("something else": the controller
        opens it; its answer comes back through :meth:`answer_named`)."""
        prompt = self._prompt
        if prompt is None:
            return None
        if answer == "":
            self._staff_called = True
            self._waiting_for = ""
            self.view = self._build()
            return None
        if answer not in prompt.choices:
            log.warning("answer %r is not a choice of prompt %s", answer, prompt.prompt_id)
            return None
        if answer == ch.OTHER:
            return None
        if answer in (ch.SCAN, ch.SHOW):
            # The scan (or the item held up to a camera) is the answer; fusion waits for it.
            self._waiting_for = _SPECIAL_KIND[answer]
            self._staff_called = False
            self.view = self._build()
            # Fusion must know the next scan (or item held up) answers this question: a scan
            # nobody asked for is first taken for the next item, and an item held over the
            # basket unasked is only looked at.
            return Answer(prompt.prompt_id, answer, "shopper")
        self._answered.add(prompt.prompt_id)
        return Answer(prompt.prompt_id, answer, "shopper")

    def answer_named(self, prompt_id: str, answer: str) -> Answer | None:
        """The shopper named products with "something else" (a product choice, which need not be
        one of the prompt's): the command to submit, or None when prompt ``prompt_id`` is no
        longer the one shown or does not accept it."""
        prompt = self._prompt
        if prompt is None or prompt.prompt_id != prompt_id:
            log.warning("named answer for prompt %s, which is not on screen", prompt_id)
            return None
        if not ch.accepts(prompt.choices, answer):
            log.warning("named answer %r is not accepted by prompt %s", answer, prompt_id)
            return None
        self._answered.add(prompt_id)
        self._named = _NamedSent(
            prompt.choices, frozenset({prompt_id, *self._answered}), self._wall()
        )
        return Answer(prompt_id, answer, "shopper")

    def back_to_choices(self) -> None:
        """Leave the scan/show/staff instruction and show the buttons again."""
        self._waiting_for = ""
        self._staff_called = False
        self.view = self._build()

    # -- building --------------------------------------------------------------------------------
    def _product_choice(self, answer: str, removal: bool) -> ChoiceView | None:
        try:
            items = ch.decode_choice(answer)
        except ValueError:
            log.warning("cannot show choice %r", answer)
            return None
        names: list[str] = []
        details: list[str] = []
        for item in items:
            product = self._products.by_sku(item.sku)
            name = product.name if product is not None else item.sku
            names.append(name if item.quantity == 1 else f"{item.quantity} × {name}")
            if item.weight_g is not None:
                details.append(fmt.kilograms(item.weight_g, self._currency))
            elif (
                product is not None
                and product.pricing_mode is PricingMode.PER_UNIT
                and item.unit_price_cents is None
            ):
                details.append(fmt.money(product.price_cents * item.quantity, self._currency))
            if item.unit_price_cents is not None:
                details.append(fmt.money(item.unit_price_cents, self._currency))
        if removal and len(items) == 1 and items[0].line_id is not None:
            details.append(self._tr("prompt.from_line", line=items[0].line_id))
        first = items[0].sku
        label = " + ".join(names)
        return ChoiceView(
            answer,
            PRODUCT,
            label,
            " · ".join(details),
            initials(names[0].split(" × ")[-1]),
            self._thumbs.path(first),
        )

    def _special_choice(self, answer: str, reason: str) -> ChoiceView | None:
        kind = _SPECIAL_KIND.get(answer)
        if kind is None:
            # A special answer this screen has no button for: not offered, rather than no
            # prompt at all.
            log.debug("no button for the special answer %r", answer)
            return None
        key = f"prompt.choice.{kind}"
        if kind == NOT_MINE and reason in _REMOVAL_REASONS:
            key = "prompt.choice.not_mine_out"
        elif kind == NOT_MINE and self.bags_mode:
            key = "prompt.choice.my_bags"
        return ChoiceView(answer, kind, self._tr(key), "", _ICONS[kind], None)

    def _build(self) -> PromptView | None:
        prompt = self._prompt
        if prompt is None:
            return None
        tr = self._tr
        removal = prompt.reason in _REMOVAL_REASONS
        buttons: list[ChoiceView] = []
        for answer in prompt.choices:
            view = (
                self._special_choice(answer, prompt.reason)
                if answer in ch.SPECIAL
                else self._product_choice(answer, removal)
            )
            if view is not None:
                buttons.append(view)
        if self.bags_mode:
            # Bags first: the shopper just put them in and the button is what they look for.
            buttons.sort(key=lambda b: b.kind != NOT_MINE)
        # "Something else…" last, just before "Call staff": the way on when nothing above fits.
        buttons.sort(key=lambda b: b.kind == OTHER)
        buttons.append(ChoiceView("", HELP, tr("prompt.choice.help"), "", _ICONS[HELP], None))
        staff = prompt.reason == prompts.STAFF_NEEDED
        instruction = ""
        if self._waiting_for == SCAN:
            instruction = tr("prompt.instruction.scan")
        elif self._waiting_for == SHOW:
            instruction = tr("prompt.instruction.show")
        elif self._staff_called or staff:
            instruction = tr("prompt.instruction.staff")
        message = tr("prompt.message.staff") if staff else tr("prompt.message.default")
        reasked = self._notice_for == prompt.prompt_id
        return PromptView(
            prompt_id=prompt.prompt_id,
            reason=prompt.reason,
            title=reason_title(prompt.reason, tr),
            message=message,
            choices=tuple(buttons),
            deadline=prompt.deadline,
            staff_needed=staff,
            waiting_for=self._waiting_for or ("staff" if self._staff_called else ""),
            instruction=instruction,
            notice=tr("prompt.notice.named_mismatch") if reasked else "",
        )
