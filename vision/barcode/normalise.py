"""From what a decoder says to what the cart may trust: symbology, canonical text and GTIN-14.

Every decoder has its own names and conventions; the known zbar pitfalls are handled here, in
one place, so that the same symbol read by zbar, zxing-cpp or OpenCV gives the same result:

- UPC-A reported as a 13-digit EAN-13 with a leading 0: it *is* a UPC-A (an EAN-13 whose first
  digit is 0 has exactly UPC-A's bar pattern), so it is reported as ``upca`` with 12 digits.
- UPC-E reported compressed (8 digits), or already expanded to 12/13 digits (zbar's default
  configuration, zxing-cpp's text): the canonical text is the 8-digit UPC-E and the GTIN is
  the expansion. An "expanded" form that no UPC-E can produce is a misread and is rejected.
- ISBN: zbar's ``ISBN13`` is an EAN-13 (978/979 Bookland); ``ISBN10`` text is converted back
  to the EAN-13 it came from (the ISBN-10 check digit, possibly ``X``, is not a GTIN's).
- Partial or short reads: every EAN/UPC length is exact and its check digit is verified.
- DataBar: ``(01)`` + 14 digits, with or without parentheses; DataBar Expanded: a GS1 element
  string parsed by AI (see :mod:`vision.barcode.gs1`).

Anything that does not pass raises :class:`RejectedRead`: a misread is worse than a miss.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from vision.barcode.gs1 import GS1Data, InvalidElementString
from vision.gtin import GTIN14_LENGTH, InvalidGtin, expand_upce, gs1_check_digit, normalize_gtin


class Symbology(enum.StrEnum):
    """The symbologies the cart reads (values are what :class:`BarcodeRead` carries)."""

    EAN13 = "ean13"
    UPCA = "upca"
    EAN8 = "ean8"
    UPCE = "upce"
    DATABAR = "databar"
    DATABAR_LIMITED = "databar-limited"
    DATABAR_EXPANDED = "databar-expanded"
    QR = "qr"


EAN_UPC = frozenset({Symbology.EAN13, Symbology.UPCA, Symbology.EAN8, Symbology.UPCE})
"""The EAN/UPC family: one bar pattern family, where one symbol can hide inside another."""

# Decoder names (zbar, zxing-cpp, OpenCV; compared case-insensitively, without spaces,
# dashes and underscores) to symbology.
_NAMES: dict[str, Symbology] = {
    "ean13": Symbology.EAN13,
    "isbn13": Symbology.EAN13,
    "isbn10": Symbology.EAN13,
    "isbn": Symbology.EAN13,
    "upca": Symbology.UPCA,
    "ean8": Symbology.EAN8,
    "upce": Symbology.UPCE,
    "databar": Symbology.DATABAR,
    "databaromni": Symbology.DATABAR,
    "databarstacked": Symbology.DATABAR,
    "databarstackedomni": Symbology.DATABAR,
    "databarstk": Symbology.DATABAR,
    "databarstkomni": Symbology.DATABAR,
    "rss14": Symbology.DATABAR,
    "databarlimited": Symbology.DATABAR_LIMITED,
    "databarltd": Symbology.DATABAR_LIMITED,
    "databarexp": Symbology.DATABAR_EXPANDED,
    "databarexpanded": Symbology.DATABAR_EXPANDED,
    "databarexpandedstacked": Symbology.DATABAR_EXPANDED,
    "databarexpstk": Symbology.DATABAR_EXPANDED,
    "rssexpanded": Symbology.DATABAR_EXPANDED,
    "qrcode": Symbology.QR,
    "qr": Symbology.QR,
}


class RejectedRead(ValueError):
    """A decoder's output that is not a valid code of a symbology the cart reads."""


@dataclass(frozen=True, slots=True)
class NormalisedCode:
    """A decoder's output after normalisation.

    ``text`` is canonical per symbology: EAN-13 13 digits, UPC-A 12, EAN-8 8, UPC-E 8
    (compressed, as printed), DataBar the human-readable element string (``(01)`` + 14 digits
    for omni/limited), QR the decoded text. ``gtin`` is the GTIN-14 with a verified check digit
    (None for a QR code, and for a DataBar Expanded without AI 01).
    """

    symbology: Symbology
    text: str
    gtin: str | None


def symbology_from_name(name: str) -> Symbology:
    """Map a decoder's symbology name (``EAN13``, ``UPC-E``, ``DataBar Expanded``...)."""
    key = name.lower().translate(str.maketrans("", "", " -_"))
    try:
        return _NAMES[key]
    except KeyError:
        raise RejectedRead(f"symbology {name!r} is not one the cart reads") from None


def compress_upca_to_upce(upca: str) -> str | None:
    """The 8-digit UPC-E that expands to this 12-digit UPC-A, or None when there is none."""
    if len(upca) != 12 or not (upca.isascii() and upca.isdigit()) or upca[0] not in "01":
        return None
    ns, body, check = upca[0], upca[1:11], upca[11]
    manufacturer, product = body[:5], body[5:]
    for candidate in _upce_candidates(ns, manufacturer, product):
        try:
            if expand_upce(candidate + check) == upca:
                return candidate + check
        except InvalidGtin:
            continue
    return None


def _upce_candidates(ns: str, m: str, p: str) -> list[str]:
    """Every UPC-E body (number system + 6 digits) that could expand to ``ns m p``."""
    out = []
    if m[3:] == "00" and m[2] in "012" and p[:2] == "00":
        out.append(f"{ns}{m[:2]}{p[2:5]}{m[2]}")
    if m[3:] == "00" and p[:3] == "000":
        out.append(f"{ns}{m[:3]}{p[3:5]}3")
    if m[4] == "0" and p[:4] == "0000":
        out.append(f"{ns}{m[:4]}{p[4]}4")
    if p[:4] == "0000" and p[4] in "56789":
        out.append(f"{ns}{m}{p[4]}")
    return out


