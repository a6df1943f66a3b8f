"""Numbers as the shopper reads them: money, weights, per-kg and per-unit details.

Money comes from :func:`cart_app.money.format_money`; weights use the same decimal mark as the
store's currency, so a line reads ``0,642 kg × 29,90 kr/kg`` in a Swedish store and
``0.642 kg × $2.99/kg`` in an American one.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from cart_app.money import format_money


@cache
def decimal_mark(currency: str) -> str:
    """The decimal mark the currency's money format uses (``","`` for SEK, ``"."`` for USD)."""
    text = format_money(1, currency)  # "0,01 kr", "$0.01", "CHF 0.01"
    at = text.rindex("01")
    return text[at - 1]


def money(cents: int, currency: str) -> str:
    """``cents`` in the store's currency."""
    return format_money(cents, currency)


def whole_grams(grams: float) -> int:
    """Grams rounded half up, as pricing charges them (the reading's shortest decimal, so
    1234.5 g is a half and rounds up)."""
    return int(Decimal(repr(float(grams))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def kilograms(grams: float, currency: str) -> str:
    """``642`` → ``"0,642 kg"``: whole grams as kilograms with three decimals."""
    g = whole_grams(grams)
    sign = "-" if g < 0 else ""
    whole, rest = divmod(abs(g), 1000)
    return f"{sign}{whole}{decimal_mark(currency)}{rest:03d} kg"


def grams_text(grams: float) -> str:
    """A weight change as evidence: ``"+642 g"``, ``"-1 060 g"`` (sign always shown)."""
    sign = "+" if grams >= 0 else "-"
    whole = abs(whole_grams(grams))
    return f"{sign}{whole:,} g".replace(",", " ")


def per_kg_detail(weight_g: float, price_per_kg_cents: int, currency: str) -> str:
    """``"0,642 kg × 29,90 kr/kg"``."""
    return f"{kilograms(weight_g, currency)} × {money(price_per_kg_cents, currency)}/kg"


def per_unit_detail(quantity: int, unit_cents: int, currency: str) -> str:
    """``"3 × 12,90 kr"``."""
    return f"{quantity} × {money(unit_cents, currency)}"


def group(value: float) -> str:
    """A whole number with thin grouping, as weights read on screen: ``1234.4`` → ``"1 234"``."""
    return f"{whole_grams(value):,}".replace(",", " ")


def typed(text: str, key: str) -> str:
    """``text`` after one key of the on-screen keyboard: ``\b`` deletes, ``\x1b`` clears."""
    if key == "\b":
        return text[:-1]
    if key == "\x1b":
        return ""
    return text + key
