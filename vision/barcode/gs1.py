"""GS1 element strings: the payload of DataBar Expanded (and DataBar's ``(01)``), parsed by AI.

A GS1 element string is a run of Application Identifiers (AIs), each followed by its data:
``(01)90012345678908(3103)001750`` in human-readable form. In the symbol itself there are no
parentheses: an AI whose data length is predefined (by its first two digits) runs straight into
the next AI, and any other AI's data ends with FNC1, which decoders hand out as the ASCII group
separator ``\\x1d``. zbar and zxing-cpp's ``Plain`` text mode both give that raw form; this module
parses it (or the parenthesised form) into :class:`GS1Data`.

A misread is worse than a miss, so the parser is strict: an unknown AI, a data field of the
wrong length or character class, or an ``(01)`` GTIN with a bad check digit raise
:class:`InvalidElementString` and the read is dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from vision.gtin import InvalidGtin, normalize_gtin

GROUP_SEPARATOR = "\x1d"
"""FNC1 inside an element string, as decoders report it."""


class InvalidElementString(ValueError):
    """Text that is not a well-formed GS1 element string."""


# AI length (2, 3 or 4 digits) from the AI's first two digits (GS1 General Specifications,
# section 3.2). A prefix not listed here starts no AI that is in use: the read is rejected.
_AI_LENGTH: dict[str, int] = {
    **{f"{n:02d}": 2 for n in range(23)},
    "23": 3,
    "24": 3,
    "25": 3,
    "30": 2,
    **{f"{n:02d}": 4 for n in range(31, 37)},
    "37": 2,
    "39": 4,
    "40": 3,
    "41": 3,
    "42": 3,
    "43": 4,
    "70": 4,
    "71": 3,
    "72": 4,
    "80": 4,
    "81": 4,
    "82": 4,
    **{f"{n:02d}": 2 for n in range(90, 100)},
}

# Total length (AI + data) of the AIs whose length is predefined by their first two digits:
# these are never followed by FNC1 (GS1 General Specifications, figure 7.8.5-2).
_PREDEFINED_TOTAL: dict[str, int] = {
    "00": 20,
    "01": 16,
    "02": 16,
    "03": 16,
    "04": 18,
    **{f"{n:02d}": 8 for n in range(11, 20)},
    "20": 4,
    **{f"{n:02d}": 10 for n in range(31, 37)},
    "41": 16,
}

# Data formats of the AIs the cart uses or that appear on produce, coupons and tests:
# (minimum length, maximum length, numeric only). AIs not listed are accepted as 1..90
# characters of GS1's character set when their prefix is known.
_FORMATS: dict[str, tuple[int, int, bool]] = {
    "00": (18, 18, True),
    "01": (14, 14, True),
    "02": (14, 14, True),
    "10": (1, 20, False),
    "11": (6, 6, True),
    "12": (6, 6, True),
    "13": (6, 6, True),
    "15": (6, 6, True),
    "16": (6, 6, True),
    "17": (6, 6, True),
    "20": (2, 2, True),
    "21": (1, 20, False),
    "22": (1, 20, False),
    "30": (1, 8, True),
    "37": (1, 8, True),
    "420": (1, 20, False),
    "421": (4, 12, False),
    "422": (3, 3, True),
    "423": (3, 15, True),
    "424": (3, 3, True),
    "425": (3, 15, True),
    "426": (3, 3, True),
    "7003": (10, 10, True),
    "8005": (6, 6, True),
}
_FOUR_DIGIT_NUMERIC = re.compile(r"3[1-6]\d\d")  # measures: 310n..369n, six digits
_PRICE = re.compile(r"39[0-3]\d")  # 390n..393n amounts

# GS1's "character set 82": the only characters an element string may hold.
_CSET82 = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
_HRI_ELEMENT = re.compile(r"\((\d{2,4})\)")


def _ai_at(text: str, pos: int) -> str:
    prefix = text[pos : pos + 2]
    length = _AI_LENGTH.get(prefix)
    if length is None or not prefix.isdigit():
        raise InvalidElementString(f"no known AI starts with {prefix!r} at {pos} in {text!r}")
    ai = text[pos : pos + length]
    if len(ai) != length or not ai.isascii() or not ai.isdigit():
        raise InvalidElementString(f"truncated AI {ai!r} at {pos} in {text!r}")
    return ai


def _check_field(ai: str, value: str) -> None:
    if not value:
        raise InvalidElementString(f"AI ({ai}) has no data")
    bad = sorted(set(value) - _CSET82)
    if bad:
        raise InvalidElementString(f"AI ({ai}) data {value!r} has invalid characters {bad!r}")
    if _FOUR_DIGIT_NUMERIC.fullmatch(ai):
        fmt: tuple[int, int, bool] = (6, 6, True)
    elif _PRICE.fullmatch(ai):
        fmt = (1, 18, True)
    else:
        fmt = _FORMATS.get(ai, (1, 90, False))
    low, high, numeric = fmt
    if not low <= len(value) <= high:
        raise InvalidElementString(
            f"AI ({ai}) data {value!r} has {len(value)} characters, expected {low}..{high}"
        )
    if numeric and not (value.isascii() and value.isdigit()):
        raise InvalidElementString(f"AI ({ai}) data {value!r} must be digits")
    if ai in ("01", "02"):
        try:
            normalize_gtin(value)
        except InvalidGtin as exc:
            raise InvalidElementString(f"AI ({ai}): {exc}") from exc


def parse_raw_element_string(text: str) -> tuple[tuple[str, str], ...]:
    """Split a raw element string (FNC1 as ``\\x1d``, no parentheses) into (AI, data) pairs.

    A leading FNC1 or symbology identifier (``]e0``, ``]C1``, ``]Q3``) is skipped.
    """
    for prefix in ("]e0", "]C1", "]Q3", "]d2", "]J1"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    text = text.lstrip(GROUP_SEPARATOR)
    elements: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        ai = _ai_at(text, pos)
        total = _PREDEFINED_TOTAL.get(ai[:2])
        if total is not None:
            end = pos + total
            if end > len(text):
                raise InvalidElementString(f"AI ({ai}) data is cut short in {text!r}")
            value = text[pos + len(ai) : end]
            pos = end
            # An encoder may still put FNC1 after a predefined-length field; it means nothing.
            if pos < len(text) and text[pos] == GROUP_SEPARATOR:
                pos += 1
        else:
            sep = text.find(GROUP_SEPARATOR, pos)
            end = len(text) if sep < 0 else sep
            value = text[pos + len(ai) : end]
            pos = end + 1 if sep >= 0 else end
        _check_field(ai, value)
        elements.append((ai, value))
    if not elements:
        raise InvalidElementString("empty element string")
    return tuple(elements)


def parse_hri_element_string(text: str) -> tuple[tuple[str, str], ...]:
    """Split a human-readable element string ``(01)...(3103)...`` into (AI, data) pairs.

    Parentheses may also appear inside data (they are in GS1's character set), so an opening
    parenthesis counts as the start of an AI only when it encloses a known AI.
    """
    if not text.startswith("("):
        raise InvalidElementString(f"{text!r} does not start with an AI in parentheses")
    starts = [
        m for m in _HRI_ELEMENT.finditer(text) if _AI_LENGTH.get(m.group(1)[:2]) == len(m.group(1))
    ]
    if not starts or starts[0].start() != 0:
        raise InvalidElementString(f"{text!r} holds no known AI")
    elements: list[tuple[str, str]] = []
    for i, m in enumerate(starts):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        ai, value = m.group(1), text[m.end() : end]
        _check_field(ai, value)
        elements.append((ai, value))
    return tuple(elements)


def _gs1_date(value: str, reference_year: int) -> dt.date | None:
    """YYMMDD with GS1's sliding century (General Specifications 7.12); DD 00 = month's end."""
    yy, mm, dd = int(value[:2]), int(value[2:4]), int(value[4:6])
    year = reference_year - reference_year % 100 + yy
    if year - reference_year > 50:
        year -= 100
    elif reference_year - year >= 50:
        year += 100
    if not 1 <= mm <= 12:
        return None
    if dd == 0:
        nxt = dt.date(year + mm // 12, mm % 12 + 1, 1)
        return nxt - dt.timedelta(days=1)
    try:
        return dt.date(year, mm, dd)
    except ValueError:
        return None


def _decimal(ai: str, value: str) -> Decimal:
    """The value of a 4-digit AI whose last digit counts the implied decimals."""
    return Decimal(int(value)).scaleb(-int(ai[3]))


@dataclass(frozen=True, slots=True)
class GS1Data:
    """A parsed GS1 element string: the (AI, data) pairs in order, with typed accessors.

    Weights and prices are :class:`~decimal.Decimal` (exact), never floats. Dates follow the
    GS1 sliding century around ``reference_year`` (the year the label is read).
    """

    elements: tuple[tuple[str, str], ...]
    reference_year: int = 2026

    @classmethod
    def parse(cls, text: str, *, reference_year: int | None = None) -> GS1Data:
        """Parse either form: parenthesised HRI or raw with ``\\x1d`` separators."""
        year = dt.date.today().year if reference_year is None else reference_year
        if text.startswith("("):
            return cls(parse_hri_element_string(text), year)
        return cls(parse_raw_element_string(text), year)

    def get(self, ai: str) -> str | None:
        """The data of the first element with this AI, or None."""
        for key, value in self.elements:
            if key == ai:
                return value
        return None

    def _first(self, pattern: str) -> tuple[str, str] | None:
        rx = re.compile(pattern)
        for key, value in self.elements:
            if rx.fullmatch(key):
                return key, value
        return None

    def hri(self) -> str:
        """The human-readable form, ``(01)90012345678908(3103)001750``."""
        return "".join(f"({ai}){value}" for ai, value in self.elements)

    @property
    def gtin(self) -> str | None:
        """AI (01) as a GTIN-14 (check digit verified at parse time)."""
        return self.get("01")

    @property
    def net_weight_kg(self) -> Decimal | None:
        """AI (310n): net weight in kilograms, n decimals."""
        found = self._first(r"310\d")
        return None if found is None else _decimal(*found)

    @property
    def net_weight_lb(self) -> Decimal | None:
        """AI (320n): net weight in pounds, n decimals."""
        found = self._first(r"320\d")
        return None if found is None else _decimal(*found)

    @property
    def price(self) -> Decimal | None:
        """AI (392n) amount payable in the local currency, or (393n)'s amount; n decimals."""
        found = self._first(r"392\d")
        if found is not None:
            return _decimal(*found)
        found = self._first(r"393\d")
        return None if found is None else _decimal(found[0], found[1][3:])

    @property
    def price_currency(self) -> str | None:
        """ISO 4217 numeric currency code of a (393n) price."""
        found = self._first(r"393\d")
        return None if found is None else found[1][:3]

    @property
    def batch(self) -> str | None:
        """AI (10): batch or lot number."""
        return self.get("10")

    @property
    def serial(self) -> str | None:
        """AI (21): serial number."""
        return self.get("21")

    @property
    def count(self) -> int | None:
        """AI (30): variable count of items."""
        value = self.get("30")
        return None if value is None else int(value)

    def _date(self, ai: str) -> dt.date | None:
        value = self.get(ai)
        return None if value is None else _gs1_date(value, self.reference_year)

    @property
    def production_date(self) -> dt.date | None:
        """AI (11)."""
        return self._date("11")

    @property
    def packaging_date(self) -> dt.date | None:
        """AI (13)."""
        return self._date("13")

    @property
    def best_before(self) -> dt.date | None:
        """AI (15)."""
        return self._date("15")

    @property
    def expiry(self) -> dt.date | None:
        """AI (17)."""
        return self._date("17")
