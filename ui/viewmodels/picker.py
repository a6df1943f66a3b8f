"""The "Something else" product picker: the shopper (or staff) names what went in or came out.

Fusion offers :data:`cart_app.fusion.choices.OTHER` on every prompt about an item, so that no
prompt is a dead end: when none of the offered answers is right (two items went in together,
a look-alike the camera never listed), the shopper taps "Something else…", finds the product
by name or code (the search of the list & map screen, :meth:`ui.viewmodels.map.MapVM.search`),
sets how many (a stepper, 1 by default; a product sold by weight has none: the cart weighs it)
and may add a second product, up to :data:`MAX_PRODUCTS`. "Confirm" answers the prompt with a
product choice built by :func:`cart_app.fusion.choices.encode_choice`: ``D-MILK-STD*2``,
``FV-POTATO`` (fusion fills in the weight), ``D-YOGHURT-NAT+FV-POTATO``. Fusion checks the named
products against the weight and re-asks when they do not fit; staff answers (maintenance) are
carried out even then.

The view-model decides nothing about the basket: it builds the answer and says who gives it;
the controller sends it the way every prompt answer goes (:meth:`ui.viewmodels.prompt.PromptVM.
answer_named` for the shopper, :meth:`ui.viewmodels.maintenance.MaintenanceVM.resolve_prompt`
for staff).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from cart_app.basket import BasketState, PendingPrompt
from cart_app.domain import PricingMode
from cart_app.fusion import choices as ch
from cart_app.fusion import prompts
from ui.i18n import Translator
from ui.viewmodels.common import NoThumbnails, ProductLookup, Thumbnails, initials
from ui.viewmodels.map import SearchResultView
from ui.viewmodels.prompt import is_removal, reason_title

MAX_PRODUCTS: Final = 2
"""Products one answer may name ("two items went in together"); more is a case for staff."""
MAX_QUANTITY: Final = 12
"""Most units of one product the stepper goes to (fusion searches up to 12 per weighing)."""
MAX_RESULTS: Final = 12
SHOPPER: Final = "shopper"
STAFF: Final = "staff"


@dataclass(frozen=True, slots=True)
class PickerResult:
    """A search hit to pick: name, price, picture or initials, and what its button says."""

    sku: str
    name: str
    price: str
    tile: str
    thumb: str | None
    action: str
    """"Pick", "Add" (a second product), "✓ Picked", or "Two at most"."""
    can_pick: bool


@dataclass(frozen=True, slots=True)
class PickedItemView:
    """A product picked for the answer, with its amount."""

    index: int
    sku: str
    name: str
    tile: str
    thumb: str | None
    weighed: bool
    """Sold by weight: no stepper, the cart weighs it."""
    quantity: int
    amount: str
    """``"2 pcs"``, or "Weighed by the cart"."""
    can_less: bool
    can_more: bool


@dataclass(frozen=True, slots=True)
class PickerView:
    """The picker as shown."""

    open: bool
    staff: bool
    """Staff answer from maintenance (no "Scan it" / "Call staff": staff are at the cart)."""
    prompt_id: str
    title: str
    question: str
    """The prompt's question, so the shopper remembers what they answer."""
    query: str
    searched: bool
    results: tuple[PickerResult, ...]
    picked: tuple[PickedItemView, ...]
    picked_title: str
    """"You put in:" or "You took out:" (a removal prompt)."""
    hint: str
    """What to do, when nothing is picked yet."""
    problem: str
    """Why it cannot be confirmed as it is (two products sold by weight in one weighing)."""
    answer: str
    """The product choice "Confirm" sends; empty while nothing is picked."""
    can_confirm: bool
    can_scan: bool
    """The shopper's "Scan it" (when the prompt offers it); "Call staff" is always there."""


CLOSED: Final = PickerView(
    False, False, "", "", "", "", False, (), (), "", "", "", "", False, False
)
"""The picker when no pick is under way."""


