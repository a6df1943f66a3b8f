"""A&D standard format and CAS continuous lines."""

from __future__ import annotations

import pytest

from scale.protocols import continuous
from scale.protocols.base import Garbage, Reading, ReadingStatus, Reply
from tests.scale.helpers import decode, feed_bytewise, readings

OK = ReadingStatus.OK
MOTION = ReadingStatus.MOTION

# (bytes as sent, grams, stable, status, unit as sent)
WEIGHTS: list[tuple[bytes, float | None, bool, ReadingStatus, str]] = [
    (b"ST,+00123.45  g\r\n", 123.45, True, OK, "g"),
    (b"ST,+0001.234 kg\r\n", 1234.0, True, OK, "kg"),
    (b"ST,-00012.30  g\r\n", -12.3, True, OK, "g"),
    (b"ST,+00000.00  g\r\n", 0.0, True, OK, "g"),
    (b"US,-00001.20  g\r\n", -1.2, False, MOTION, "g"),
    (b"US,+00098.77  g\r\n", 98.77, False, MOTION, "g"),
    (b"ST,+0002.500 lb\r\n", 1133.980925, True, OK, "lb"),
    (b"ST,+00010.00 oz\r\n", 283.49523125, True, OK, "oz"),
    (b"ST,+0001.000ozt\r\n", 31.1034768, True, OK, "ozt"),
    (b"ST,+0000.1278,  g\r\n", 0.1278, True, OK, "g"),  # A&D CSV format
    (b"ST,OK,+0001.234 kg\r\n", 1234.0, True, OK, "kg"),  # A&D with comparator result
    (b"ST,HI,+0001.900 kg\r\n", 1900.0, True, OK, "kg"),
    (b"ST,G ,+01234.5kg\r\n", 1234500.0, True, OK, "kg"),  # A&D indicator, gross
    (b"ST,GS,+  1.234kg\r\n", 1234.0, True, OK, "kg"),  # CAS gross
    (b"ST,NT,-  0.050kg\r\n", -50.0, True, OK, "kg"),  # CAS net, negative
    (b"US,GS,+  0.998kg\r\n", 998.0, False, MOTION, "kg"),
    (b"\x06ST,+00123.45  g\r\n", 123.45, True, OK, "g"),  # ACK without terminator before it
    (b"OL,+9999999E+19\r\n", None, False, ReadingStatus.OVERLOAD, ""),
    (b"OL,-9999999E+19\r\n", None, False, ReadingStatus.UNDERLOAD, ""),
    (b"OL,+999999.9  g\r\n", None, False, ReadingStatus.OVERLOAD, ""),
    (b"OL,-99999999 PC\r\n", None, False, ReadingStatus.UNDERLOAD, ""),
    (b"OL,GS,+  .    kg\r\n", None, False, ReadingStatus.OVERLOAD, ""),
    (b"QT,+00000125 PC\r\n", None, False, ReadingStatus.UNKNOWN, "PC"),
    (b"ST,+000123.4  %\r\n", None, False, ReadingStatus.UNKNOWN, "%"),
    (b"ST,+00012.34mom\r\n", None, False, ReadingStatus.UNKNOWN, "mom"),
    (b"ST,+00123.45\r\n", None, False, ReadingStatus.UNKNOWN, ""),
    (b"ST,+00123.45 kgs\r\n", None, False, ReadingStatus.UNKNOWN, "kgs"),
]

REPLIES: list[tuple[bytes, Reply]] = [
    (b"\x06\r\n", Reply("", True, "ACK", "acknowledged")),
    (b"EC,E1\r\n", Reply("", False, "E1", "error")),
    (b"EC,E3\r\n", Reply("", False, "E3", "error")),
    (b"SN,12345678\r\n", Reply("?SN", True, "A", "12345678")),
    (b"TN,  FZ-120i\r\n", Reply("?TN", True, "A", "FZ-120i")),
    (b"PT,+0012.50  g\r\n", Reply("tare", True, "PT", "+0012.50  g")),
    (b"ST,T ,+00012.5kg\r\n", Reply("tare", True, "T", "+00012.5kg")),
]

