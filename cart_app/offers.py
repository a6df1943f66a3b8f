"""Discounts: multi-buy offers, coupons and the exact allocation of their cents to lines.

:mod:`cart_app.pricing` prices lines, then hands them here to find which offers and coupons
apply and how much each line saves. The offer rules (see ``docs/pricing.md``):

* Units eligible for an offer are grouped most expensive first. In a "buy N pay M" group the
  N − M cheapest units of the group are free; a "N for X" group saves its normal price minus X,
  and a group that would not get cheaper is left at its normal price.
* Offers that share SKUs are applied greedily: the offer saving the most on the units still free
  goes first (ties: the smaller ``offer_id``), and the units it used are not offered again.
* An offer's saving is spread over the lines whose units it used, in proportion to those units'
  normal price, by the largest-remainder method, so the cents add up exactly.

Everything is sorted by price, SKU and line id before it is used, so the result depends on the
basket's contents and never on the order of its lines or of the offers.

Coupons come after offers, on what is left to pay: SKU coupons before basket coupons,
percentages before amounts, then by code; each coupon's saving is allocated over its lines in
proportion to what is left on them, again by largest remainder.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from cart_app.domain import BundlePriceOffer, Coupon, MultiBuyOffer, Offer

MAX_PRICE_CENTS = 1_000_000
"""The highest unit price (or price per kg) accepted; anything above is a data error."""

MAX_OFFER_UNITS = 1_000
"""The most units one offer group may require; a larger ``buy``/``quantity`` is a data error."""


class PricingError(ValueError):
    """Input that cannot be priced; the message names the product, line, offer or setting."""


def round_half_up(value: Fraction) -> int:
    """``value`` rounded to the nearest integer, halves upwards (2.5 → 3, −2.5 → −2).

    Pricing only rounds non-negative amounts, where this is the "round half up" that shoppers
    and weights-and-measures inspectors expect, unlike Python's ``round`` (half to even).
    """
    return math.floor(value + Fraction(1, 2))


def allocate(amount: int, weights: Sequence[int]) -> list[int]:
    """Split ``amount`` cents over ``weights`` in proportion, exactly (largest remainder).

    Each share is first rounded down; the cents left over go one each to the shares with the
    largest remainders, ties to the earlier weight. With ``0 <= amount <= sum(weights)`` no share
    exceeds its weight, so a discount never exceeds the line it is allocated to.
    """
    if amount < 0 or any(w < 0 for w in weights):
        raise ValueError(f"cannot allocate {amount} over weights {list(weights)}")
    if amount == 0:
        return [0] * len(weights)
    total = sum(weights)
    if total == 0:
        raise ValueError(f"cannot allocate {amount} over zero weights")
    shares = [amount * w // total for w in weights]
    remainders = [amount * w % total for w in weights]
    left = amount - sum(shares)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in by_remainder[:left]:
        shares[i] += 1
    return shares


@dataclass(frozen=True, slots=True)
class OfferLine:
    """A per-unit basket line as offers see it: ``quantity`` units at one price."""

    line_id: int
    sku: str
    quantity: int
    unit_price_cents: int


@dataclass(frozen=True, slots=True)
class AppliedOffer:
    """An offer that saved the shopper money, as shown on the receipt."""

    offer_id: str
    description: str
    saving_cents: int


@dataclass(frozen=True, slots=True)
class OfferOutcome:
    """Offers applied (in the order chosen) and the discount each line received."""

    applied: tuple[AppliedOffer, ...]
    line_discounts: Mapping[int, int]


@dataclass(frozen=True, slots=True)
class _Unit:
    price: int
    sku: str
    line_id: int


@dataclass(frozen=True, slots=True)
class _Plan:
    saving: int
    used: tuple[_Unit, ...]


def validate_offer(offer: Offer) -> None:
    """Raise :class:`PricingError` for an offer that makes no sense (it names the offer)."""
    name = f"offer {offer.offer_id!r}"
    if isinstance(offer, MultiBuyOffer):
        if not 1 <= offer.buy <= MAX_OFFER_UNITS:
            raise PricingError(f"{name}: buy {offer.buy} must be 1..{MAX_OFFER_UNITS}")
        if not 0 <= offer.pay < offer.buy:
            raise PricingError(f"{name}: pay {offer.pay} must be 0..{offer.buy - 1} (buy - 1)")
        return
    if not 1 <= offer.quantity <= MAX_OFFER_UNITS:
        raise PricingError(f"{name}: quantity {offer.quantity} must be 1..{MAX_OFFER_UNITS}")
    if offer.price_cents < 0:
        raise PricingError(f"{name}: negative bundle price {offer.price_cents} cents")
    if offer.price_cents > MAX_PRICE_CENTS * offer.quantity:
        raise PricingError(
            f"{name}: bundle price {offer.price_cents} cents exceeds "
            f"MAX_PRICE_CENTS ({MAX_PRICE_CENTS}) per unit"
        )


def apply_offers(lines: Sequence[OfferLine], offers: Sequence[Offer]) -> OfferOutcome:
    """Apply ``offers`` to per-unit ``lines`` greedily by saving; see the module docstring.

    Raises :class:`PricingError` for an invalid offer or two offers with one ``offer_id``.
    """
    seen: set[str] = set()
    for offer in offers:
        validate_offer(offer)
        if offer.offer_id in seen:
            raise PricingError(f"offer {offer.offer_id!r} is listed twice")
        seen.add(offer.offer_id)
    available = {line.line_id: line.quantity for line in lines}
    ordered_lines = sorted(lines, key=lambda line: line.line_id)
    discounts = dict.fromkeys(available, 0)
    remaining = sorted(offers, key=lambda offer: offer.offer_id)
    applied: list[AppliedOffer] = []
    while remaining:
        best: tuple[Offer, _Plan] | None = None
        for offer in remaining:
            plan = _plan(offer, _units(ordered_lines, available, offer.skus))
            # Strictly greater: on a tie the offer met first (smaller offer_id) stays chosen.
            if plan.saving > 0 and (best is None or plan.saving > best[1].saving):
                best = (offer, plan)
        if best is None:
            break
        offer, plan = best
        remaining.remove(offer)
        used_value: dict[int, int] = {}
        for unit in plan.used:
            available[unit.line_id] -= 1
            used_value[unit.line_id] = used_value.get(unit.line_id, 0) + unit.price
        line_ids = sorted(used_value)
        shares = allocate(plan.saving, [used_value[line_id] for line_id in line_ids])
        for line_id, share in zip(line_ids, shares, strict=True):
            discounts[line_id] += share
        applied.append(AppliedOffer(offer.offer_id, offer.description, plan.saving))
    return OfferOutcome(tuple(applied), discounts)


def _units(
    lines: Sequence[OfferLine], available: Mapping[int, int], skus: frozenset[str]
) -> list[_Unit]:
    units = [
        _Unit(line.unit_price_cents, line.sku, line.line_id)
        for line in lines
        if line.sku in skus
        for _ in range(available[line.line_id])
    ]
    # Most expensive first; SKU and line id only make equal prices deterministic.
    units.sort(key=lambda u: (-u.price, u.sku, u.line_id))
    return units


def _plan(offer: Offer, units: Sequence[_Unit]) -> _Plan:
    """What ``offer`` would save on ``units`` (sorted most expensive first), and which it uses."""
    if isinstance(offer, MultiBuyOffer):
        return _plan_multi_buy(offer, units)
    return _plan_bundle(offer, units)


def _plan_multi_buy(offer: MultiBuyOffer, units: Sequence[_Unit]) -> _Plan:
    groups = len(units) // offer.buy
    used = tuple(units[: groups * offer.buy])
    saving = 0
    for g in range(groups):
        group = used[g * offer.buy : (g + 1) * offer.buy]
        saving += sum(unit.price for unit in group[offer.pay :])
    return _Plan(saving, used)


def _plan_bundle(offer: BundlePriceOffer, units: Sequence[_Unit]) -> _Plan:
    saving = 0
    used: list[_Unit] = []
    for start in range(0, len(units) - offer.quantity + 1, offer.quantity):
        group = units[start : start + offer.quantity]
        normal = sum(unit.price for unit in group)
        # Groups only get cheaper from here on, so the first one not worth bundling ends it.
        if normal <= offer.price_cents:
            break
        saving += normal - offer.price_cents
        used.extend(group)
    return _Plan(saving, tuple(used))


@dataclass(frozen=True, slots=True)
class CouponLine:
    """A priced line as coupons see it: what is still left to pay on it after offers."""

    line_id: int
    sku: str
    net_cents: int


@dataclass(frozen=True, slots=True)
class AppliedCoupon:
    """What a coupon did; ``applied`` is false (with ``reason``) when it saved nothing."""

    code: str
    saving_cents: int
    applied: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CouponOutcome:
    """One result per coupon, in the coupons' order, and the discount each line received."""

    coupons: tuple[AppliedCoupon, ...]
    line_discounts: Mapping[int, int]


