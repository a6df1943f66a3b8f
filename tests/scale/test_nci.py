"""NCI / Weigh-Tronix: ``LF weight CR LF status CR ETX`` answers."""

from __future__ import annotations

import pytest

from scale.protocols import nci
from scale.protocols.base import Garbage, Reading, ReadingStatus, Reply
from tests.scale.helpers import decode, feed_bytewise

OK = ReadingStatus.OK
MOTION = ReadingStatus.MOTION

# (bytes as sent, grams, stable, status, unit as sent)
WEIGHTS: list[tuple[bytes, float | None, bool, ReadingStatus, str]] = [
    (b"\n  1.234lb\r\n00\r\x03", 559.73298458, True, OK, "lb"),
    (b"\n  0.560kg\r\n00\r\x03", 560.0, True, OK, "kg"),
    (b"\n 12.50oz\r\n00\r\x03", 354.3690390625, True, OK, "oz"),
    (b"\n  1234g \r\n00\r\x03", 1234.0, True, OK, "g"),
    (b"\n  0.000lb\r\n20\r\x03", 0.0, True, OK, "lb"),
    (b"\n -0.120kg\r\n00\r\x03", -120.0, True, OK, "kg"),
    (b"\n  1.234lb\r\n10\r\x03", 559.73298458, False, MOTION, "lb"),
    (b"\n  0.560kg\r\n0p0\r\x03", 560.0, True, OK, "kg"),  # optional third byte: net, range
    (b"\n  0.560kg\r\n0p4\r\x03", 560.0, True, OK, "kg"),
    (b"\n01.234LB\r\nS00\r\x03", 559.73298458, True, OK, "LB"),  # S-prefixed, upper-case units
    (b"\n1LB 02.5OZ\r\nS00\r\x03", 524.4661778125, True, OK, "lb-oz"),
    (b"\n-0LB 03.0OZ\r\nS00\r\x03", -85.048569375, True, OK, "lb-oz"),
    (b"\n  0.560xy\r\n00\r\x03", None, False, ReadingStatus.UNKNOWN, "xy"),
    # Over capacity and faults carry no weight, whatever the weight line shows.
    (b"\n^^^^^^lb\r\n02\r\x03", None, False, ReadingStatus.OVERLOAD, ""),
    (b"\n 99.99lb\r\n02\r\x03", None, False, ReadingStatus.OVERLOAD, ""),
    (b"\n-------lb\r\n01\r\x03", None, False, ReadingStatus.UNDERLOAD, ""),
    (b"\n  1.234lb\r\n08\r\x03", None, False, ReadingStatus.ERROR, ""),
    (b"\n  1.234lb\r\n40\r\x03", None, False, ReadingStatus.ERROR, ""),
    # The 8-bit read of a 7E1 line: parity bits set on the status bytes.
    (b"\n  1.234lb\r\n\xb1\xb0\r\x03", 559.73298458, False, MOTION, "lb"),
]

# Status lines alone that report a bad condition: weightless readings.
NO_WEIGHT: list[tuple[bytes, ReadingStatus]] = [
    (b"\n10\r\x03", ReadingStatus.MOTION),
    (b"\n01\r\x03", ReadingStatus.UNDERLOAD),
    (b"\n02\r\x03", ReadingStatus.OVERLOAD),
    (b"\n40\r\x03", ReadingStatus.ERROR),  # RAM error
    (b"\n80\r\x03", ReadingStatus.ERROR),  # EEPROM error
    (b"\n04\r\x03", ReadingStatus.ERROR),  # ROM error
    (b"\n08\r\x03", ReadingStatus.ERROR),  # faulty calibration
    (b"\n0p8\r\x03", ReadingStatus.ERROR),  # initial zero error in byte 3
    (b"\nS11\r\x03", ReadingStatus.UNDERLOAD),
]

# Status lines alone without a bad condition, e.g. the answer to S or Z.
STATUS_REPLIES: list[tuple[bytes, str, str]] = [
    (b"\n00\r\x03", "00", ""),
    (b"\n20\r\x03", "20", "at zero"),
    (b"\nS20\r\x03", "S20", "at zero"),
    (b"\n0p0\r\x03", "0p0", ""),
]