GARBAGE: list[bytes] = [
    b"\r\n",
    b"XX,+00123.45  g\r\n",
    b"ST\r\n",
    b"ST,\r\n",
    b"ST,GS,\r\n",
    b"st,+00123.45  g\r\n",
    b"ST,+00123.45  g extra\r\n",
    b"ST,+1.2e5  g\r\n",
    b"ST,++0012.00  g\r\n",
    b"ST,+001.2.3  g\r\n",
    b"ST,+00123.45 kilo\r\n",
    b"ST,a,b,c,d\r\n",
    b"ST,+00123.45  \xb5g\r\n",
    b"\x00\x00\r\n",  # NUL bytes from a glitching line
    b"ST,+001\x0023.45  g\r\n",
    b"ST,+00123.45\x00 g\r\n",
]

TRUNCATED: list[bytes] = [
    b"ST,+001\r\n",  # cut mid-value
    b"ST,+00123.4\r\n",  # cut before the unit
    b"US,+0012\r\n",
]

REAL_FRAMES = [w[0] for w in WEIGHTS] + [r[0] for r in REPLIES]


@pytest.mark.parametrize(("raw", "grams", "stable", "status", "unit"), WEIGHTS)
def test_weight_lines(
    raw: bytes, grams: float | None, stable: bool, status: ReadingStatus, unit: str
) -> None:
    assert continuous.parse_frame(raw) == Reading(grams, stable, status, unit, raw)


@pytest.mark.parametrize(("raw", "expected"), REPLIES)
def test_replies(raw: bytes, expected: Reply) -> None:
    result = continuous.parse_frame(raw)
    assert isinstance(result, Reply)
    assert (result.command, result.ok, result.code, result.text) == (
        expected.command,
        expected.ok,
        expected.code,
        expected.text,
    )
    assert result.raw == raw


@pytest.mark.parametrize("raw", TRUNCATED)
def test_truncated_lines_never_carry_a_weight(raw: bytes) -> None:
    # Without its unit a value is not a weight: it must not be read as grams.
    result = continuous.parse_frame(raw)
    assert not isinstance(result, Reading) or result.grams is None


@pytest.mark.parametrize("raw", GARBAGE)
def test_garbage_is_garbage(raw: bytes) -> None:
    assert isinstance(continuous.parse_frame(raw), Garbage)


def test_stream_at_ten_hertz_byte_by_byte() -> None:
    stream = (
        b"US,+00050.12  g\r\nUS,+00120.40  g\r\nUS,+00123.41  g\r\n"
        b"ST,+00123.45  g\r\nST,+00123.45  g\r\n"
    )
    framer = continuous.new_framer()
    values = [continuous.parse_frame(f) for f in feed_bytewise(framer, stream)]
    assert [(r.grams, r.stable) for r in readings(values)] == [
        (50.12, False),
        (120.4, False),
        (123.41, False),
        (123.45, True),
        (123.45, True),
    ]


def test_joining_mid_line_loses_only_that_line() -> None:
    results = decode(continuous.PROTOCOL, [b"23.45  g\r\nST,+00123.45  g\r\n"])
    assert isinstance(results[0], Garbage)
    assert results[1] == Reading(123.45, True, OK, "g", b"ST,+00123.45  g\r\n")


def test_oversize_line_is_bounded() -> None:
    framer = continuous.new_framer()
    assert framer.feed(b"ST,+" + b"0" * 5000) == []
    assert framer.buffered < continuous.MAX_FRAME_BYTES
    assert framer.feed(b"1.00  g\r\nST,+00001.00  g\r\n") == [b"ST,+00001.00  g\r\n"]
    assert framer.overflows == 1


def test_encoders() -> None:
    assert continuous.encode_request_weight() == b"Q\r\n"
    assert continuous.encode_stream_start() == b"SIR\r\n"
    assert continuous.encode_cancel() == b"C\r\n"
    assert continuous.encode_zero() == b"R\r\n"
    assert continuous.encode_tare() == b"T\r\n"
    assert continuous.encode_identify() == b"?SN\r\n"
