"""The cart's load-cell board: ``$W,seq,c1,c2,c3,c4*XX`` lines and the MT-SICS identify subset."""

from __future__ import annotations

import functools
import itertools
import operator

import pytest

from scale.protocols import cartboard
from scale.protocols.base import CellFrame, Garbage, ProtocolError, Reply
from tests.scale.helpers import decode, feed_bytewise

# (bytes as the board sends them, seq, counts)
SAMPLES: list[tuple[bytes, int, tuple[int | None, ...]]] = [
    (b"$W,0,0,0,0,0*4B\r\n", 0, (0, 0, 0, 0)),
    (b"$W,1,123456,-2345,78901,4567*57\r\n", 1, (123456, -2345, 78901, 4567)),
    (b"$W,4711,812345,799001,805512,790040*76\r\n", 4711, (812345, 799001, 805512, 790040)),
    (b"$W,4711,812345,799001,805512,790040*76\n", 4711, (812345, 799001, 805512, 790040)),
    (b"$W,65534,812350,799003,805510,790041*41\r\n", 65534, (812350, 799003, 805510, 790041)),
    (b"$W,65535,812349,799000,805515,790039*41\r\n", 65535, (812349, 799000, 805515, 790039)),
    (b"$W,0,812351,799002,805511,790044*44\r\n", 0, (812351, 799002, 805511, 790044)),
    (
        b"$W,17,8388607,-8388608,8388607,-8388608*7D\r\n",
        17,
        (8388607, -8388608, 8388607, -8388608),
    ),
    (b"$W,42,812345,,805512,790040*75\r\n", 42, (812345, None, 805512, 790040)),
    (b"$W,43,,,,*7C\r\n", 43, (None, None, None, None)),
    (b"$W,00042,812345,,805512,790040*45\r\n", 42, (812345, None, 805512, 790040)),
]

BAD_CHECKSUM: list[bytes] = [
    b"$W,4711,812345,799001,805512,790041*76\r\n",  # one digit changed in transit
    b"$W,4711,812345,799001,805512,790040*77\r\n",  # checksum changed in transit
    b"$W,4712,812345,799001,805512,790040*76\r\n",
]

GARBAGE: list[bytes] = [
    b"\r\n",
    b"$W,4711,812345,799001,805512,790040\r\n",  # no checksum
    b"$W,4711,812345,799001,805512,790040*7\r\n",
    b"$W,4711,812345,799001,805512,790040*7G\r\n",
    b"$W,4711,812345,799001,805512,790040*760\r\n",
    b"$W,4711,812345,799001,805512*76\r\n",  # three cells
    b"$W,4711,812345,799001,805512,790040,1*76\r\n",  # five cells
    b"$X,4711,812345,799001,805512,790040*76\r\n",
    b"$W,65536,0,0,0,0*4B\r\n",  # seq out of range
    b"$W,-1,0,0,0,0*4B\r\n",
    b"$W,1,8388608,0,0,0*4B\r\n",  # above 24-bit range
    b"$W,1,-8388609,0,0,0*4B\r\n",
    b"$W,1,+5,0,0,0*4B\r\n",
    b"$W,1,0x10,0,0,0*4B\r\n",
    b"$W,1,1 2,0,0,0*4B\r\n",
    b"$W,1,\xb12,0,0,0*4B\r\n",
    b"2,805512,790040*76\r\n",  # the tail of a line, when the port opens mid-stream
    b"S S      12.34 g\r\n",  # the board never sends weights
    b"\x00\x00\x00\r\n",  # a line of NUL bytes (a glitching UART at power-up)
    b"$W,4711,812\x00345,799001,805512,790040*76\r\n",  # a NUL inside a count
    b"$W,4711,812345,799001,805512,790040\x00*76\r\n",
    b"$W,4711,812345,7990\r\n",  # truncated mid-frame (the board reset)
    b"$W,4711,8\r\n",
    b"$\r\n",
]

REPLIES: list[tuple[bytes, Reply]] = [
    (b'I4 A "CB-000123"\r\n', Reply("I4", True, "A", "CB-000123", b'I4 A "CB-000123"\r\n')),
    (b"ES\r\n", Reply("", False, "ES", "syntax error: command not recognised", b"ES\r\n")),
]

REAL_FRAMES = [s[0] for s in SAMPLES] + BAD_CHECKSUM + [r[0] for r in REPLIES]


@pytest.mark.parametrize(("raw", "seq", "counts"), SAMPLES)
def test_samples(raw: bytes, seq: int, counts: tuple[int | None, ...]) -> None:
    assert cartboard.parse_frame(raw) == CellFrame(seq, counts, True, raw)


@pytest.mark.parametrize(("raw", "seq", "counts"), SAMPLES)
def test_literal_checksums_are_nmea_xor(
    raw: bytes, seq: int, counts: tuple[int | None, ...]
) -> None:
    payload, _, tail = raw[1:].partition(b"*")
    assert functools.reduce(operator.xor, payload, 0) == int(tail[:2], 16)