@dataclass(frozen=True, slots=True)
class NamedPick:
    """A confirmed pick: the answer to send to prompt ``prompt_id``, and who gives it."""

    prompt_id: str
    answer: str
    answered_by: str
    staff_id: str = ""


@dataclass(slots=True)
class _Picked:
    sku: str
    quantity: int
    weighed: bool


class ProductPickerVM:
    """One prompt's "Something else" answer being put together."""

    def __init__(
        self,
        search: Callable[[str], Sequence[SearchResultView]],
        products: ProductLookup,
        tr: Translator,
        thumbs: Thumbnails | None = None,
    ) -> None:
        """``search`` finds products by name or code (the search screen's, ``MapVM.search``)."""
        self._search = search
        self._products = products
        self._tr = tr
        self._thumbs = thumbs or NoThumbnails()
        self._prompt: PendingPrompt | None = None
        self._answered_by = SHOPPER
        self._staff_id = ""
        self._query = ""
        self._hits: tuple[SearchResultView, ...] = ()
        self._picked: list[_Picked] = []
        self.view: PickerView = CLOSED

    # -- state -----------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        """Whether a pick is under way."""
        return self._prompt is not None

    @property
    def staff(self) -> bool:
        """Whether staff are picking (from maintenance)."""
        return self._prompt is not None and self._answered_by == STAFF

    @property
    def prompt_id(self) -> str:
        """The prompt the pick answers (empty when closed)."""
        return self._prompt.prompt_id if self._prompt is not None else ""

    # -- actions ---------------------------------------------------------------------------------
    def open(self, prompt: PendingPrompt, answered_by: str = SHOPPER, staff_id: str = "") -> bool:
        """Start picking an answer to ``prompt``; False (nothing opens) unless it offers
        "something else"."""
        if ch.OTHER not in prompt.choices:
            return False
        self._prompt = prompt
        self._answered_by = STAFF if answered_by == STAFF else SHOPPER
        self._staff_id = staff_id if self._answered_by == STAFF else ""
        self._query = ""
        self._hits = ()
        self._picked = []
        self._rebuild()
        return True

    def close(self) -> None:
        """Cancel: nothing is sent, the prompt shows again."""
        self._prompt = None
        self._query = ""
        self._hits = ()
        self._picked = []
        self.view = CLOSED

    def search(self, text: str) -> PickerView:
        """Products by name or code."""
        self._query = text
        self._hits = tuple(self._search(text))[:MAX_RESULTS] if text.strip() else ()
        return self._rebuild()

    def pick(self, sku: str) -> PickerView:
        """Add ``sku`` to the answer (once; up to :data:`MAX_PRODUCTS`)."""
        product = self._products.by_sku(sku)
        if (
            self._prompt is not None
            and product is not None
            and len(self._picked) < MAX_PRODUCTS
            and all(p.sku != sku for p in self._picked)
        ):
            weighed = product.pricing_mode is PricingMode.PER_KG
            self._picked.append(_Picked(sku, 1, weighed))
        return self._rebuild()

    def step(self, index: int, delta: int) -> PickerView:
        """The stepper of picked product ``index``: one more or one fewer (1 to 12)."""
        if 0 <= index < len(self._picked) and not self._picked[index].weighed:
            item = self._picked[index]
            item.quantity = max(1, min(MAX_QUANTITY, item.quantity + delta))
        return self._rebuild()

    def remove(self, index: int) -> PickerView:
        """Take picked product ``index`` out of the answer."""
        if 0 <= index < len(self._picked):
            del self._picked[index]
        return self._rebuild()

    def answer(self) -> str:
        """The product choice for what is picked (empty when nothing is)."""
        if not self._picked:
            return ""
        return ch.encode_choice([_choice_item(p) for p in self._picked])

    def confirm(self) -> NamedPick | None:
        """ "Confirm": the answer to send (the picker closes), or None when it cannot be."""
        prompt = self._prompt
        if prompt is None or not self.view.can_confirm:
            return None
        pick = NamedPick(prompt.prompt_id, self.answer(), self._answered_by, self._staff_id)
        self.close()
        return pick

    def follow(self, basket: BasketState) -> bool:
        """Keep up with the basket's prompts; True when the picker changed.

        A prompt that timed out comes back as fusion's ``staff_needed`` prompt with the same
        choices: the pick carries over to it (what was picked is not lost while staff come).
        A prompt that closed otherwise (answered by a scan, the item taken back out) closes the
        picker.
        """
        prompt = self._prompt
        if prompt is None:
            return False
        pending = basket.pending_prompts
        if any(p.prompt_id == prompt.prompt_id for p in pending):
            return False
        successor = next(
            (
                p
                for p in pending
                if p.reason == prompts.STAFF_NEEDED
                and p.choices == prompt.choices
                and ch.OTHER in p.choices
            ),
            None,
        )
        if successor is None:
            self.close()
        else:
            self._prompt = successor
            self._rebuild()
        return True

    def refresh(self) -> PickerView:
        """Rebuild the texts (the language changed): the results are searched again."""
        if self._prompt is not None and self._query.strip():
            self._hits = tuple(self._search(self._query))[:MAX_RESULTS]
        return self._rebuild()

    # -- building --------------------------------------------------------------------------------
    def _name(self, sku: str) -> str:
        product = self._products.by_sku(sku)
        return product.name if product is not None else sku

    def _rebuild(self) -> PickerView:
        prompt = self._prompt
        if prompt is None:
            self.view = CLOSED
            return self.view
        tr = self._tr
        removal = is_removal(prompt.reason)
        picked_skus = {p.sku for p in self._picked}
        full = len(self._picked) >= MAX_PRODUCTS
        results: list[PickerResult] = []
        for hit in self._hits:
            if hit.sku in picked_skus:
                action, can = "✓ " + tr("picker.picked"), False
            elif full:
                action, can = tr("picker.full", count=MAX_PRODUCTS), False
            elif self._picked:
                action, can = "+ " + tr("picker.add"), True
            else:
                action, can = tr("picker.pick"), True
            results.append(
                PickerResult(
                    hit.sku,
                    hit.name,
                    hit.price,
                    initials(hit.name),
                    self._thumbs.path(hit.sku),
                    action,
                    can,
                )
            )
        picked = tuple(
            PickedItemView(
                index=i,
                sku=p.sku,
                name=self._name(p.sku),
                tile=initials(self._name(p.sku)),
                thumb=self._thumbs.path(p.sku),
                weighed=p.weighed,
                quantity=p.quantity,
                amount=tr("picker.weighed")
                if p.weighed
                else tr("picker.quantity", quantity=p.quantity),
                can_less=not p.weighed and p.quantity > 1,
                can_more=not p.weighed and p.quantity < MAX_QUANTITY,
            )
            for i, p in enumerate(self._picked)
        )
        problem = ""
        if not removal and sum(p.weighed for p in self._picked) > 1:
            # Fusion cannot split one weighing between two products sold by weight.
            problem = tr("picker.two_weighed")
        staff = self._answered_by == STAFF
        self.view = PickerView(
            open=True,
            staff=staff,
            prompt_id=prompt.prompt_id,
            title=tr("picker.title_staff" if staff else "picker.title"),
            question=reason_title(prompt.reason, tr),
            query=self._query,
            searched=bool(self._query.strip()),
            results=tuple(results),
            picked=picked,
            picked_title=tr("picker.took_out" if removal else "picker.put_in"),
            hint="" if self._picked else tr("picker.hint", count=MAX_PRODUCTS),
            problem=problem,
            answer=self.answer(),
            can_confirm=bool(self._picked) and not problem,
            can_scan=not staff and ch.SCAN in prompt.choices,
        )
        return self.view


def _choice_item(picked: _Picked) -> ch.ChoiceItem:
    """The choice item of a picked product: units, or (sold by weight) no amount at all: fusion
    fills in the weight from the reading."""
    return ch.ChoiceItem(picked.sku, 1 if picked.weighed else picked.quantity)
