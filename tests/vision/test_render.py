"""The project's own barcode images: symbols drawn right (two decoders agree), scenes seeded."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vision.barcode.decoders import ZbarDecoder, ZxingDecoder, zxing_available
from vision.barcode.normalise import normalise
from vision.gtin import append_check_digit, expand_upce
from vision.render import Augment, compose, render_databar, render_ean, render_qr, render_symbol
from vision.render.ean import modules

needs_zxing = pytest.mark.skipif(not zxing_available(), reason="zxing-cpp is not installed")


@pytest.mark.parametrize(
    ("symbology", "code", "width", "full"),
    [
        ("ean13", "400638133393", 95, "4006381333931"),
        ("upca", "03600029145", 95, "036000291452"),
        ("ean8", "9638507", 67, "96385074"),
        ("upce", "0509689", 51, "05096893"),
        ("upce", "05096893", 51, "05096893"),
    ],
)
def test_module_counts_and_check_digits(symbology: str, code: str, width: int, full: str) -> None:
    bars, complete = modules(symbology, code)
    assert (len(bars), complete) == (width, full)
    assert bars.startswith("101")


def test_ean13_left_half_follows_the_first_digit_parity() -> None:
    # 4006381333931: first digit 4 selects A B A A B B for the left six digits.
    bars, _ = modules("ean13", "4006381333931")
    assert bars[3:10] == "0001101"  # 0, set A
    assert bars[10:17] == "0100111"  # 0, set B
    assert bars[45:50] == "01010"  # centre guard


@pytest.mark.parametrize("bad", ["4006381333932", "40063813339", "40063813339x"])
def test_bad_codes_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        render_ean("ean13", bad)


def _decode_gtins(image: np.ndarray) -> set[str | None]:
    out: set[str | None] = set()
    decoders = [ZbarDecoder()] + ([ZxingDecoder()] if zxing_available() else [])
    for decoder in decoders:
        for raw in decoder.decode(image):
            out.add(normalise(raw.symbology, raw.text).gtin)
    return out


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(["ean13", "upca", "ean8", "upce"]),
    st.text(alphabet="0123456789", min_size=11, max_size=11),
    st.integers(min_value=2, max_value=4),
)
def test_rendered_symbols_decode_to_their_gtin(symbology: str, digits: str, px: int) -> None:
    code = {
        "ean13": lambda: str(int(digits[0]) % 9 + 1) + digits,
        "upca": lambda: digits,
        "ean8": lambda: digits[:7],
        "upce": lambda: "0" + digits[:6],
    }[symbology]()
    if symbology == "upce":
        expected = expand_upce(code).zfill(14)
    else:
        expected = append_check_digit(code).zfill(14)
    assert _decode_gtins(render_ean(symbology, code, module_px=px)) == {expected}


def test_qr_round_trips() -> None:
    image = render_qr("STAFF-BADGE:0042")
    reads = ZbarDecoder().decode(image)
    assert [r.text for r in reads] == ["STAFF-BADGE:0042"]


@needs_zxing
@pytest.mark.parametrize(
    ("content", "expanded"),
    [("(01)09501101530003", False), ("(01)98898765432106(3103)001750(3922)795", True)],
)
def test_databar_round_trips(content: str, expanded: bool) -> None:
    image = render_databar(content, expanded=expanded)
    texts = {
        normalise(r.symbology, r.text).text
        for d in (ZbarDecoder(), ZxingDecoder())
        for r in d.decode(image)
    }
    assert texts == {content}


def test_compose_is_seeded_and_places_the_symbol_in_frame() -> None:
    symbol = render_symbol("ean13", "400638133393")
    aug = Augment(angle_deg=30, perspective=0.1, noise_sigma=5, glare=0.5, jpeg_quality=70)
    a, corners = compose(symbol, aug, seed=7)
    b, _ = compose(symbol, aug, seed=7)
    c, _ = compose(symbol, aug, seed=8)
    assert a.shape == (480, 640, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert all(0 <= x <= 640 and 0 <= y <= 480 for x, y in corners)