def isbn10_to_ean13(isbn10: str) -> str:
    """The Bookland EAN-13 (978 prefix) of an ISBN-10; the ISBN-10 check digit is verified."""
    code = isbn10.replace("-", "").replace(" ", "").upper()
    if len(code) != 10 or not code[:9].isdigit() or not (code[9].isdigit() or code[9] == "X"):
        raise RejectedRead(f"ISBN-10 {isbn10!r} is malformed")
    total = sum((10 - i) * int(d) for i, d in enumerate(code[:9]))
    check = (11 - total % 11) % 11
    if ("X" if check == 10 else str(check)) != code[9]:
        raise RejectedRead(f"ISBN-10 {isbn10!r} has a bad check digit")
    body = "978" + code[:9]
    return body + str(gs1_check_digit(body))


def _digits(text: str, what: str) -> str:
    code = text.strip()
    if not code.isascii() or not code.isdigit():
        raise RejectedRead(f"{what} {text!r} is not all digits")
    return code


def _gtin(code: str) -> str:
    try:
        return normalize_gtin(code)
    except InvalidGtin as exc:
        raise RejectedRead(str(exc)) from exc


def _normalise_ean13(text: str, name: str) -> NormalisedCode:
    if name.replace("-", "").replace("_", "").lower() == "isbn10":
        text = isbn10_to_ean13(text)
    code = _digits(text, "EAN-13")
    if len(code) != 13:
        raise RejectedRead(f"EAN-13 {code!r} has {len(code)} digits")
    gtin = _gtin(code)
    if code[0] == "0":
        # zbar reports UPC-A as a 13-digit EAN-13: the same bars, so say what it is.
        return NormalisedCode(Symbology.UPCA, code[1:], gtin)
    return NormalisedCode(Symbology.EAN13, code, gtin)


def _normalise_upca(text: str) -> NormalisedCode:
    code = _digits(text, "UPC-A")
    if len(code) == 13 and code[0] == "0":
        code = code[1:]
    if len(code) != 12:
        raise RejectedRead(f"UPC-A {code!r} has {len(code)} digits")
    return NormalisedCode(Symbology.UPCA, code, _gtin(code))


def _normalise_ean8(text: str) -> NormalisedCode:
    code = _digits(text, "EAN-8")
    if len(code) != 8:
        raise RejectedRead(f"EAN-8 {code!r} has {len(code)} digits")
    return NormalisedCode(Symbology.EAN8, code, _gtin(code))


def _normalise_upce(text: str) -> NormalisedCode:
    code = _digits(text, "UPC-E")
    if len(code) in (12, 13):
        # Already expanded by the decoder: it must be an expansion some UPC-E produces.
        upca = code[-12:]
        if len(code) == 13 and code[0] != "0":
            raise RejectedRead(f"UPC-E expansion {code!r} is not a UPC-A")
        compressed = compress_upca_to_upce(upca)
        if compressed is None:
            raise RejectedRead(f"{code!r} is not the expansion of any UPC-E")
        code = compressed
    if len(code) != 8:
        raise RejectedRead(f"UPC-E {code!r} has {len(code)} digits, expected 8")
    try:
        upca = expand_upce(code)
    except InvalidGtin as exc:
        raise RejectedRead(str(exc)) from exc
    return NormalisedCode(Symbology.UPCE, code, upca.zfill(GTIN14_LENGTH))


def _normalise_databar(text: str, symbology: Symbology) -> NormalisedCode:
    code = text.strip()
    if code.startswith("(01)"):
        code = code[4:]
    elif code.startswith("01") and len(code) == 16:
        code = code[2:]
    code = _digits(code, "DataBar")
    if len(code) == 13:
        # Without its check digit there is nothing to verify the read against.
        raise RejectedRead(f"DataBar {text!r} has no check digit to verify")
    if len(code) != 14:
        raise RejectedRead(f"DataBar {text!r} does not hold (01) + 14 digits")
    gtin = _gtin(code)
    return NormalisedCode(symbology, f"(01){gtin}", gtin)


def _normalise_databar_expanded(text: str) -> NormalisedCode:
    try:
        data = GS1Data.parse(text, reference_year=2000)
    except InvalidElementString as exc:
        raise RejectedRead(str(exc)) from exc
    return NormalisedCode(Symbology.DATABAR_EXPANDED, data.hri(), data.gtin)


def normalise(name: str, text: str) -> NormalisedCode:
    """Normalise one decoder output: ``name`` is the decoder's symbology name.

    Raises :class:`RejectedRead` with the reason when the output is not a valid code.
    """
    symbology = symbology_from_name(name)
    if symbology is Symbology.EAN13:
        return _normalise_ean13(text, name)
    if symbology is Symbology.UPCA:
        return _normalise_upca(text)
    if symbology is Symbology.EAN8:
        return _normalise_ean8(text)
    if symbology is Symbology.UPCE:
        return _normalise_upce(text)
    if symbology in (Symbology.DATABAR, Symbology.DATABAR_LIMITED):
        return _normalise_databar(text, symbology)
    if symbology is Symbology.DATABAR_EXPANDED:
        return _normalise_databar_expanded(text)
    if not text:
        raise RejectedRead("empty QR code")
    return NormalisedCode(Symbology.QR, text, None)


def parse_gs1(text: str, *, reference_year: int | None = None) -> GS1Data:
    """Parse a DataBar Expanded read's text (its AIs: weight, price, dates...)."""
    return GS1Data.parse(text, reference_year=reference_year)
