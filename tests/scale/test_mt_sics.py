"""MT-SICS: answers as Mettler Toledo balances send them (MT-SICS reference manual layouts)."""

from __future__ import annotations

import pytest

from scale.protocols import mt_sics
from scale.protocols.base import Garbage, ProtocolError, Reading, ReadingStatus, Reply
from tests.scale.helpers import decode, feed_bytewise, readings

OK = ReadingStatus.OK
MOTION = ReadingStatus.MOTION

# (bytes as sent, grams, stable, status, unit as sent)
WEIGHTS: list[tuple[bytes, float | None, bool, ReadingStatus, str]] = [
    (b"S S      12.34 g\r\n", 12.34, True, OK, "g"),
    (b"S S     100.00 g\r\n", 100.0, True, OK, "g"),
    (b"S S     -12.50 g\r\n", -12.5, True, OK, "g"),
    (b"S S       0.00 g\r\n", 0.0, True, OK, "g"),
    (b"S S      -0.00 g\r\n", 0.0, True, OK, "g"),
    (b"S D     129.07 g\r\n", 129.07, False, MOTION, "g"),
    (b"S D      -3.41 g\r\n", -3.41, False, MOTION, "g"),
    (b"S S     1.2345 kg\r\n", 1234.5, True, OK, "kg"),
    (b"S S     -0.020 kg\r\n", -20.0, True, OK, "kg"),
    (b"S S    0.50000 lb\r\n", 226.796185, True, OK, "lb"),
    (b"S S     3.0000 oz\r\n", 85.048569375, True, OK, "oz"),
    (b"S S      500.0 mg\r\n", 0.5, True, OK, "mg"),
    (b"S S     1.0000 ozt\r\n", 31.1034768, True, OK, "ozt"),
    (b"S S      10.00 ct\r\n", 2.0, True, OK, "ct"),
    (b"S S         42 PCS\r\n", None, False, ReadingStatus.UNKNOWN, "PCS"),
    (b"S I\r\n", None, False, ReadingStatus.UNKNOWN, ""),
    (b"S +\r\n", None, False, ReadingStatus.OVERLOAD, ""),
    (b"S -\r\n", None, False, ReadingStatus.UNDERLOAD, ""),
]

# (bytes as sent, command, ok, code, text)
REPLIES: list[tuple[bytes, str, bool, str, str]] = [
    (b"Z A\r\n", "Z", True, "A", ""),
    (b"Z I\r\n", "Z", False, "I", mt_sics.CODE_MEANINGS["I"]),
    (b"Z +\r\n", "Z", False, "+", "upper limit exceeded"),
    (b"Z -\r\n", "Z", False, "-", "lower limit exceeded"),
    (b"ZI D\r\n", "ZI", True, "D", ""),
    (b"T S     100.00 g\r\n", "T", True, "S", "100.00 g"),
    (b"T I\r\n", "T", False, "I", mt_sics.CODE_MEANINGS["I"]),
    (b"T +\r\n", "T", False, "+", "upper limit exceeded"),
    (b"TAC A\r\n", "TAC", True, "A", ""),
    (b"TAC L\r\n", "TAC", False, "L", "logical error: parameter not allowed"),
    (b'I4 A "B021002593"\r\n', "I4", True, "A", "B021002593"),
    (b"I4 I\r\n", "I4", False, "I", mt_sics.CODE_MEANINGS["I"]),
    (b"SIR L\r\n", "SIR", False, "L", "logical error: parameter not allowed"),
    (b"ES\r\n", "", False, "ES", "syntax error: command not recognised"),
    (b"ET\r\n", "", False, "ET", "transmission error: parity or break"),
    (b"EL\r\n", "", False, "EL", "logical error: command cannot be executed"),
]

GARBAGE: list[bytes] = [
    b"\r\n",
    b"S\r\n",
    b"S S\r\n",
    b"S S      12.34\r\n",
    b"S S      12,34 g\r\n",
    b"S S        1e3 g\r\n",
    b"S S        nan g\r\n",
    b"S S        inf g\r\n",
    b"S S      1_000 g\r\n",
    b"S S      12.34 g extra\r\n",
    b"S X      12.34 g\r\n",
    b"S I      12.34 g\r\n",
    b"S S   \xb512.34 g\r\n",
    b"\x00\x00S S      12.34 g\r\n",
    b"s s      12.34 g\r\n",
    b"hello\r\n",
]

