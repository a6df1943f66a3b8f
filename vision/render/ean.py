"""EAN-13, UPC-A, EAN-8 and UPC-E symbols drawn from their encoding tables (numpy + OpenCV).

The tables are short and public (ISO/IEC 15420), so drawing the bars ourselves costs fewer
lines than a dependency. Each digit is seven modules: set A (odd parity) and its mirror set C
(right half) are inverses; set B (even parity) is set C reversed. EAN-13's first digit is not
drawn as bars but chooses the A/B pattern of the left half; UPC-E's number system and check
digit choose the parity of its six digits.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from vision.gtin import append_check_digit, expand_upce, gs1_check_digit

Gray = npt.NDArray[np.uint8]

_A = ("0001101", "0011001", "0010011", "0111101", "0100011",
      "0110001", "0101111", "0111011", "0110111", "0001011")  # fmt: skip
_C = tuple("".join("1" if b == "0" else "0" for b in code) for code in _A)
_B = tuple(code[::-1] for code in _C)
_EAN13_PARITY = ("AAAAAA", "AABABB", "AABBAB", "AABBBA", "ABAABB",
                 "ABBAAB", "ABBBAA", "ABABAB", "ABABBA", "ABBABA")  # fmt: skip
# UPC-E with number system 0, by check digit (E = even = set B, O = odd = set A).
_UPCE_PARITY = ("BBBAAA", "BBABAA", "BBAABA", "BBAAAB", "BABBAA",
                "BAABBA", "BAAABB", "BABABA", "BABAAB", "BAABAB")  # fmt: skip

QUIET_ZONES = {"ean13": (11, 7), "upca": (9, 9), "ean8": (7, 7), "upce": (9, 7)}
"""Minimum quiet zones (left, right) in modules."""


def _digit(d: str, table: str) -> str:
    return {"A": _A, "B": _B, "C": _C}[table][int(d)]


def _complete(code: str, length: int) -> str:
    """``code`` with its check digit: appended when one short, verified when complete."""
    if not code.isascii() or not code.isdigit():
        raise ValueError(f"{code!r} is not all digits")
    if len(code) == length - 1:
        return append_check_digit(code)
    if len(code) != length:
        raise ValueError(f"{code!r}: expected {length - 1} or {length} digits")
    if gs1_check_digit(code[:-1]) != int(code[-1]):
        raise ValueError(f"{code!r} has a wrong check digit")
    return code


def modules(symbology: str, code: str) -> tuple[str, str]:
    """(bar modules as a '0'/'1' string, the complete code with its check digit)."""
    if symbology == "upca":
        full = _complete(code, 12)
        bars, _ = modules("ean13", "0" + full)
        return bars, full
    if symbology == "ean13":
        full = _complete(code, 13)
        left = "".join(
            _digit(d, t) for d, t in zip(full[1:7], _EAN13_PARITY[int(full[0])], strict=True)
        )
        right = "".join(_digit(d, "C") for d in full[7:])
        return "101" + left + "01010" + right + "101", full
    if symbology == "ean8":
        full = _complete(code, 8)
        left = "".join(_digit(d, "A") for d in full[:4])
        right = "".join(_digit(d, "C") for d in full[4:])
        return "101" + left + "01010" + right + "101", full
    if symbology == "upce":
        if len(code) == 7:
            code = code + expand_upce(code)[-1]
        if len(code) != 8 or code[0] not in "01":
            raise ValueError(f"UPC-E {code!r}: expected 7 or 8 digits, number system 0 or 1")
        expand_upce(code)  # verifies the check digit
        parity = _UPCE_PARITY[int(code[7])]
        if code[0] == "1":
            parity = parity.translate(str.maketrans("AB", "BA"))
        body = "".join(_digit(d, t) for d, t in zip(code[1:7], parity, strict=True))
        return "101" + body + "010101", code
    raise ValueError(f"not an EAN/UPC symbology: {symbology!r}")


def _guard_mask(symbology: str, count: int) -> npt.NDArray[np.bool_]:
    """Modules drawn longer than the rest (guards; UPC-A's outer digits too)."""
    mask = np.zeros(count, dtype=bool)
    mask[:3] = True
    if symbology == "upce":
        mask[-6:] = True
        return mask
    mask[-3:] = True
    mid = count // 2
    mask[mid - 2 : mid + 3] = True
    if symbology == "upca":
        mask[3:10] = True
        mask[-10:-3] = True
    return mask


def render_ean(
    symbology: str,
    code: str,
    *,
    module_px: int = 3,
    height_modules: int = 60,
    quiet_modules: int | None = None,
    text: bool = True,
) -> Gray:
    """A black-on-white EAN/UPC symbol with quiet zones and, by default, its digits below.

    ``quiet_modules`` overrides both quiet zones (a test of partial reads uses 0).
    """
    bars, full = modules(symbology, code)
    left_q, right_q = QUIET_ZONES[symbology]
    if quiet_modules is not None:
        left_q = right_q = quiet_modules
    guards = _guard_mask(symbology, len(bars))
    digit_rows = 9 if text else 0
    width = (left_q + len(bars) + right_q) * module_px
    bar_h = height_modules * module_px
    img = np.full((bar_h + (digit_rows + 6) * module_px, width), 255, dtype=np.uint8)
    x = left_q * module_px
    for i, bit in enumerate(bars):
        if bit == "1":
            bottom = bar_h + (5 * module_px if guards[i] or not text else 0)
            img[2 * module_px : bottom, x : x + module_px] = 0
        x += module_px
    if text:
        _draw_digits(img, symbology, full, left_q=left_q, count=len(bars), m=module_px, bar_h=bar_h)
    return img


def _draw_digits(
    img: Gray, symbology: str, full: str, *, left_q: int, count: int, m: int, bar_h: int
) -> None:
    """Human-readable digits under the bars, placed as on real labels."""
    scale = m * 7 / 22.0
    y = bar_h + 8 * m

    def put(s: str, center_module: float) -> None:
        size, _ = cv2.getTextSize(s, cv2.FONT_HERSHEY_SIMPLEX, scale, max(1, m // 2))
        x = int((left_q + center_module) * m - size[0] / 2)
        cv2.putText(img, s, (x, y), cv2.FONT_HERSHEY_SIMPLEX, scale, 0, max(1, m // 2), cv2.LINE_AA)

    if symbology == "ean13":
        put(full[0], -5)
        put(full[1:7], 3 + 21)
        put(full[7:], 50 + 21)
    elif symbology == "upca":
        put(full[0], -5)
        put(full[1:6], 10 + 17.5)
        put(full[6:11], 50 + 17.5)
        put(full[11], count + 5)
    elif symbology == "ean8":
        put(full[:4], 3 + 14)
        put(full[4:], 36 + 14)
    else:
        put(full[0], -5)
        put(full[1:7], 3 + 21)
        put(full[7], count + 4)