def coupon_problem(coupon: Coupon) -> str | None:
    """Why ``coupon`` is malformed, or ``None`` if it is well formed."""
    if coupon.amount_off_cents < 0:
        return f"invalid coupon: negative amount {coupon.amount_off_cents} cents"
    if coupon.amount_off_cents > MAX_PRICE_CENTS:
        return f"invalid coupon: amount {coupon.amount_off_cents} cents exceeds MAX_PRICE_CENTS"
    if not 0 <= coupon.percent_off <= 100:
        return f"invalid coupon: percent {coupon.percent_off} must be 0..100"
    if coupon.amount_off_cents and coupon.percent_off:
        return "invalid coupon: both an amount and a percentage"
    if not coupon.amount_off_cents and not coupon.percent_off:
        return "invalid coupon: no amount or percentage"
    return None


def apply_coupons(coupons: Sequence[Coupon], lines: Sequence[CouponLine]) -> CouponOutcome:
    """Apply ``coupons`` to ``lines``: SKU coupons, then basket coupons; percentages first.

    A coupon never takes a line or the basket below zero. Malformed coupons, repeated codes and
    coupons for a SKU not in the basket are reported as not applied, with the reason; they do not
    raise, so one bad scan cannot block the basket.
    """
    results: dict[int, AppliedCoupon] = {}
    to_apply: list[tuple[int, Coupon]] = []
    codes: set[str] = set()
    for index, coupon in enumerate(coupons):
        problem = coupon_problem(coupon)
        if problem is None and coupon.code in codes:
            problem = "duplicate coupon code"
        if problem is not None:
            results[index] = AppliedCoupon(coupon.code, 0, False, problem)
        else:
            codes.add(coupon.code)
            to_apply.append((index, coupon))

    # SKU coupons before basket coupons and percentages before amounts: the order that saves the
    # shopper the most; the code breaks ties so the coupons' scan order does not matter.
    to_apply.sort(key=lambda ic: (ic[1].sku is None, ic[1].percent_off == 0, ic[1].code))
    by_id = sorted(lines, key=lambda line: line.line_id)
    net = {line.line_id: line.net_cents for line in by_id}
    for index, coupon in to_apply:
        targets = [line.line_id for line in by_id if coupon.sku in (None, line.sku)]
        results[index] = _apply_coupon(coupon, targets, net, basket_empty=not lines)
    discounts = {line.line_id: line.net_cents - net[line.line_id] for line in by_id}
    return CouponOutcome(tuple(results[index] for index in range(len(coupons))), discounts)


def _apply_coupon(
    coupon: Coupon, targets: Sequence[int], net: dict[int, int], *, basket_empty: bool
) -> AppliedCoupon:
    if basket_empty:
        return AppliedCoupon(coupon.code, 0, False, "basket is empty")
    if not targets:
        return AppliedCoupon(coupon.code, 0, False, f"SKU {coupon.sku!r} not in basket")
    nets = [net[line_id] for line_id in targets]
    base = sum(nets)
    if base == 0:
        return AppliedCoupon(coupon.code, 0, False, "nothing left to discount")
    reason = ""
    if coupon.percent_off:
        saving = round_half_up(Fraction(base * coupon.percent_off, 100))
    else:
        saving = min(coupon.amount_off_cents, base)
        if saving < coupon.amount_off_cents:
            reason = f"capped at the remaining {saving} cents"
    if saving == 0:
        return AppliedCoupon(coupon.code, 0, False, "saving rounds to 0 cents")
    for line_id, share in zip(targets, allocate(saving, nets), strict=True):
        net[line_id] -= share
    return AppliedCoupon(coupon.code, saving, True, reason)