REAL_FRAMES = [w[0] for w in WEIGHTS] + [r[0] for r in REPLIES]


@pytest.mark.parametrize(("raw", "grams", "stable", "status", "unit"), WEIGHTS)
def test_weight_answers(
    raw: bytes, grams: float | None, stable: bool, status: ReadingStatus, unit: str
) -> None:
    result = mt_sics.parse_frame(raw)
    assert result == Reading(grams, stable, status, unit, raw)


@pytest.mark.parametrize(("raw", "command", "ok", "code", "text"), REPLIES)
def test_command_answers(raw: bytes, command: str, ok: bool, code: str, text: str) -> None:
    assert mt_sics.parse_frame(raw) == Reply(command, ok, code, text, raw)


@pytest.mark.parametrize("raw", GARBAGE)
def test_garbage_is_garbage(raw: bytes) -> None:
    result = mt_sics.parse_frame(raw)
    assert isinstance(result, Garbage)
    assert result.raw == raw
    assert result.reason


def test_overload_busy_and_underload_are_never_zero() -> None:
    for raw in (b"S +\r\n", b"S -\r\n", b"S I\r\n"):
        result = mt_sics.parse_frame(raw)
        assert isinstance(result, Reading)
        assert result.grams is None
        assert not result.stable


def test_sir_stream_split_byte_by_byte() -> None:
    stream = b"S D      10.02 g\r\nS D      11.87 g\r\nS S      12.00 g\r\nS S      12.00 g\r\n"
    framer = mt_sics.new_framer()
    frames = feed_bytewise(framer, stream)
    values = [mt_sics.parse_frame(f) for f in frames]
    assert [(r.grams, r.status) for r in readings(values)] == [
        (10.02, MOTION),
        (11.87, MOTION),
        (12.0, OK),
        (12.0, OK),
    ]
    assert framer.buffered == 0
    assert framer.discarded_bytes == 0


def test_many_answers_in_one_chunk_and_a_split_tail() -> None:
    chunk = b'S S      12.34 g\r\nZ A\r\nI4 A "B021002593"\r\nS D      1'
    results = decode(mt_sics.PROTOCOL, [chunk, b"3.00 g\r\n"])
    assert [type(r) for r in results] == [Reading, Reply, Reply, Reading]
    last = results[-1]
    assert isinstance(last, Reading)
    assert last.grams == 13.0


def test_oversize_garbage_is_dropped_counted_and_bounded() -> None:
    framer = mt_sics.new_framer()
    assert framer.feed(b"\xaa" * 1000) == []
    assert framer.buffered < mt_sics.MAX_FRAME_BYTES
    assert framer.overflows == 1
    # The rest of the overlong line is part of the same garbage, even if it looks valid.
    assert framer.feed(b"S S      12.34 g\r\n") == []
    assert framer.feed(b"S S      12.35 g\r\n") == [b"S S      12.35 g\r\n"]
    assert framer.discarded_bytes == 1000 + len(b"S S      12.34 g\r\n")


def test_answers_after_line_noise_resynchronise() -> None:
    results = decode(mt_sics.PROTOCOL, [b"\x00\xff\xfe\r\nS S      12.34 g\r\n"])
    assert isinstance(results[0], Garbage)
    assert results[1] == Reading(12.34, True, OK, "g", b"S S      12.34 g\r\n")


def test_encoders() -> None:
    assert mt_sics.encode_request_weight() == b"SI\r\n"
    assert mt_sics.encode_request_weight(immediate=False) == b"S\r\n"
    assert mt_sics.encode_stream_start() == b"SIR\r\n"
    assert mt_sics.encode_reset() == b"@\r\n"
    assert mt_sics.encode_zero() == b"Z\r\n"
    assert mt_sics.encode_zero(immediate=True) == b"ZI\r\n"
    assert mt_sics.encode_tare() == b"T\r\n"
    assert mt_sics.encode_clear_tare() == b"TAC\r\n"
    assert mt_sics.encode_identify() == b"I4\r\n"
    assert mt_sics.encode_command("I2") == b"I2\r\n"


@pytest.mark.parametrize("bad", ["", "S\r", "S\n", "Z\x00", "Zé"])
def test_encode_command_rejects_line_breaks_and_non_ascii(bad: str) -> None:
    with pytest.raises(ProtocolError):
        mt_sics.encode_command(bad)
