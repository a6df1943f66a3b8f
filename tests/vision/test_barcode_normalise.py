"""Normalisation of decoder output, with the strings zbar, zxing-cpp and OpenCV really return."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vision.barcode.gs1 import GS1Data, InvalidElementString, parse_raw_element_string
from vision.barcode.normalise import (
    RejectedRead,
    Symbology,
    compress_upca_to_upce,
    isbn10_to_ean13,
    normalise,
    symbology_from_name,
)
from vision.gtin import expand_upce

GS = "\x1d"


@pytest.mark.parametrize(
    ("name", "text", "symbology", "canonical", "gtin"),
    [
        # EAN-13 as every decoder reports it.
        ("EAN13", "4006381333931", Symbology.EAN13, "4006381333931", "04006381333931"),
        ("EAN-13", "4006381333931", Symbology.EAN13, "4006381333931", "04006381333931"),
        ("EAN_13", "4006381333931", Symbology.EAN13, "4006381333931", "04006381333931"),
        # zbar's default reports UPC-A as a 13-digit EAN-13 with a leading 0.
        ("EAN13", "0036000291452", Symbology.UPCA, "036000291452", "00036000291452"),
        ("UPCA", "036000291452", Symbology.UPCA, "036000291452", "00036000291452"),
        ("UPC-A", "036000291452", Symbology.UPCA, "036000291452", "00036000291452"),
        ("UPCA", "0036000291452", Symbology.UPCA, "036000291452", "00036000291452"),
        ("EAN8", "96385074", Symbology.EAN8, "96385074", "00000096385074"),
        # UPC-E: zbar gives the 8 digits, zxing-cpp's text is the 13-digit expansion.
        ("UPCE", "05096893", Symbology.UPCE, "05096893", "00050968000093"),
        ("UPC-E", "0050968000093", Symbology.UPCE, "05096893", "00050968000093"),
        ("UPC-E", "050968000093", Symbology.UPCE, "05096893", "00050968000093"),
        ("UPCE", "04963406", Symbology.UPCE, "04963406", "00049000006346"),
        # ISBN: an EAN-13 in the 978/979 Bookland range; ISBN-10 text maps back to it.
        ("ISBN13", "9780201752847", Symbology.EAN13, "9780201752847", "09780201752847"),
        ("ISBN10", "0201752840", Symbology.EAN13, "9780201752847", "09780201752847"),
        ("ISBN10", "1558604979", Symbology.EAN13, "9781558604971", "09781558604971"),
        ("ISBN10", "080442957X", Symbology.EAN13, "9780804429573", "09780804429573"),
        # DataBar: zbar without parentheses, zxing-cpp's HRI with them.
        ("DATABAR", "0102001234567893", Symbology.DATABAR, "(01)02001234567893", "02001234567893"),
        (
            "DataBar Omni",
            "(01)02001234567893",
            Symbology.DATABAR,
            "(01)02001234567893",
            "02001234567893",
        ),
        (
            "DataBar Stacked",
            "0100012345678905",
            Symbology.DATABAR,
            "(01)00012345678905",
            "00012345678905",
        ),
        (
            "DataBar Limited",
            "0115012345678907",
            Symbology.DATABAR_LIMITED,
            "(01)15012345678907",
            "15012345678907",
        ),
        # DataBar Expanded: raw with FNC1 as GS (zbar, zxing-cpp Plain) or parenthesised.
        (
            "DATABAR_EXP",
            "01988987654321061599123131030017501012A" + GS + "422123" + GS + "21123456",
            Symbology.DATABAR_EXPANDED,
            "(01)98898765432106(15)991231(3103)001750(10)12A(422)123(21)123456",
            "98898765432106",
        ),
        (
            "DataBar Expanded",
            "(10)567(01)90012345678908(11)010101",
            Symbology.DATABAR_EXPANDED,
            "(10)567(01)90012345678908(11)010101",
            "90012345678908",
        ),
        (
            "DATABAR_EXP",
            '420azaaaaa"agaa&a3',
            Symbology.DATABAR_EXPANDED,
            '(420)azaaaaa"agaa&a3',
            None,
        ),
        ("QRCODE", "STAFF:0042", Symbology.QR, "STAFF:0042", None),
        ("QR Code", "https://example.org/c?id=7", Symbology.QR, "https://example.org/c?id=7", None),
    ],
)
def test_normalise_real_decoder_strings(
    name: str, text: str, symbology: Symbology, canonical: str, gtin: str | None
) -> None:
    code = normalise(name, text)
    assert (code.symbology, code.text, code.gtin) == (symbology, canonical, gtin)


@pytest.mark.parametrize(
    ("name", "text", "why"),
    [
        ("EAN13", "4006381333932", "check digit"),
        ("EAN13", "400638133393", "12 digits"),  # partial read: one digit short
        ("EAN8", "9638507", "7 digits"),
        ("EAN8", "96385075", "check digit"),
        ("UPCA", "03600029145", "11 digits"),
        ("UPCE", "05096894", "check digit"),
        ("UPCE", "25096893", "number system"),
        # A 13-digit "UPC-E" that no UPC-E expands to: a misread, not a code.
        ("UPC-E", "0036000291452", "not the expansion"),
        ("EAN13", "40063813339a1", "not all digits"),
        ("EAN13", "4006381333９31", "not all digits"),
        ("DATABAR", "010200123456789", "does not hold"),
        ("DATABAR", "0102001234567894", "check digit"),
        ("DATABAR_EXP", "0190012345678909" + "3103001750", "check digit"),
        ("DATABAR_EXP", "2812345", "no known AI"),
        ("DATABAR_EXP", "0190012345678908310300175", "cut short"),
        ("DATABAR_EXP", "1102301", "cut short"),
        ("DATABAR_EXP", "10AB~C", "invalid characters"),
        ("CODE128", "ABC-123", "not one the cart reads"),
        ("QRCODE", "", "empty"),
        ("ISBN10", "0201752841", "check digit"),
    ],
)
def test_normalise_rejects_misreads(name: str, text: str, why: str) -> None:
    with pytest.raises(RejectedRead, match=why):
        normalise(name, text)


def test_symbology_names_are_case_and_punctuation_blind() -> None:
    assert symbology_from_name("databar expanded") is Symbology.DATABAR_EXPANDED
    assert symbology_from_name("Upc_E") is Symbology.UPCE


@given(st.sampled_from("01"), st.text(alphabet="0123456789", min_size=6, max_size=6))
def test_upce_compression_round_trips(number_system: str, payload: str) -> None:
    upce7 = number_system + payload
    upca = expand_upce(upce7)
    upce8 = compress_upca_to_upce(upca)
    assert upce8 is not None
    assert expand_upce(upce8) == upca


def test_upca_that_no_upce_produces() -> None:
    assert compress_upca_to_upce("036000291452") is None
    assert compress_upca_to_upce("236000291452") is None


def test_isbn10_maps_to_bookland() -> None:
    assert isbn10_to_ean13("0-201-75284-0") == "9780201752847"
    with pytest.raises(RejectedRead):
        isbn10_to_ean13("020175284")


# GS1 element strings ------------------------------------------------------------------------


def test_gs1_fields_of_a_produce_label() -> None:
    data = GS1Data.parse(
        "(01)98898765432106(3103)001750(3922)795(17)261231(10)LOT7", reference_year=2026
    )
    assert data.gtin == "98898765432106"
    assert data.net_weight_kg == Decimal("1.750")
    assert data.price == Decimal("7.95")
    assert data.expiry == dt.date(2026, 12, 31)
    assert data.batch == "LOT7"
    assert data.hri() == "(01)98898765432106(3103)001750(3922)795(17)261231(10)LOT7"


def test_gs1_raw_and_hri_agree() -> None:
    raw = "0190012345678908" + "3932978" + "0401234" + GS + "15991231"
    data = GS1Data.parse(raw, reference_year=2026)
    assert data.elements == (("01", "90012345678908"), ("3932", "9780401234"), ("15", "991231"))
    assert data.price_currency == "978"
    assert data.price == Decimal("4012.34")
    # GS1's sliding century: 99 read in 2026 is 1999.
    assert data.best_before == dt.date(1999, 12, 31)
    assert GS1Data.parse(data.hri(), reference_year=2026) == data


def test_gs1_day_zero_is_the_last_of_the_month_and_pounds() -> None:
    data = GS1Data.parse("(15)260200(3202)001750(30)12", reference_year=2026)
    assert data.best_before == dt.date(2026, 2, 28)
    assert data.net_weight_lb == Decimal("17.50")
    assert data.net_weight_kg is None
    assert data.count == 12


def test_gs1_parentheses_inside_data() -> None:
    data = GS1Data.parse("(10)A(B)C(21)77")
    assert data.elements == (("10", "A(B)C"), ("21", "77"))


def test_gs1_predefined_length_then_fnc1_is_tolerated() -> None:
    assert parse_raw_element_string("]e00190012345678908" + GS + "10ABC") == (
        ("01", "90012345678908"),
        ("10", "ABC"),
    )


@pytest.mark.parametrize(
    "text",
    ["(99", "(01)900123456789", "(3103)17.5", "(11)1a0101", "(26)123", "(01)90012345678909"],
)
def test_gs1_rejects_malformed(text: str) -> None:
    with pytest.raises(InvalidElementString):
        GS1Data.parse(text)
