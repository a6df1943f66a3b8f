"""The basket screen's view-model: lines, totals, savings, budget and the last item added."""

from __future__ import annotations

from dataclasses import dataclass

from cart_app.basket import BasketState
from cart_app.budget import BudgetLevel, BudgetStatus, budget_status
from cart_app.domain import BasketLine, Evidence, EvidenceSource, PricingMode
from cart_app.engine import CartSnapshot
from cart_app.pricing import Receipt, ReceiptLine
from cart_app.session import SessionState
from ui.i18n import Translator
from ui.viewmodels import formatting as fmt
from ui.viewmodels.common import NoThumbnails, ProductLookup, Thumbnails, initials

AGE_ICON = "18+"


@dataclass(frozen=True, slots=True)
class LineView:
    """One basket line as shown: every text ready to display."""

    line_id: int
    sku: str
    name: str
    tile: str
    """Two letters for the product tile when there is no picture."""
    thumb: str | None
    detail: str
    """``"3 × 12,90 kr"`` or ``"0,642 kg × 29,90 kr/kg"``."""
    price: str
    """The line's price after savings."""
    saving: str
    """``"You save 4,90 kr"``, or empty."""
    age_note: str
    """``"18+ ID check at the exit"``, or empty."""
    highlighted: bool


@dataclass(frozen=True, slots=True)
class EvidenceView:
    """Why the cart believes the last item went in: picture, weight, barcode, who said so."""

    line_id: int
    name: str
    tile: str
    thumb: str | None
    weight: str
    barcode: str
    source: str


@dataclass(frozen=True, slots=True)
class BudgetView:
    """The budget cap as an icon and words (never colour alone); ``visible`` only with a cap."""

    visible: bool
    level: str
    icon: str
    text: str
    button: str = ""
    """The basket screen's button: "Set budget", or "Change budget" when one is in force."""
    cap_cents: int | None = None


@dataclass(frozen=True, slots=True)
class BudgetChoice:
    """The shopper's own budget for this trip; ``cap_cents`` None means "no budget"."""

    cap_cents: int | None


@dataclass(frozen=True, slots=True)
class BasketView:
    """Everything the basket screen shows."""

    version: int
    state: SessionState
    lines: tuple[LineView, ...]
    total: str
    item_count: str
    savings: str
    offers: tuple[str, ...]
    """``"3 för 2 på yoghurt 1 kg: -39,90 kr"``, and coupons the same way."""
    last_added: EvidenceView | None
    budget: BudgetView
    age_restricted: bool
    fault: str
    can_checkout: bool
    checkout_hint: str
    empty_text: str


_BUDGET_ICONS = {BudgetLevel.OK: "✓", BudgetLevel.NEAR: "!", BudgetLevel.OVER: "✕"}


def budget_view(status: BudgetStatus | None, currency: str, tr: Translator) -> BudgetView:
    """The budget line: hidden without a cap; otherwise icon + words at every level."""
    if status is None or status.cap_cents is None or status.remaining_cents is None:
        return BudgetView(False, BudgetLevel.OK.value, "", "", tr("budget.set"))
    cap = fmt.money(status.cap_cents, currency)
    left = fmt.money(abs(status.remaining_cents), currency)
    key = {
        BudgetLevel.OK: "budget.ok",
        BudgetLevel.NEAR: "budget.near",
        BudgetLevel.OVER: "budget.over",
    }[status.level]
    return BudgetView(
        True,
        status.level.value,
        _BUDGET_ICONS[status.level],
        tr(key, left=left, cap=cap),
        tr("budget.change"),
        status.cap_cents,
    )


def _source_text(evidence: Evidence, tr: Translator) -> str:
    key = {
        EvidenceSource.BARCODE: "evidence.source.barcode",
        EvidenceSource.VISION: "evidence.source.vision",
        EvidenceSource.SHOPPER: "evidence.source.shopper",
        EvidenceSource.STAFF: "evidence.source.staff",
        EvidenceSource.SYSTEM: "evidence.source.system",
    }[evidence.source]
    text = tr(key)
    if evidence.vision_probability is not None and evidence.source is EvidenceSource.VISION:
        text += f" ({evidence.vision_probability:.0%})"
    return text


