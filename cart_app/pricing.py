"""Pricing: basket lines in, a receipt out, in integer cents with documented rounding.

The steps, each described with its rounding rule in ``docs/pricing.md``:

1. Price every line: units × unit price, or price per kg × grams (grams rounded to the scale's
   legal-for-trade increment first, then cents rounded half up).
2. Apply multi-buy offers to per-unit lines (:mod:`cart_app.offers`).
3. Apply coupons: SKU coupons before basket coupons, percentages before amounts.
4. Compute tax per tax class on the discounted class total.

Money is ``int`` cents throughout; :class:`~fractions.Fraction` is used where a division is
rounded, never ``float``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from types import MappingProxyType

from cart_app.budget import BudgetLevel, BudgetStatus, budget_status
from cart_app.domain import BasketLine, Coupon, Offer, PricingMode, Product, TaxRate
from cart_app.money import format_money
from cart_app.offers import (
    MAX_PRICE_CENTS,
    AppliedCoupon,
    AppliedOffer,
    CouponLine,
    OfferLine,
    PricingError,
    apply_coupons,
    apply_offers,
    round_half_up,
)

__all__ = [
    "MAX_LINE_QUANTITY",
    "MAX_LINE_WEIGHT_G",
    "MAX_PRICE_CENTS",
    "MAX_TAX_RATE_BP",
    "AppliedCoupon",
    "AppliedOffer",
    "BudgetLevel",
    "BudgetStatus",
    "PricingError",
    "PricingPolicy",
    "Receipt",
    "ReceiptLine",
    "TaxLine",
    "budget_status",
    "format_money",
    "price_basket",
    "round_half_up",
]

MAX_LINE_QUANTITY = 10_000
"""The most units one line may hold; more is a data error, not a shopping trip."""

MAX_LINE_WEIGHT_G = 1_000_000.0
"""The heaviest line accepted (one tonne); far beyond any cart, so only garbage trips it."""

MAX_TAX_RATE_BP = 10_000
"""The highest tax rate accepted: 100 %."""

MAX_WEIGHT_INCREMENT_G = 1_000


@dataclass(frozen=True, slots=True)
class PricingPolicy:
    """The store's pricing rules.

    ``tax_rates`` maps each tax class to its rate (the key must equal ``TaxRate.tax_class``); it
    is copied into a read-only mapping, so later changes to the caller's dict do not leak in.
    ``tax_included``: shelf prices include tax (EU VAT) rather than having it added (US sales
    tax). ``weight_increment_g``: the scale's legal-for-trade division; weighed grams are rounded
    half up to a multiple of it before pricing.
    """

    tax_rates: Mapping[str, TaxRate] = field(hash=False)
    tax_included: bool
    weight_increment_g: int = 1

    def __post_init__(self) -> None:
        rates: dict[str, TaxRate] = {}
        for key, rate in self.tax_rates.items():
            if key != rate.tax_class:
                raise PricingError(f"tax rate for {key!r} names class {rate.tax_class!r}")
            if not 0 <= rate.rate_bp <= MAX_TAX_RATE_BP:
                raise PricingError(
                    f"tax class {key!r}: rate {rate.rate_bp} bp must be 0..{MAX_TAX_RATE_BP}"
                )
            rates[key] = rate
        if not 1 <= self.weight_increment_g <= MAX_WEIGHT_INCREMENT_G:
            raise PricingError(
                f"weight increment {self.weight_increment_g} g must be 1..{MAX_WEIGHT_INCREMENT_G}"
            )
        object.__setattr__(self, "tax_rates", MappingProxyType(rates))

    @classmethod
    def from_rates(
        cls, rates: Iterable[TaxRate], *, tax_included: bool, weight_increment_g: int = 1
    ) -> PricingPolicy:
        """A policy from a list of rates (each keyed by its own class)."""
        by_class: dict[str, TaxRate] = {}
        for rate in rates:
            if rate.tax_class in by_class:
                raise PricingError(f"tax class {rate.tax_class!r} is listed twice")
            by_class[rate.tax_class] = rate
        return cls(by_class, tax_included, weight_increment_g)


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    """One priced line.

    ``weight_g`` is the charged weight (after rounding to the scale increment) for lines priced
    by weight, with ``unit_price_cents`` then the price per kg; otherwise ``weight_g`` is
    ``None`` and ``unit_price_cents`` is the price of one unit (or of one labelled pack).
    ``net_cents = gross_cents - discount_cents``, tax included or excluded as the policy says.
    """

    line_id: int
    sku: str
    name: str
    quantity: int
    weight_g: int | None
    unit_price_cents: int
    gross_cents: int
    discount_cents: int
    net_cents: int
    tax_class: str
    age_restricted: bool


@dataclass(frozen=True, slots=True)
class TaxLine:
    """Tax of one class. ``base_cents`` is the class's discounted total as charged (tax
    included in it when the policy's ``tax_included``, excluded otherwise)."""

    tax_class: str
    rate_bp: int
    base_cents: int
    tax_cents: int


