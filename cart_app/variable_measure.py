"""GS1 variable-measure (restricted circulation) codes: an item reference plus a weight or price.

A store's counter scale prints EAN-13 labels whose first two digits are a restricted-circulation
prefix (``02`` or ``20``-``29``), followed by the store's item reference, an optional
price/measure verifier digit, the value (grams or cents) and the usual GTIN check digit::

    prefix  item reference  [verifier]  value  check
    2 3     1 0 0 0 1                   0 0 4 1 2  C      (item 10001, 412 g)

Layouts differ by country and by store, so the layout is a :class:`VariableMeasureScheme`.
The verifier digit follows GS1 General Specifications section 7.9.3 for 4- and 5-digit values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from vision.gtin import GTIN14_LENGTH, append_check_digit, normalize_gtin

ValueKind = Literal["weight_g", "price_cents"]

_PAYLOAD_DIGITS = 10
"""Digits of an EAN-13 between its 2-digit prefix and its check digit."""

# GS1 weighting factors for the verifier digit, as "weighted product" tables per digit 0-9:
# 2- takes the units digit of 2*d minus its tens digit, 3 the units digit of 3*d, 5+ the units
# digit of 5*d plus its tens digit, 5- the units digit of 5*d minus its tens digit.
_W2_MINUS = (0, 2, 4, 6, 8, 9, 1, 3, 5, 7)
_W3 = (0, 3, 6, 9, 2, 5, 8, 1, 4, 7)
_W5_PLUS = (0, 5, 1, 6, 2, 7, 3, 8, 4, 9)
_W5_MINUS = (0, 5, 9, 4, 8, 3, 7, 2, 6, 1)
_FOUR_DIGIT_WEIGHTS = (_W2_MINUS, _W2_MINUS, _W3, _W5_MINUS)
_FIVE_DIGIT_WEIGHTS = (_W5_PLUS, _W2_MINUS, _W5_MINUS, _W5_PLUS, _W2_MINUS)


class VariableMeasureError(ValueError):
    """A variable-measure code that does not fit its scheme (e.g. a wrong price verifier digit)."""


def value_check_digit(value: str) -> int:
    """The GS1 price/measure verifier digit of a 4- or 5-digit value field.

    4 digits: weighted products (2-, 2-, 3, 5-) summed, times 3, units digit. 5 digits: weighted
    products (5+, 2-, 5-, 5+, 2-) summed; the verifier is the digit whose 5- product equals the
    amount that brings the sum up to a multiple of ten.
    """
    if not value.isascii() or not value.isdigit():
        raise VariableMeasureError(f"value field {value!r} must be digits")
    digits = [int(d) for d in value]
    if len(digits) == 4:
        total = sum(table[d] for table, d in zip(_FOUR_DIGIT_WEIGHTS, digits, strict=True))
        return (total * 3) % 10
    if len(digits) == 5:
        total = sum(table[d] for table, d in zip(_FIVE_DIGIT_WEIGHTS, digits, strict=True))
        return _W5_MINUS.index((10 - total % 10) % 10)
    raise VariableMeasureError(
        f"a verifier digit is defined for 4- or 5-digit values, not {len(digits)}"
    )


@dataclass(frozen=True, slots=True)
class VariableMeasureScheme:
    """How a store lays out its variable-measure EAN-13 codes.

    ``prefixes`` are the 2-digit restricted-circulation prefixes this layout covers.
    ``item_digits`` + ``value_digits`` (+1 with ``has_value_check_digit``) must fill the 10 digits
    between prefix and check digit. ``value_kind`` says whether the value is grams or cents.
    ``overrides`` are layouts for other prefixes (e.g. ``02`` priced, ``2x`` weighed); they win
    over this one for their own prefixes and may not have overrides themselves.
    """

    prefixes: frozenset[str]
    item_digits: int = 5
    value_digits: int = 5
    value_kind: ValueKind = "weight_g"
    has_value_check_digit: bool = False
    overrides: tuple[VariableMeasureScheme, ...] = ()

    def __post_init__(self) -> None:
        for prefix in self.prefixes:
            if len(prefix) != 2 or not prefix.isascii() or not prefix.isdigit():
                raise ValueError(f"prefix {prefix!r} must be two digits")
        if self.item_digits < 1 or self.value_digits < 1:
            raise ValueError("item_digits and value_digits must be positive")
        used = self.item_digits + self.value_digits + int(self.has_value_check_digit)
        if used != _PAYLOAD_DIGITS:
            raise ValueError(
                f"item_digits + value_digits + verifier = {used}, must be {_PAYLOAD_DIGITS}"
            )
        if self.has_value_check_digit and self.value_digits not in (4, 5):
            raise ValueError("a value verifier digit needs a 4- or 5-digit value")
        if self.value_kind not in ("weight_g", "price_cents"):
            raise ValueError(f"unknown value_kind {self.value_kind!r}")
        seen: set[str] = set()
        for override in self.overrides:
            if override.overrides:
                raise ValueError("an override may not have overrides of its own")
            if seen & override.prefixes:
                raise ValueError(f"prefixes {sorted(seen & override.prefixes)} overridden twice")
            seen |= override.prefixes

    @property
    def all_prefixes(self) -> frozenset[str]:
        """Every prefix handled by this scheme or one of its overrides."""
        result = set(self.prefixes)
        for override in self.overrides:
            result |= override.prefixes
        return frozenset(result)

    def layout_for(self, prefix: str) -> VariableMeasureScheme | None:
        """The layout for ``prefix``, or None when the prefix is not variable-measure."""
        for override in self.overrides:
            if prefix in override.prefixes:
                return override
        return self if prefix in self.prefixes else None


DEFAULT_SCHEME = VariableMeasureScheme(
    prefixes=frozenset(str(p) for p in range(20, 30)),
    item_digits=5,
    value_digits=5,
    value_kind="weight_g",
    has_value_check_digit=False,
    overrides=(
        # UPC-A number system 2 (``02`` as EAN-13): the North American price-embedded layout.
        VariableMeasureScheme(
            prefixes=frozenset({"02"}),
            item_digits=5,
            value_digits=4,
            value_kind="price_cents",
            has_value_check_digit=True,
        ),
    ),
)
"""``20``-``29``: 5-digit item, net weight in grams (up to 99.999 kg), no verifier digit.
``02``: 5-digit item, verifier digit, price in cents (up to 99.99)."""


@dataclass(frozen=True, slots=True)
class VariableMeasureRead:
    """What a variable-measure code says.

    ``lookup_gtin`` is the code with its value field (and verifier) zeroed and the check digit
    recomputed, the form a point-of-sale catalog stores. ``item_reference`` is the raw digits
    after the prefix. Exactly one of ``weight_g`` and ``price_cents`` is set.
    """

    prefix: str
    item_reference: str
    lookup_gtin: str
    weight_g: float | None
    price_cents: int | None


def _ean13_part(gtin14: str) -> str:
    normalized = normalize_gtin(gtin14)
    # A restricted-circulation code is an EAN-13 (or UPC-A), so the GTIN-14 indicator is 0.
    return normalized[1:] if normalized[0] == "0" else ""


def is_variable_measure(gtin14: str, scheme: VariableMeasureScheme = DEFAULT_SCHEME) -> bool:
    """Whether ``gtin14`` carries one of the scheme's variable-measure prefixes.

    Raises :class:`InvalidGtin` for a malformed code.
    """
    ean13 = _ean13_part(gtin14)
    return bool(ean13) and scheme.layout_for(ean13[:2]) is not None


def parse_variable_measure(
    gtin14: str, scheme: VariableMeasureScheme = DEFAULT_SCHEME
) -> VariableMeasureRead:
    """Split a variable-measure code into item reference and weight or price.

    Raises :class:`InvalidGtin` for a malformed code and :class:`VariableMeasureError` for a
    code outside the scheme's prefixes or with a wrong value verifier digit.
    """
    ean13 = _ean13_part(gtin14)
    prefix = ean13[:2]
    layout = scheme.layout_for(prefix) if ean13 else None
    if layout is None:
        raise VariableMeasureError(f"code {gtin14!r} has no variable-measure prefix of the scheme")
    start = 2
    item_reference = ean13[start : start + layout.item_digits]
    start += layout.item_digits
    if layout.has_value_check_digit:
        verifier = int(ean13[start])
        start += 1
    value = ean13[start : start + layout.value_digits]
    if layout.has_value_check_digit:
        expected = value_check_digit(value)
        if verifier != expected:
            raise VariableMeasureError(
                f"code {gtin14!r}: value {value} has verifier digit {verifier}, expected {expected}"
            )
    zeroed = prefix + item_reference + "0" * (_PAYLOAD_DIGITS - layout.item_digits)
    lookup = append_check_digit(zeroed).zfill(GTIN14_LENGTH)
    amount = int(value)
    if layout.value_kind == "weight_g":
        return VariableMeasureRead(prefix, item_reference, lookup, float(amount), None)
    return VariableMeasureRead(prefix, item_reference, lookup, None, amount)


def build_variable_measure(
    prefix: str, item_reference: str, value: int, scheme: VariableMeasureScheme = DEFAULT_SCHEME
) -> str:
    """The GTIN-14 of a variable-measure label (what a counter scale would print).

    Used by the simulator and tests; raises :class:`VariableMeasureError` when the parts do not
    fit the scheme's layout for ``prefix``.
    """
    layout = scheme.layout_for(prefix)
    if layout is None:
        raise VariableMeasureError(f"prefix {prefix!r} is not variable-measure in this scheme")
    digits_ok = item_reference.isascii() and item_reference.isdigit()
    if len(item_reference) != layout.item_digits or not digits_ok:
        raise VariableMeasureError(
            f"item reference {item_reference!r} must be {layout.item_digits} digits"
        )
    if not 0 <= value < 10**layout.value_digits:
        raise VariableMeasureError(f"value {value} does not fit {layout.value_digits} digits")
    field = f"{value:0{layout.value_digits}d}"
    verifier = str(value_check_digit(field)) if layout.has_value_check_digit else ""
    return append_check_digit(prefix + item_reference + verifier + field).zfill(GTIN14_LENGTH)
