"""Toledo 8217 / 8213: ``STX weight CR`` and ``STX ? status CR`` records."""

from __future__ import annotations

import pytest

from scale.protocols import toledo_8217 as toledo
from scale.protocols.base import Garbage, Reading, ReadingStatus, Reply
from tests.scale.helpers import decode, feed_bytewise

OK = ReadingStatus.OK

# (bytes as sent, unit the scale is set to, grams)
WEIGHTS: list[tuple[bytes, str, float]] = [
    (b"\x0201.234\r", "kg", 1234.0),
    (b"\x0200.560\r", "kg", 560.0),
    (b"\x0200.000\r", "kg", 0.0),
    (b"\x0201.234\r", "lb", 559.73298458),
    (b"\x0202.50\r", "lb", 1133.980925),  # 8213 lb layout XXX.XX with a leading zero dropped
    (b"\x02001234\r", "g", 1234.0),  # grams mode: 0XXXXX, no decimal point
    (b"\x020012.345\r", "kg", 12345.0),  # H: one more digit
    (b"\x02 1.234\r", "kg", 1234.0),  # space-padded instead of zero-padded
]

# (bytes as sent, status) for status records that mean "no valid weight"
NO_WEIGHT: list[tuple[bytes, ReadingStatus]] = [
    (b"\x02?A\r", ReadingStatus.MOTION),  # bit 6 fixed 1, bit 5 fixed 0 (Datalogic layout)
    (b"\x02?a\r", ReadingStatus.MOTION),  # bits 5 and 6 fixed 1 (8213 / Brecknell layout)
    (b"\x02?\xc1\r", ReadingStatus.MOTION),  # parity bit set: read as 8N1 by mistake
    (b"\x02?B\r", ReadingStatus.OVERLOAD),
    (b"\x02?b\r", ReadingStatus.OVERLOAD),
    (b"\x02?D\r", ReadingStatus.UNDERLOAD),
    (b"\x02?d\r", ReadingStatus.UNDERLOAD),
    (b"\x02?E\r", ReadingStatus.UNDERLOAD),  # under zero and still moving
    (b"\x02?H\r", ReadingStatus.ERROR),  # outside zero capture range
    (b"\x02?q\r", ReadingStatus.MOTION),  # motion at centre of zero
]

# Status records without a bad condition: the answers to Z, T and C.
STATUS_REPLIES: list[tuple[bytes, str, str]] = [
    (b"\x02?P\r", "P", "centre of zero"),
    (b"\x02?p\r", "p", "centre of zero"),
    (b"\x02?@\r", "@", ""),
    (b"\x02?`\r", "`", ""),
]

GARBAGE: list[bytes] = [
    b"\x02\r",
    b"\x02?\r",
    b"\x02?AB\r",
    b"\x02?\x05\r",
    b"\x0201.2.3\r",
    b"\x02+1.234\r",
    b"\x02abc\r",
    b"\x0201.234",
    b"01.234\r",
    b"\x02\xb101.234\r",
]

REAL_FRAMES = [w[0] for w in WEIGHTS] + [n[0] for n in NO_WEIGHT] + [s[0] for s in STATUS_REPLIES]


@pytest.mark.parametrize(("raw", "unit", "grams"), WEIGHTS)
def test_weight_records(raw: bytes, unit: str, grams: float) -> None:
    assert toledo.parse_frame(raw, unit) == Reading(grams, True, OK, unit, raw)


def test_weight_record_default_unit_is_kg() -> None:
    assert toledo.PROTOCOL.parse_frame(b"\x0201.234\r") == Reading(
        1234.0, True, OK, "kg", b"\x0201.234\r"
    )
    parse_lb = toledo.make_parser("lb")
    result = parse_lb(b"\x0201.000\r")
    assert isinstance(result, Reading)
    assert result.grams == 453.59237


def test_make_parser_rejects_unknown_unit() -> None:
    with pytest.raises(ValueError, match="furlong"):
        toledo.make_parser("furlong")


def test_unknown_configured_unit_gives_no_weight() -> None:
    result = toledo.parse_frame(b"\x0201.234\r", unit="pcs")
    assert result == Reading(None, False, ReadingStatus.UNKNOWN, "pcs", b"\x0201.234\r")


@pytest.mark.parametrize(("raw", "status"), NO_WEIGHT)
def test_status_records_carry_no_weight(raw: bytes, status: ReadingStatus) -> None:
    assert toledo.parse_frame(raw) == Reading(None, False, status, "", raw)


@pytest.mark.parametrize(("raw", "code", "text"), STATUS_REPLIES)
def test_status_records_without_fault_are_replies(raw: bytes, code: str, text: str) -> None:
    assert toledo.parse_frame(raw) == Reply("status", True, code, text, raw)


@pytest.mark.parametrize("raw", GARBAGE)
def test_garbage_is_garbage(raw: bytes) -> None:
    assert isinstance(toledo.parse_frame(raw), Garbage)


def test_status_flags_names() -> None:
    assert toledo.status_flags(0x7F) == [
        "motion",
        "over capacity",
        "under zero",
        "outside zero capture range",
        "centre of zero",
    ]
    assert toledo.status_flags(0x40) == []


def test_records_split_byte_by_byte_and_several_in_one_chunk() -> None:
    stream = b"\x02?A\r\x02?A\r\x0201.234\r\x02?P\r"
    framer = toledo.new_framer()
    frames = feed_bytewise(framer, stream)
    assert frames == [b"\x02?A\r", b"\x02?A\r", b"\x0201.234\r", b"\x02?P\r"]
    whole = decode(toledo.PROTOCOL, [stream])
    assert [type(r) for r in whole] == [Reading, Reading, Reading, Reply]


def test_noise_outside_records_is_discarded_and_counted() -> None:
    framer = toledo.new_framer()
    assert framer.feed(b"\x00\xffW\r\x0201.234\r\xff") == [b"\x0201.234\r"]
    assert framer.discarded_bytes == 5
    assert framer.buffered == 0


def test_a_second_stx_restarts_a_cut_record() -> None:
    framer = toledo.new_framer()
    assert framer.feed(b"\x0201.2\x0200.500\r") == [b"\x0200.500\r"]
    assert framer.discarded_bytes == len(b"\x0201.2")


def test_a_record_without_cr_is_bounded() -> None:
    framer = toledo.new_framer()
    assert framer.feed(b"\x02" + b"1" * 500) == []
    assert framer.buffered < toledo.MAX_FRAME_BYTES
    assert framer.overflows == 1
    assert framer.feed(b"\r\x0201.234\r") == [b"\x0201.234\r"]


def test_encoders_are_single_characters() -> None:
    assert toledo.encode_request_weight() == b"W"
    assert toledo.encode_request_weight_high_resolution() == b"H"
    assert toledo.encode_zero() == b"Z"
    assert toledo.encode_tare() == b"T"
    assert toledo.encode_clear_tare() == b"C"
    assert toledo.PROTOCOL.encode_identify is None
    assert toledo.PROTOCOL.serial.bytesize == 7
    assert toledo.PROTOCOL.serial.parity == "E"