@dataclass(frozen=True, slots=True)
class Receipt:
    """The priced basket.

    ``total_cents = subtotal_cents - total_discount_cents``, plus ``tax_cents`` when tax is not
    included in prices. ``item_count`` counts units, and each weighed line as one item.
    """

    lines: tuple[ReceiptLine, ...]
    offers: tuple[AppliedOffer, ...]
    coupons: tuple[AppliedCoupon, ...]
    subtotal_cents: int
    total_discount_cents: int
    taxes: tuple[TaxLine, ...]
    total_cents: int
    item_count: int
    age_restricted: bool
    tax_included: bool

    @property
    def tax_cents(self) -> int:
        """All tax on the receipt (contained in the total, or added to it)."""
        return sum(tax.tax_cents for tax in self.taxes)


@dataclass(frozen=True, slots=True)
class _Priced:
    line: BasketLine
    product: Product
    weight_g: int | None
    unit_price: int
    gross: int
    items: int


def price_basket(
    lines: Sequence[BasketLine],
    products: Mapping[str, Product],
    offers: Sequence[Offer],
    coupons: Sequence[Coupon],
    policy: PricingPolicy,
) -> Receipt:
    """Price ``lines`` into a :class:`Receipt`.

    Lines with neither units nor weight (left behind by removals) are skipped. Raises
    :class:`PricingError`, naming the line or product, for a SKU missing from ``products``, a
    negative or absurd (> :data:`MAX_PRICE_CENTS`) price, a negative or absurd quantity or
    weight, a per-unit line with only a weight, a weighed line of zero grams, an unknown tax
    class, a duplicate line id or an invalid offer. Bad coupons do not raise: they are listed as
    not applied, with the reason, so that one bad scan cannot block the basket.
    """
    priced: list[_Priced] = []
    seen_ids: set[int] = set()
    for line in lines:
        if line.line_id in seen_ids:
            raise PricingError(f"line {line.line_id} ({line.sku!r}) appears twice")
        seen_ids.add(line.line_id)
        item = _price_line(line, products, policy)
        if item is not None:
            priced.append(item)

    offer_lines = [
        OfferLine(p.line.line_id, p.line.sku, p.line.quantity, p.unit_price)
        for p in priced
        if p.weight_g is None and p.product.pricing_mode is PricingMode.PER_UNIT
    ]
    offered = apply_offers(offer_lines, offers)
    after_offers = [
        CouponLine(
            p.line.line_id, p.line.sku, p.gross - offered.line_discounts.get(p.line.line_id, 0)
        )
        for p in priced
    ]
    couponed = apply_coupons(coupons, after_offers)
    discount = {
        p.line.line_id: offered.line_discounts.get(p.line.line_id, 0)
        + couponed.line_discounts[p.line.line_id]
        for p in priced
    }

    receipt_lines = tuple(
        ReceiptLine(
            line_id=p.line.line_id,
            sku=p.line.sku,
            name=p.product.name,
            quantity=p.line.quantity,
            weight_g=p.weight_g,
            unit_price_cents=p.unit_price,
            gross_cents=p.gross,
            discount_cents=discount[p.line.line_id],
            net_cents=p.gross - discount[p.line.line_id],
            tax_class=p.product.tax_class,
            age_restricted=p.product.age_restricted,
        )
        for p in priced
    )
    taxes = _taxes(receipt_lines, policy)
    subtotal = sum(line.gross_cents for line in receipt_lines)
    total_discount = sum(line.discount_cents for line in receipt_lines)
    total = subtotal - total_discount
    if not policy.tax_included:
        total += sum(tax.tax_cents for tax in taxes)
    return Receipt(
        lines=receipt_lines,
        offers=offered.applied,
        coupons=couponed.coupons,
        subtotal_cents=subtotal,
        total_discount_cents=total_discount,
        taxes=taxes,
        total_cents=total,
        item_count=sum(p.items for p in priced),
        age_restricted=any(line.age_restricted for line in receipt_lines),
        tax_included=policy.tax_included,
    )