GARBAGE: list[bytes] = [
    b"\n\r\x03",
    b"\n0\r\x03",
    b"\n  1.234lb\r\n0\r\x03",
    b"\n  1.234lb\r\n0\x00\r\x03",
    b"\n  1.234lb\r\n00\x03",
    b"\n  1.234lb\r\n00\r\n00\r\x03",
    b"\n  1.2.3lb\r\n00\r\x03",
    b"\n  1.234\r\n00\r\x03",
    b"\n  1.234pound\r\n00\r\x03",
    b"\n  1e3lb\r\n00\r\x03",
    b"\n  \xb1.234lb\r\n00\r\x03",
    b"\nabc\r\x03",
    b"  1.234lb\r\n00\r\x03",
    b"\n  1.234lb\r\n00\r",
]

REAL_FRAMES = (
    [w[0] for w in WEIGHTS]
    + [n[0] for n in NO_WEIGHT]
    + [s[0] for s in STATUS_REPLIES]
    + [b"\n?\r\x03"]
)


@pytest.mark.parametrize(("raw", "grams", "stable", "status", "unit"), WEIGHTS)
def test_weight_answers(
    raw: bytes, grams: float | None, stable: bool, status: ReadingStatus, unit: str
) -> None:
    assert nci.parse_frame(raw) == Reading(grams, stable, status, unit, raw)


@pytest.mark.parametrize(("raw", "status"), NO_WEIGHT)
def test_bad_status_alone_is_a_weightless_reading(raw: bytes, status: ReadingStatus) -> None:
    assert nci.parse_frame(raw) == Reading(None, False, status, "", raw)


@pytest.mark.parametrize(("raw", "code", "text"), STATUS_REPLIES)
def test_good_status_alone_is_a_reply(raw: bytes, code: str, text: str) -> None:
    assert nci.parse_frame(raw) == Reply("status", True, code, text, raw)


def test_unrecognised_command_answer() -> None:
    raw = b"\n?\r\x03"
    assert nci.parse_frame(raw) == Reply("", False, "?", "unrecognised command", raw)


@pytest.mark.parametrize("raw", GARBAGE)
def test_garbage_is_garbage(raw: bytes) -> None:
    assert isinstance(nci.parse_frame(raw), Garbage)


def test_answer_split_byte_by_byte() -> None:
    stream = b"\n  1.234lb\r\n10\r\x03\n  1.250lb\r\n00\r\x03"
    framer = nci.new_framer()
    assert feed_bytewise(framer, stream) == [
        b"\n  1.234lb\r\n10\r\x03",
        b"\n  1.250lb\r\n00\r\x03",
    ]
    assert framer.buffered == 0


def test_several_answers_in_one_chunk() -> None:
    chunk = b"\n  1.234lb\r\n00\r\x03\n00\r\x03\n?\r\x03\n02\r\x03"
    results = decode(nci.PROTOCOL, [chunk])
    assert [type(r) for r in results] == [Reading, Reply, Reply, Reading]


def test_noise_before_an_answer_is_discarded() -> None:
    framer = nci.new_framer()
    assert framer.feed(b"\x00\xff\x03W\r\n  1.234lb\r\n00\r\x03") == [b"\n  1.234lb\r\n00\r\x03"]
    assert framer.discarded_bytes == 5


def test_an_answer_without_etx_is_bounded_and_resynchronises() -> None:
    framer = nci.new_framer()
    assert framer.feed(b"\n" + b"9" * 300) == []
    assert framer.buffered < nci.MAX_FRAME_BYTES
    assert framer.overflows >= 1
    assert framer.feed(b"\n  1.234lb\r\n00\r\x03") == [b"\n  1.234lb\r\n00\r\x03"]


def test_a_cut_answer_loses_only_its_weight() -> None:
    # The weight line's LF was lost: what is left frames as a status-only answer, never a 0 g.
    framer = nci.new_framer()
    frames = framer.feed(b"\x00" * 60 + b"\n00\r\x03")
    assert [nci.parse_frame(f) for f in frames] == [Reply("status", True, "00", "", b"\n00\r\x03")]


def test_encoders() -> None:
    assert nci.encode_request_weight() == b"W\r"
    assert nci.encode_request_weight_high_resolution() == b"H\r"
    assert nci.encode_request_status() == b"S\r"
    assert nci.encode_zero() == b"Z\r"
    assert nci.PROTOCOL.encode_tare is None
