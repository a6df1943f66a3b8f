"""GTIN parsing and validation: EAN-8, UPC-A, UPC-E, EAN-13 and GTIN-14 to one 14-digit form.

Every product code in the core is a GTIN-14 string (left-padded with zeros). Padding keeps the
GS1 check digit valid because its weights run from the right, so an EAN-13, the UPC-A it may
come from, and the 13-digit form that zbar reports for UPC-A all normalise to the same key.
"""

from __future__ import annotations

GTIN14_LENGTH = 14
"""Length of the canonical form every code is normalised to."""

_DIGITS = frozenset("0123456789")
_SEPARATORS = str.maketrans("", "", " -")
_GTIN_LENGTHS = (8, 12, 13, 14)
_UPCE_SYMBOLOGIES = frozenset({"upce", "upc-e", "upc_e"})


class InvalidGtin(ValueError):
    """A code that is not a well-formed GTIN: bad length, non-digits or a wrong check digit."""


def _require_digits(code: str, what: str) -> None:
    bad = sorted({c for c in code if c not in _DIGITS})
    if bad:
        # str.isdigit() would accept '²' or Arabic-Indic digits; a barcode never holds those.
        raise InvalidGtin(f"{what} {code!r} contains non-digit characters: {''.join(bad)!r}")


def gs1_check_digit(body: str) -> int:
    """The GS1 mod-10 check digit of ``body`` (the code without its check digit).

    Weights alternate 3, 1, 3, ... starting from the rightmost digit of the body.
    """
    if not body:
        raise InvalidGtin("cannot compute a check digit of an empty code")
    _require_digits(body, "code")
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def append_check_digit(body: str) -> str:
    """``body`` followed by its GS1 check digit."""
    return body + str(gs1_check_digit(body))


def _verify_check_digit(code: str, what: str) -> None:
    expected = gs1_check_digit(code[:-1])
    got = int(code[-1])
    if got != expected:
        raise InvalidGtin(f"{what} {code!r} has check digit {got}, expected {expected}")


def _clean(code: str) -> str:
    return code.strip().translate(_SEPARATORS)


def expand_upce(code: str) -> str:
    """Expand a UPC-E code to its 12-digit UPC-A form, verifying the check digit.

    Accepts 8 digits (number system 0 or 1, six payload digits, check digit), 7 digits
    (number system and payload, check digit computed) or 6 digits (payload only, number
    system 0, check digit computed). The payload's last digit selects the expansion rule.
    """
    digits = _clean(code)
    if not digits:
        raise InvalidGtin("UPC-E code is empty")
    _require_digits(digits, "UPC-E code")
    if len(digits) == 6:
        number_system, payload, check = "0", digits, None
    elif len(digits) == 7:
        number_system, payload, check = digits[0], digits[1:], None
    elif len(digits) == 8:
        number_system, payload, check = digits[0], digits[1:7], digits[7]
    else:
        raise InvalidGtin(f"UPC-E code {digits!r} has {len(digits)} digits, expected 6, 7 or 8")
    if number_system not in ("0", "1"):
        raise InvalidGtin(
            f"UPC-E code {digits!r} has number system {number_system}, expected 0 or 1"
        )
    d1, d2, d3, d4, d5, d6 = tuple(payload)
    if d6 in "012":
        body = f"{number_system}{d1}{d2}{d6}0000{d3}{d4}{d5}"
    elif d6 == "3":
        body = f"{number_system}{d1}{d2}{d3}00000{d4}{d5}"
    elif d6 == "4":
        body = f"{number_system}{d1}{d2}{d3}{d4}00000{d5}"
    else:
        body = f"{number_system}{d1}{d2}{d3}{d4}{d5}0000{d6}"
    expected = gs1_check_digit(body)
    if check is not None and int(check) != expected:
        raise InvalidGtin(f"UPC-E code {digits!r} has check digit {check}, expected {expected}")
    return body + str(expected)


def _is_upce(symbology: str | None) -> bool:
    return symbology is not None and symbology.strip().lower() in _UPCE_SYMBOLOGIES


def normalize_gtin(code: str, *, symbology: str | None = None) -> str:
    """Return ``code`` as a 14-digit GTIN with a verified check digit.

    Spaces and dashes are ignored. Lengths 8 (EAN-8), 12 (UPC-A), 13 (EAN-13, or UPC-A with the
    leading 0 zbar adds) and 14 (GTIN-14) are accepted. The only hint that changes the reading is
    ``symbology`` naming UPC-E (``"upce"``, ``"UPC-E"``, zbar's ``"UPCE"``): the code is then
    expanded first. Any other hint is ignored, so an 8-digit code without it is EAN-8.

    Raises :class:`InvalidGtin` naming the problem.
    """
    digits = _clean(code)
    if _is_upce(symbology):
        return expand_upce(digits).zfill(GTIN14_LENGTH)
    if not digits:
        raise InvalidGtin("GTIN is empty")
    _require_digits(digits, "GTIN")
    if len(digits) not in _GTIN_LENGTHS:
        raise InvalidGtin(f"GTIN {digits!r} has {len(digits)} digits, expected 8, 12, 13 or 14")
    _verify_check_digit(digits, "GTIN")
    return digits.zfill(GTIN14_LENGTH)


def is_valid_gtin(code: str, *, symbology: str | None = None) -> bool:
    """Whether :func:`normalize_gtin` accepts ``code``."""
    try:
        normalize_gtin(code, symbology=symbology)
    except InvalidGtin:
        return False
    return True