def _check_price(cents: int, what: str) -> None:
    if cents < 0:
        raise PricingError(f"{what}: negative price {cents} cents")
    if cents > MAX_PRICE_CENTS:
        raise PricingError(
            f"{what}: price {cents} cents exceeds MAX_PRICE_CENTS ({MAX_PRICE_CENTS})"
        )


def _price_line(
    line: BasketLine, products: Mapping[str, Product], policy: PricingPolicy
) -> _Priced | None:
    where = f"line {line.line_id} ({line.sku!r})"
    product = products.get(line.sku)
    if product is None:
        raise PricingError(f"{where}: SKU not in the catalog")
    if not 0 <= line.quantity <= MAX_LINE_QUANTITY:
        raise PricingError(f"{where}: quantity {line.quantity} must be 0..{MAX_LINE_QUANTITY}")
    if not (math.isfinite(line.weight_g) and 0 <= line.weight_g <= MAX_LINE_WEIGHT_G):
        raise PricingError(f"{where}: weight {line.weight_g} g must be 0..{MAX_LINE_WEIGHT_G:.0f}")
    if product.tax_class not in policy.tax_rates:
        raise PricingError(f"{where}: unknown tax class {product.tax_class!r}")
    if line.unit_price_cents is not None:
        _check_price(line.unit_price_cents, f"{where}: label")
    else:
        _check_price(product.price_cents, f"{where}: product {product.name!r}")
    if line.quantity == 0 and line.weight_g == 0:
        return None

    if product.pricing_mode is PricingMode.PER_UNIT:
        if line.quantity == 0:
            raise PricingError(f"{where}: sold per unit but has only a weight ({line.weight_g} g)")
        unit_price = product.price_cents if line.unit_price_cents is None else line.unit_price_cents
        return _Priced(line, product, None, unit_price, unit_price * line.quantity, line.quantity)

    if line.unit_price_cents is not None:
        # A variable-measure label already states the pack price; each unit is one pack.
        packs = max(line.quantity, 1)
        return _Priced(
            line, product, None, line.unit_price_cents, line.unit_price_cents * packs, packs
        )
    if line.weight_g == 0:
        raise PricingError(f"{where}: sold by weight but weighs 0 g")
    grams = _charged_grams(line.weight_g, policy.weight_increment_g)
    gross = round_half_up(Fraction(product.price_cents * grams, 1000))
    return _Priced(line, product, grams, product.price_cents, gross, 1)


def _charged_grams(weight_g: float, increment_g: int) -> int:
    """Grams rounded half up to a multiple of the scale increment.

    The float is read back as its shortest decimal (``repr``), which is what the scale sent, so
    a reading of exactly 347.5 g is a half and rounds up rather than depending on binary digits.
    """
    grams = Fraction(repr(float(weight_g)))
    return round_half_up(grams / increment_g) * increment_g


def _taxes(lines: Sequence[ReceiptLine], policy: PricingPolicy) -> tuple[TaxLine, ...]:
    # Tax is rounded once per class on the class total, not per line: per-line rounding would
    # add up to several cents of error on a long receipt and differ from the till's figure.
    bases: dict[str, int] = {}
    for line in lines:
        bases[line.tax_class] = bases.get(line.tax_class, 0) + line.net_cents
    taxes: list[TaxLine] = []
    for tax_class in sorted(bases):
        rate = policy.tax_rates[tax_class].rate_bp
        base = bases[tax_class]
        if policy.tax_included:
            tax = round_half_up(Fraction(base * rate, 10_000 + rate))
        else:
            tax = round_half_up(Fraction(base * rate, 10_000))
        taxes.append(TaxLine(tax_class, rate, base, tax))
    return tuple(taxes)
