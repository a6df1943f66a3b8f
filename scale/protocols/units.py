"""Weight units as the scales spell them, and strict decimal parsing into grams.

Numbers are parsed with :class:`decimal.Decimal` and converted to ``float`` once, after the unit
factor is applied, so ``1.234 kg`` becomes exactly ``1234.0`` g and a value the device wrote as
zero is the only thing that ever becomes ``0.0``.
"""

from __future__ import annotations

import re
from decimal import Decimal

# Exact factors (the pound and ounce are defined in grams by the 1959 international agreement).
GRAMS_PER_UNIT: dict[str, Decimal] = {
    "g": Decimal(1),
    "kg": Decimal(1000),
    "mg": Decimal("0.001"),
    "lb": Decimal("453.59237"),
    "lbs": Decimal("453.59237"),
    "oz": Decimal("28.349523125"),
    "ozt": Decimal("31.1034768"),
    "ct": Decimal("0.2"),
}

# Long fields are never real weights; the bound also keeps a float conversion from overflowing
# to inf or underflowing to 0.0 (which would turn a tiny value into a false zero).
MAX_NUMBER_CHARS = 16

_NUMBER = re.compile(r"([+-]?)[ ]*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)")


def parse_decimal(text: str) -> Decimal | None:
    """Parse a scale's decimal field (``"+00123.45"``, ``"-  1.234"``, ``"12."``) strictly.

    Only ASCII digits, one optional point and an optional sign (spaces may sit between the
    sign and the digits, as CAS indicators send them). Exponents, ``nan``, ``inf``,
    underscores and non-ASCII digits are rejected. Returns ``None`` when the text is not such a
    number.
    """
    stripped = text.strip(" ")
    if not stripped or len(stripped) > MAX_NUMBER_CHARS:
        return None
    match = _NUMBER.fullmatch(stripped)
    if match is None:
        return None
    sign, digits = match.groups()
    return Decimal(sign + digits)


def unit_factor(unit: str) -> Decimal | None:
    """Grams per one ``unit`` (case-insensitive, surrounding spaces ignored), or ``None``."""
    return GRAMS_PER_UNIT.get(unit.strip(" ").lower())


def to_grams(value: Decimal, unit: str) -> float | None:
    """Convert ``value`` in ``unit`` to grams, or ``None`` when the unit is not a known mass."""
    factor = unit_factor(unit)
    if factor is None:
        return None
    grams = float(value * factor)
    # -0.0 compares equal to 0.0 but prints oddly in logs; a zero is a zero.
    return 0.0 if grams == 0.0 else grams
