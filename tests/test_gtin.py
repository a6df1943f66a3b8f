"""GTIN normalisation against real, published product codes and hand-checked UPC-E expansions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vision.gtin import (
    InvalidGtin,
    append_check_digit,
    expand_upce,
    gs1_check_digit,
    is_valid_gtin,
    normalize_gtin,
)

# Codes printed in the GS1 specifications, Wikipedia's barcode articles and on real packs.
REAL_CODES = [
    ("4006381333931", "04006381333931"),  # EAN-13, Wikipedia's EAN-13 example
    ("5901234123457", "05901234123457"),  # EAN-13, GS1 example
    ("9780201379624", "09780201379624"),  # ISBN-13 (Bookland EAN)
    ("3017620422003", "03017620422003"),  # EAN-13 of a well-known 400 g spread jar
    ("036000291452", "00036000291452"),  # UPC-A, Wikipedia's UPC-A example
    ("012345678905", "00012345678905"),  # UPC-A, the classic test code
    ("0036000291452", "00036000291452"),  # zbar's 13-digit report of that UPC-A
    ("96385074", "00000096385074"),  # EAN-8, Wikipedia example
    ("73513537", "00000073513537"),  # EAN-8
    ("15400141288763", "15400141288763"),  # GTIN-14 with packaging indicator 1
    ("4 006381 333931", "04006381333931"),  # as printed under the bars
    ("0-36000-29145-2", "00036000291452"),  # UPC-A written with dashes
    (" 96385074\n", "00000096385074"),  # surrounding whitespace from a serial scanner
]


@pytest.mark.parametrize(("code", "gtin14"), REAL_CODES)
def test_real_codes_normalise_to_gtin14(code: str, gtin14: str) -> None:
    assert normalize_gtin(code) == gtin14
    assert is_valid_gtin(code)


def test_upc_a_and_its_ean13_form_are_one_gtin() -> None:
    assert normalize_gtin("036000291452") == normalize_gtin("0036000291452")
    assert normalize_gtin("012345678905", symbology="UPCA") == "00012345678905"


# UPC-E -> UPC-A, one case per expansion rule (last payload digit 0-2, 3, 4, 5-9).
UPCE_CASES = [
    ("01234565", "012345000065"),  # rule 5-9, Wikipedia example; check: 3*12 + 9 = 45 -> 5
    ("04252614", "042100005264"),  # rule 0-2, Wikipedia example
    ("01234505", "012000003455"),  # rule 0-2 with last digit 0
    ("01234531", "012300000451"),  # rule 3
    ("01234543", "012340000053"),  # rule 4
    ("11234520", "112200003450"),  # number system 1
]


@pytest.mark.parametrize(("upce", "upca"), UPCE_CASES)
def test_expand_upce(upce: str, upca: str) -> None:
    assert expand_upce(upce) == upca
    assert expand_upce(upce[:7]) == upca  # number system + payload, check computed
    assert normalize_gtin(upce, symbology="upce") == "00" + upca
    assert normalize_gtin(upce, symbology="UPC-E") == "00" + upca
    assert normalize_gtin(upce, symbology="UPCE") == "00" + upca


def test_upce_six_digits_assumes_number_system_zero() -> None:
    assert expand_upce("425261") == "042100005264"


def test_eight_digits_without_a_hint_are_ean8() -> None:
    # "01234565" is valid both as EAN-8 and as UPC-E; only the symbology tells them apart.
    assert normalize_gtin("01234565") == "00000001234565"
    assert normalize_gtin("01234565", symbology="EAN8") == "00000001234565"
    assert normalize_gtin("01234565", symbology="upce") == "00012345000065"


WRONG_CHECK_DIGITS = [
    ("4006381333932", "has check digit 2, expected 1"),
    ("036000291453", "has check digit 3, expected 2"),
    ("96385075", "has check digit 5, expected 4"),
    ("15400141288760", "has check digit 0, expected 3"),
]


@pytest.mark.parametrize(("code", "message"), WRONG_CHECK_DIGITS)
def test_wrong_check_digit_names_expected_and_got(code: str, message: str) -> None:
    with pytest.raises(InvalidGtin, match=message):
        normalize_gtin(code)
    assert not is_valid_gtin(code)


GARBAGE = [
    ("", "empty"),
    ("   ", "empty"),
    ("12345", "has 5 digits, expected 8, 12, 13 or 14"),
    ("400638133393100", "has 15 digits"),
    ("40063813339x1", "non-digit characters: 'x'"),
    ("4006381333931\x00", "non-digit"),
    ("４００６３８１３３３９３１", "non-digit"),  # full-width digits
    ("٤٠٠٦٣٨١٣٣٣٩٣١", "non-digit"),  # Arabic-Indic digits pass str.isdigit()
    ("https://example.com", "non-digit"),
]


@pytest.mark.parametrize(("code", "message"), GARBAGE)
def test_garbage_is_rejected(code: str, message: str) -> None:
    with pytest.raises(InvalidGtin, match=message):
        normalize_gtin(code)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("21234565", "number system 2, expected 0 or 1"),
        ("01234566", "has check digit 6, expected 5"),
        ("12345", "has 5 digits, expected 6, 7 or 8"),
        ("0123456789", "has 10 digits"),
        ("0a234565", "non-digit"),
        ("", "empty"),
    ],
)
def test_bad_upce_is_rejected(code: str, message: str) -> None:
    with pytest.raises(InvalidGtin, match=message):
        normalize_gtin(code, symbology="upce")


def test_check_digit_of_known_bodies() -> None:
    assert gs1_check_digit("400638133393") == 1
    assert gs1_check_digit("03600029145") == 2
    assert gs1_check_digit("9638507") == 4
    assert append_check_digit("735099900010") == "7350999000103"
    with pytest.raises(InvalidGtin):
        gs1_check_digit("")


@given(st.text(alphabet="0123456789", min_size=13, max_size=13))
def test_any_body_with_its_check_digit_normalises(body: str) -> None:
    code = append_check_digit(body)
    assert normalize_gtin(code) == code.zfill(14)


@given(
    st.text(alphabet="0123456789", min_size=12, max_size=12),
    st.integers(min_value=0, max_value=12),
    st.integers(min_value=1, max_value=9),
)
def test_any_single_digit_change_is_detected(body: str, position: int, shift: int) -> None:
    code = append_check_digit(body)
    changed = code[:position] + str((int(code[position]) + shift) % 10) + code[position + 1 :]
    with pytest.raises(InvalidGtin, match="check digit"):
        normalize_gtin(changed)


@given(
    st.sampled_from("01"),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
)
def test_upce_expansion_is_a_valid_upca(number_system: str, payload: str) -> None:
    upca = expand_upce(number_system + payload)
    assert len(upca) == 12
    assert upca[0] == number_system
    assert normalize_gtin(upca) == "00" + upca
    # The UPC-E check digit is the UPC-A's, so the 8-digit form expands to the same code.
    assert expand_upce(number_system + payload + upca[-1]) == upca
