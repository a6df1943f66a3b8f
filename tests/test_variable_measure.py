"""GS1 variable-measure labels: layouts, verifier digits, the zeroed lookup GTIN, bad labels.

Every code in the tables was checked by hand: the GTIN check digit with weights 3/1 from the
right, the value verifier with the GS1 weighting tables (section 7.9.3).
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cart_app.variable_measure import (
    DEFAULT_SCHEME,
    VariableMeasureError,
    VariableMeasureRead,
    VariableMeasureScheme,
    build_variable_measure,
    is_variable_measure,
    parse_variable_measure,
    value_check_digit,
)
from vision.gtin import InvalidGtin, append_check_digit

PRICE_5_WITH_VERIFIER = VariableMeasureScheme(
    prefixes=frozenset({"28"}),
    item_digits=4,
    value_digits=5,
    value_kind="price_cents",
    has_value_check_digit=True,
)
WEIGHT_4_WITH_VERIFIER = VariableMeasureScheme(
    prefixes=frozenset({"21"}),
    item_digits=5,
    value_digits=4,
    value_kind="weight_g",
    has_value_check_digit=True,
)
PRICE_5_PLAIN = VariableMeasureScheme(
    prefixes=frozenset({"20", "22"}),
    item_digits=5,
    value_digits=5,
    value_kind="price_cents",
)


@pytest.mark.parametrize(
    ("value", "verifier"),
    [
        ("2875", 9),  # GS1 General Specifications worked example: 4+5+1+3 = 13, 13*3 = 39
        ("14685", 6),  # GS1 worked example: 5+8+7+4+9 = 33, 40-33 = 7, 5-(6) = 7
        ("1299", 2),  # 2+4+7+1 = 14, 14*3 = 42
        ("0412", 0),  # 0+8+3+9 = 20, 20*3 = 60
        ("0000", 0),
        ("00000", 0),
    ],
)
def test_value_verifier_digit(value: str, verifier: int) -> None:
    assert value_check_digit(value) == verifier


@pytest.mark.parametrize("value", ["123", "123456", "12a4", ""])
def test_value_verifier_needs_four_or_five_digits(value: str) -> None:
    with pytest.raises(VariableMeasureError):
        value_check_digit(value)


LABELS = [
    # code, scheme, expected read
    (
        "2310001004128",  # deli counter: prefix 23, item 10001, 412 g
        DEFAULT_SCHEME,
        VariableMeasureRead("23", "10001", "02310001000007", 412.0, None),
    ),
    (
        "2012345019904",  # prefix 20, item 12345, 19.90 in a 5-digit price field
        PRICE_5_PLAIN,
        VariableMeasureRead("20", "12345", "02012345000001", None, 1990),
    ),
    (
        "212345212998",  # UPC-A number system 2: item 12345, verifier 2, price 12.99
        DEFAULT_SCHEME,
        VariableMeasureRead("02", "12345", "00212345000007", None, 1299),
    ),
    (
        "0212345212998",  # the same label as zbar reports it (13 digits)
        DEFAULT_SCHEME,
        VariableMeasureRead("02", "12345", "00212345000007", None, 1299),
    ),
    (
        "2812346146858",  # 4-digit item, verifier 6, price 146.85
        PRICE_5_WITH_VERIFIER,
        VariableMeasureRead("28", "1234", "02812340000002", None, 14685),
    ),
    (
        "2100042928756",  # 5-digit item, verifier 9, 2 875 g
        WEIGHT_4_WITH_VERIFIER,
        VariableMeasureRead("21", "00042", "02100042000001", 2875.0, None),
    ),
]


@pytest.mark.parametrize(("code", "scheme", "expected"), LABELS)
def test_parse_label(
    code: str, scheme: VariableMeasureScheme, expected: VariableMeasureRead
) -> None:
    assert is_variable_measure(code, scheme)
    assert parse_variable_measure(code, scheme) == expected


def test_lookup_gtin_is_a_valid_gtin_with_a_zeroed_value() -> None:
    read = parse_variable_measure("2310001004128")
    assert read.lookup_gtin == append_check_digit("231000100000").zfill(14)


def test_weight_and_price_schemes_read_the_same_digits_differently() -> None:
    code = "2212345019908"  # prefix 22, item 12345, value 01990
    as_weight = VariableMeasureScheme(prefixes=frozenset({"22"}))
    assert parse_variable_measure(code, as_weight).weight_g == 1990.0
    assert parse_variable_measure(code, as_weight).price_cents is None
    assert parse_variable_measure(code, PRICE_5_PLAIN).price_cents == 1990
    assert parse_variable_measure(code, PRICE_5_PLAIN).weight_g is None


def test_override_wins_for_its_prefix() -> None:
    assert DEFAULT_SCHEME.layout_for("02") is DEFAULT_SCHEME.overrides[0]
    assert DEFAULT_SCHEME.layout_for("25") is DEFAULT_SCHEME
    assert DEFAULT_SCHEME.layout_for("73") is None
    assert DEFAULT_SCHEME.all_prefixes == frozenset({"02"} | {str(p) for p in range(20, 30)})


@pytest.mark.parametrize(
    "code",
    [
        "7350999000103",  # an ordinary Swedish EAN-13
        "96385074",  # EAN-8
        "036000291452",  # UPC-A number system 0
        "15400141288763",  # GTIN-14 with an indicator digit
    ],
)
def test_ordinary_codes_are_not_variable_measure(code: str) -> None:
    assert not is_variable_measure(code, DEFAULT_SCHEME)
    with pytest.raises(VariableMeasureError, match="no variable-measure prefix"):
        parse_variable_measure(code, DEFAULT_SCHEME)


def test_prefix_outside_the_scheme_is_not_variable_measure() -> None:
    assert not is_variable_measure("2310001004128", PRICE_5_PLAIN)


def test_wrong_price_verifier_is_rejected() -> None:
    # 12.99 with verifier 3 instead of 2; the GTIN check digit is made valid again.
    code = append_check_digit("021234531299")
    with pytest.raises(VariableMeasureError, match="verifier digit 3, expected 2"):
        parse_variable_measure(code, DEFAULT_SCHEME)


def test_malformed_code_raises_invalid_gtin() -> None:
    with pytest.raises(InvalidGtin, match="check digit"):
        parse_variable_measure("2310001004129")
    with pytest.raises(InvalidGtin):
        is_variable_measure("23100010041")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"prefixes": frozenset({"2"})}, "two digits"),
        ({"prefixes": frozenset({"2a"})}, "two digits"),
        ({"prefixes": frozenset({"20"}), "item_digits": 4}, "must be 10"),
        ({"prefixes": frozenset({"20"}), "item_digits": 0, "value_digits": 10}, "positive"),
        (
            {"prefixes": frozenset({"20"}), "item_digits": 6, "value_digits": 3},
            "must be 10",
        ),
        (
            {
                "prefixes": frozenset({"20"}),
                "item_digits": 6,
                "value_digits": 3,
                "has_value_check_digit": True,
            },
            "4- or 5-digit",
        ),
        ({"prefixes": frozenset({"20"}), "value_kind": "volume_ml"}, "unknown value_kind"),
    ],
)
def test_inconsistent_scheme_is_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        VariableMeasureScheme(**kwargs)  # type: ignore[arg-type]


def test_overrides_must_be_flat_and_disjoint() -> None:
    inner = VariableMeasureScheme(prefixes=frozenset({"21"}))
    with pytest.raises(ValueError, match="overridden twice"):
        VariableMeasureScheme(prefixes=frozenset({"20"}), overrides=(inner, inner))
    nested = VariableMeasureScheme(prefixes=frozenset({"22"}), overrides=(inner,))
    with pytest.raises(ValueError, match="overrides of its own"):
        VariableMeasureScheme(prefixes=frozenset({"20"}), overrides=(nested,))


def test_build_refuses_parts_that_do_not_fit() -> None:
    with pytest.raises(VariableMeasureError, match="not variable-measure"):
        build_variable_measure("73", "12345", 100)
    with pytest.raises(VariableMeasureError, match="5 digits"):
        build_variable_measure("23", "1234", 100)
    with pytest.raises(VariableMeasureError, match="does not fit"):
        build_variable_measure("23", "12345", 100_000)


SCHEMES = [DEFAULT_SCHEME, PRICE_5_WITH_VERIFIER, WEIGHT_4_WITH_VERIFIER, PRICE_5_PLAIN]


@given(st.sampled_from(SCHEMES), st.data())
def test_build_then_parse_round_trips(scheme: VariableMeasureScheme, data: st.DataObject) -> None:
    prefix = data.draw(st.sampled_from(sorted(scheme.all_prefixes)))
    layout = scheme.layout_for(prefix)
    assert layout is not None
    item = data.draw(
        st.text("0123456789", min_size=layout.item_digits, max_size=layout.item_digits)
    )
    value = data.draw(st.integers(0, 10**layout.value_digits - 1))
    read = parse_variable_measure(build_variable_measure(prefix, item, value, scheme), scheme)
    assert (read.prefix, read.item_reference) == (prefix, item)
    if layout.value_kind == "weight_g":
        assert (read.weight_g, read.price_cents) == (float(value), None)
    else:
        assert (read.weight_g, read.price_cents) == (None, value)


@given(
    st.sampled_from([PRICE_5_WITH_VERIFIER, WEIGHT_4_WITH_VERIFIER]),
    st.data(),
)
def test_verifier_detects_any_single_value_digit_change(
    scheme: VariableMeasureScheme, data: st.DataObject
) -> None:
    prefix = sorted(scheme.prefixes)[0]
    value = data.draw(st.integers(0, 10**scheme.value_digits - 1))
    code = build_variable_measure(prefix, "1" * scheme.item_digits, value, scheme)
    # The value field sits just before the GTIN check digit.
    position = data.draw(st.integers(13 - scheme.value_digits, 12))
    shift = data.draw(st.integers(1, 9))
    changed = code[:position] + str((int(code[position]) + shift) % 10) + code[position + 1 : 13]
    with pytest.raises(VariableMeasureError, match="verifier digit"):
        parse_variable_measure(append_check_digit(changed), scheme)
