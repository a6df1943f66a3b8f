"""Shared protocol machinery: the bounded framer, result invariants, units, the registry."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scale.protocols import PROTOCOLS, Framer, get_protocol
from scale.protocols.base import Reading, ReadingStatus
from scale.protocols.units import parse_decimal, to_grams
from scale.types import WeightSample

# --- units ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12.34", Decimal("12.34")),
        ("+00123.45", Decimal("123.45")),
        ("-0.020", Decimal("-0.020")),
        ("  -  1.234", Decimal("-1.234")),
        ("12.", Decimal("12")),
        (".5", Decimal("0.5")),
        ("0", Decimal(0)),
        ("-0.00", Decimal("-0.00")),
    ],
)
def test_parse_decimal_accepts_scale_numbers(text: str, value: Decimal) -> None:
    assert parse_decimal(text) == value


@pytest.mark.parametrize(
    "text",
    ["", " ", ".", "+", "-", "1e3", "nan", "inf", "Infinity", "1_000", "1,5", "1.2.3", "--1",
     "١٢", "²", "0x10", "1 2", "9" * 17],
)  # fmt: skip
def test_parse_decimal_rejects_everything_else(text: str) -> None:
    assert parse_decimal(text) is None


@pytest.mark.parametrize(
    ("value", "unit", "grams"),
    [
        ("1.234", "kg", 1234.0),
        ("1.234", " KG ", 1234.0),
        ("1", "lb", 453.59237),
        ("1", "LB", 453.59237),
        ("1", "oz", 28.349523125),
        ("250", "mg", 0.25),
        ("12.5", "g", 12.5),
        ("-0.000", "kg", 0.0),
    ],
)
def test_to_grams(value: str, unit: str, grams: float) -> None:
    result = to_grams(Decimal(value), unit)
    assert result == grams
    assert str(result) != "-0.0"


@pytest.mark.parametrize("unit", ["", "pcs", "PC", "%", "N", "kgs ", "gram"])
def test_to_grams_unknown_units(unit: str) -> None:
    assert to_grams(Decimal(1), unit) is None


# --- results ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("grams", "stable", "status"),
    [
        (0.0, False, ReadingStatus.OVERLOAD),
        (5.0, False, ReadingStatus.UNDERLOAD),
        (5.0, False, ReadingStatus.ERROR),
        (0.0, False, ReadingStatus.UNKNOWN),
        (None, True, ReadingStatus.OK),
        (5.0, True, ReadingStatus.MOTION),
        (None, True, ReadingStatus.MOTION),
        (float("nan"), False, ReadingStatus.MOTION),
        (float("inf"), True, ReadingStatus.OK),
    ],
)
def test_reading_rejects_contradictions(
    grams: float | None, stable: bool, status: ReadingStatus
) -> None:
    with pytest.raises(ValueError):
        Reading(grams, stable, status)


def test_reading_to_sample() -> None:
    assert Reading(12.5, True, ReadingStatus.OK, "g").to_sample(3.0) == WeightSample(
        3.0, 12.5, True, "ok"
    )
    assert Reading(None, False, ReadingStatus.OVERLOAD).to_sample(4.0) == WeightSample(
        4.0, None, False, "overload"
    )


# --- framer -----------------------------------------------------------------------------------


def test_framer_rejects_a_useless_bound() -> None:
    with pytest.raises(ValueError):
        Framer(end=0x0A, max_frame=1)


def test_line_framer_keeps_terminators_and_counts() -> None:
    framer = Framer(end=0x0A, max_frame=8)
    assert framer.feed(b"ab\ncd\n\nef") == [b"ab\n", b"cd\n", b"\n"]
    assert framer.frames == 3
    assert framer.buffered == 2
    assert framer.reset() == 2
    assert framer.discarded_bytes == 2
    assert framer.feed(b"gh\n") == [b"gh\n"]


def test_line_framer_frame_of_exactly_max_bytes_passes() -> None:
    framer = Framer(end=0x0A, max_frame=4)
    assert framer.feed(b"abc\n") == [b"abc\n"]
    assert framer.feed(b"abcd\n") == []
    assert framer.overflows == 1
    assert framer.feed(b"abc") == []
    assert framer.feed(b"\n") == [b"abc\n"]


def test_delimited_framer_frame_of_exactly_max_bytes_passes() -> None:
    framer = Framer(start=0x02, end=0x0D, max_frame=4)
    assert framer.feed(b"\x02ab\r") == [b"\x02ab\r"]
    assert framer.feed(b"\x02abc\r") == []
    assert framer.overflows == 1
    assert framer.discarded_bytes == 5


def test_reset_also_ends_skipping_an_overlong_line() -> None:
    framer = Framer(end=0x0A, max_frame=4)
    framer.feed(b"abcdefgh")
    framer.reset()
    assert framer.feed(b"ok\n") == [b"ok\n"]


def test_a_megabyte_of_start_bytes_is_handled_and_bounded() -> None:
    framer = Framer(start=0x0A, end=0x03, max_frame=48)
    assert framer.feed(b"\n" * 1_000_000) == []
    assert framer.buffered < 48
    assert framer.discarded_bytes + framer.buffered == 1_000_000


# --- registry ---------------------------------------------------------------------------------


def test_registry_names() -> None:
    assert set(PROTOCOLS) == {"cartboard", "mt-sics", "toledo-8217", "nci", "continuous"}
    for name, protocol in PROTOCOLS.items():
        assert protocol.name == name
        assert get_protocol(name) is protocol


def test_unknown_protocol_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known: cartboard, continuous, mt-sics"):
        get_protocol("sartorius")


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_every_protocol_is_complete(name: str) -> None:
    protocol = get_protocol(name)
    framer = protocol.new_framer()
    assert framer.feed(b"") == []
    assert protocol.serial.baudrate > 0
    assert protocol.streaming or protocol.encode_request_weight is not None
    for encoder in (
        protocol.encode_request_weight,
        protocol.encode_zero,
        protocol.encode_tare,
        protocol.encode_identify,
    ):
        if encoder is not None:
            command = encoder()
            assert isinstance(command, bytes)
            assert command