class BasketVM:
    """Turns snapshots into :class:`BasketView`; remembers which line grew last."""

    def __init__(
        self,
        products: ProductLookup,
        currency: str,
        tr: Translator,
        thumbs: Thumbnails | None = None,
        budget_warn_ratio_bp: int = 9000,
    ) -> None:
        """``products`` names the lines; ``currency`` formats money; the shopper's own budget
        warns from ``budget_warn_ratio_bp`` of it, as the configured one does."""
        self._warn_bp = budget_warn_ratio_bp
        self._choice: BudgetChoice | None = None
        self._snapshot: CartSnapshot | None = None
        self._products = products
        self._currency = currency
        self._tr = tr
        self._thumbs = thumbs or NoThumbnails()
        self._previous: dict[int, tuple[int, float]] | None = None
        self._session = ""
        self._last_added: int | None = None
        self.view = self._empty_view()

    @property
    def last_added_line(self) -> int | None:
        """The id of the line that grew last (None after it left the basket or a new session)."""
        return self._last_added

    def update(self, snapshot: CartSnapshot) -> BasketView:
        """The view of ``snapshot`` (also kept in :attr:`view`)."""
        basket = snapshot.basket
        self._track_last_added(basket)
        self._snapshot = snapshot
        self.view = self._build(snapshot)
        return self.view

    def set_budget(self, cap_cents: int | None) -> BasketView:
        """The shopper set a budget for this trip (None: "No budget"); ends with the trip."""
        self._choice = BudgetChoice(cap_cents)
        return self.refresh()

    def refresh(self) -> BasketView:
        """Rebuild the view from the last snapshot (a budget or language change)."""
        if self._snapshot is not None:
            self.view = self._build(self._snapshot)
        return self.view

    def budget_status(self, snapshot: CartSnapshot) -> BudgetStatus | None:
        """The budget in force: the shopper's own for this trip, else the configured one."""
        if self._choice is None:
            return snapshot.budget
        receipt = snapshot.receipt
        if receipt is None:
            return None  # no total to compare with (the screen says why elsewhere)
        return budget_status(receipt.total_cents, self._choice.cap_cents, self._warn_bp)

    # -- internals -------------------------------------------------------------------------------
    def _track_last_added(self, basket: BasketState) -> None:
        amounts = {line.line_id: (line.quantity, line.weight_g) for line in basket.lines}
        if basket.session_id != self._session:
            # A new (or restored) session: nothing was "just added" by the shopper yet, and
            # the last shopper's budget is not this one's.
            self._session = basket.session_id
            self._choice = None
            self._previous = amounts
            self._last_added = None
            return
        previous = self._previous or {}
        grown = [
            line_id
            for line_id, (qty, grams) in amounts.items()
            if line_id not in previous or qty > previous[line_id][0] or grams > previous[line_id][1]
        ]
        if grown:
            self._last_added = max(grown)
        elif self._last_added is not None and self._last_added not in amounts:
            self._last_added = None
        self._previous = amounts

    def _name(self, sku: str) -> str:
        product = self._products.by_sku(sku)
        return product.name if product is not None else sku

    def _line_view(self, line: ReceiptLine) -> LineView:
        cur = self._currency
        tr = self._tr
        if line.weight_g is not None:
            detail = fmt.per_kg_detail(line.weight_g, line.unit_price_cents, cur)
        else:
            detail = fmt.per_unit_detail(line.quantity, line.unit_price_cents, cur)
        saving = (
            tr("basket.line_saving", amount=fmt.money(line.discount_cents, cur))
            if line.discount_cents > 0
            else ""
        )
        return LineView(
            line_id=line.line_id,
            sku=line.sku,
            name=line.name,
            tile=initials(line.name),
            thumb=self._thumbs.path(line.sku),
            detail=detail,
            price=fmt.money(line.net_cents, cur),
            saving=saving,
            age_note=tr("basket.age_check", icon=AGE_ICON) if line.age_restricted else "",
            highlighted=line.line_id == self._last_added,
        )

    def _unpriced_line(self, line: BasketLine) -> LineView:
        product = self._products.by_sku(line.sku)
        name = product.name if product else line.sku
        per_kg = product is not None and product.pricing_mode is PricingMode.PER_KG
        detail = fmt.kilograms(line.weight_g, self._currency) if per_kg else f"{line.quantity} ×"
        return LineView(
            line.line_id,
            line.sku,
            name,
            initials(name),
            self._thumbs.path(line.sku),
            detail,
            self._tr("basket.no_price"),
            "",
            "",
            line.line_id == self._last_added,
        )

    def _evidence(self, basket: BasketState) -> EvidenceView | None:
        if self._last_added is None:
            return None
        line = basket.line(self._last_added)
        if line is None:
            return None
        name = self._name(line.sku)
        evidence = line.evidence[-1] if line.evidence else None
        tr = self._tr
        weight = barcode = source = ""
        if evidence is not None:
            if evidence.weight_delta_g is not None:
                weight = tr("evidence.weight", grams=fmt.grams_text(evidence.weight_delta_g))
            if evidence.gtin:
                barcode = tr("evidence.barcode", code=evidence.gtin)
            source = _source_text(evidence, tr)
        return EvidenceView(
            line.line_id, name, initials(name), self._thumbs.path(line.sku), weight, barcode, source
        )

    def _offers(self, receipt: Receipt) -> tuple[str, ...]:
        cur = self._currency
        out = [
            self._tr("basket.offer", name=o.description, amount=fmt.money(-o.saving_cents, cur))
            for o in receipt.offers
        ]
        for coupon in receipt.coupons:
            if coupon.applied:
                out.append(
                    self._tr(
                        "basket.coupon",
                        code=coupon.code,
                        amount=fmt.money(-coupon.saving_cents, cur),
                    )
                )
            else:
                out.append(
                    self._tr("basket.coupon_refused", code=coupon.code, reason=coupon.reason)
                )
        return tuple(out)

    def _build(self, snapshot: CartSnapshot) -> BasketView:
        basket = snapshot.basket
        receipt = snapshot.receipt
        tr = self._tr
        cur = self._currency
        if receipt is not None:
            lines = tuple(self._line_view(line) for line in receipt.lines)
            total = fmt.money(receipt.total_cents, cur)
            count = tr("basket.items", count=receipt.item_count)
            savings = (
                tr("basket.savings", amount=fmt.money(receipt.total_discount_cents, cur))
                if receipt.total_discount_cents > 0
                else ""
            )
            offers = self._offers(receipt)
            age = receipt.age_restricted
        else:
            lines = tuple(self._unpriced_line(line) for line in basket.lines)
            total = tr("basket.no_total")
            count = tr("basket.items", count=len(basket.lines))
            savings = ""
            offers = ()
            age = False
        can_checkout, hint = self._checkout(basket, receipt)
        return BasketView(
            version=snapshot.version,
            state=basket.state,
            lines=lines,
            total=total,
            item_count=count,
            savings=savings,
            offers=offers,
            last_added=self._evidence(basket),
            budget=budget_view(self.budget_status(snapshot), cur, tr),
            age_restricted=age,
            fault=tr("basket.fault", problem=snapshot.fault) if snapshot.fault else "",
            can_checkout=can_checkout,
            checkout_hint=hint,
            empty_text=tr("basket.empty") if not lines else "",
        )

    def _checkout(self, basket: BasketState, receipt: Receipt | None) -> tuple[bool, str]:
        tr = self._tr
        if basket.state is not SessionState.SHOPPING:
            return False, ""
        if basket.pending_prompts:
            return False, tr("basket.hint.answer_first")
        if receipt is None:
            return False, tr("basket.hint.no_price")
        if not receipt.lines:
            return False, tr("basket.hint.empty")
        return True, ""

    def _empty_view(self) -> BasketView:
        tr = self._tr
        return BasketView(
            0,
            SessionState.IDLE,
            (),
            fmt.money(0, self._currency),
            tr("basket.items", count=0),
            "",
            (),
            None,
            BudgetView(False, BudgetLevel.OK.value, "", "", tr("budget.set")),
            False,
            "",
            False,
            "",
            tr("basket.empty"),
        )