@pytest.mark.parametrize("raw", BAD_CHECKSUM)
def test_checksum_failure_is_flagged(raw: bytes) -> None:
    result = cartboard.parse_frame(raw)
    assert isinstance(result, CellFrame)
    assert not result.checksum_ok


def test_lower_case_checksum_is_accepted() -> None:
    result = cartboard.parse_frame(b"$W,0,0,0,0,0*4b\r\n")
    assert isinstance(result, CellFrame)
    assert result.checksum_ok


@pytest.mark.parametrize("raw", GARBAGE)
def test_garbage_is_garbage(raw: bytes) -> None:
    assert isinstance(cartboard.parse_frame(raw), Garbage)


@pytest.mark.parametrize(("raw", "expected"), REPLIES)
def test_identify_subset(raw: bytes, expected: Reply) -> None:
    assert cartboard.parse_frame(raw) == expected


def test_encode_sample_matches_the_table() -> None:
    for raw, seq, counts in SAMPLES:
        if raw.endswith(b"\r\n") and not raw.startswith(b"$W,000"):
            assert cartboard.encode_sample(seq, counts) == raw


@pytest.mark.parametrize(
    ("seq", "counts"),
    [(-1, [0, 0, 0, 0]), (65536, [0, 0, 0, 0]), (0, [0, 0, 0]), (0, [0, 0, 0, 1 << 23])],
)
def test_encode_sample_rejects_what_the_board_cannot_send(seq: int, counts: list[int]) -> None:
    with pytest.raises(ProtocolError):
        cartboard.encode_sample(seq, counts)


def test_identify_encoders() -> None:
    assert cartboard.encode_identify() == b"I4\r\n"
    assert cartboard.encode_reset() == b"@\r\n"
    assert cartboard.encode_identify_answer("CB-000123") == b'I4 A "CB-000123"\r\n'
    with pytest.raises(ProtocolError):
        cartboard.encode_identify_answer('bad"serial')
    assert cartboard.PROTOCOL.encode_request_weight is None
    assert cartboard.PROTOCOL.streaming


@pytest.mark.parametrize(
    ("previous", "current", "lost"),
    [(4711, 4712, 0), (4711, 4714, 2), (65534, 65535, 0), (65535, 0, 0), (65534, 1, 2)],
)
def test_seq_gap_across_the_wrap(previous: int, current: int, lost: int) -> None:
    assert cartboard.seq_gap(previous, current) == lost


def test_seq_gap_of_a_repeated_frame_is_a_near_full_cycle() -> None:
    assert cartboard.seq_gap(5, 5) == 65535


def test_one_second_of_stream_in_one_chunk_across_the_wrap() -> None:
    start = 65536 - 40
    chunk = b"".join(
        cartboard.encode_sample((start + i) % 65536, [800000 + i, 799000, 805000, -790000])
        for i in range(cartboard.SAMPLE_RATE_HZ)
    )
    frames = [f for f in decode(cartboard.PROTOCOL, [chunk]) if isinstance(f, CellFrame)]
    assert len(frames) == cartboard.SAMPLE_RATE_HZ
    assert all(f.checksum_ok for f in frames)
    assert frames[39].seq == 65535
    assert frames[40].seq == 0
    gaps = [cartboard.seq_gap(a.seq, b.seq) for a, b in itertools.pairwise(frames)]
    assert set(gaps) == {0}


def test_line_split_byte_by_byte_after_joining_mid_stream() -> None:
    stream = b"05512,790040*76\r\n$W,4711,812345,799001,805512,790040*76\r\n"
    framer = cartboard.new_framer()
    results = [cartboard.parse_frame(f) for f in feed_bytewise(framer, stream)]
    assert isinstance(results[0], Garbage)
    assert results[1] == CellFrame(4711, (812345, 799001, 805512, 790040), True, stream[17:])


def test_samples_and_identify_answer_interleave() -> None:
    chunk = b'$W,1,123456,-2345,78901,4567*57\r\nI4 A "CB-000123"\r\n$W,0,0,0,0,0*4B\r\n'
    results = decode(cartboard.PROTOCOL, [chunk])
    assert [type(r) for r in results] == [CellFrame, Reply, CellFrame]


def test_noise_without_newline_is_bounded() -> None:
    framer = cartboard.new_framer()
    for _ in range(100):
        framer.feed(b"$W,1,2,3" * 10)
        assert framer.buffered < cartboard.MAX_FRAME_BYTES
    assert framer.feed(b"\r\n$W,0,0,0,0,0*4B\r\n") == [b"$W,0,0,0,0,0*4B\r\n"]
    assert framer.discarded_bytes == 8000 + 2
