"""Property tests: whatever bytes arrive, framing and parsing return values and never invent 0 g.

Streams are drawn both as arbitrary bytes and as mixes of real frames, pieces of real frames and
noise, so the parsers' deeper branches are reached, not only their first check.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scale.protocols import PROTOCOLS, continuous, mt_sics, nci, toledo_8217
from scale.protocols.base import CellFrame, Framer, Garbage, ParseResult, Reading, Reply
from scale.protocols.cartboard import COUNT_MAX, COUNT_MIN, SEQ_MODULUS
from scale.protocols.units import GRAMS_PER_UNIT
from tests.scale import (
    test_cartboard,
    test_continuous,
    test_mt_sics,
    test_nci,
    test_toledo_8217,
)
from tests.scale.helpers import says_zero

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(120)]

FUZZ = settings(max_examples=120, deadline=None)


@dataclass(frozen=True)
class Target:
    name: str
    new_framer: Callable[[], Framer]
    parse: Callable[[bytes], ParseResult]
    seeds: list[bytes]


SEEDS = {
    "cartboard": test_cartboard.REAL_FRAMES,
    "mt-sics": test_mt_sics.REAL_FRAMES,
    "toledo-8217": test_toledo_8217.REAL_FRAMES,
    "nci": test_nci.REAL_FRAMES,
    "continuous": test_continuous.REAL_FRAMES,
}
TARGETS = [Target(n, p.new_framer, p.parse_frame, SEEDS[n]) for n, p in PROTOCOLS.items()] + [
    Target(
        "toledo-8217/lb",
        toledo_8217.new_framer,
        toledo_8217.make_parser("lb"),
        test_toledo_8217.REAL_FRAMES,
    ),
    Target(
        "toledo-8217/g",
        toledo_8217.new_framer,
        toledo_8217.make_parser("g"),
        test_toledo_8217.REAL_FRAMES,
    ),
]
TARGET_IDS = [t.name for t in TARGETS]


def streams(seeds: list[bytes]) -> st.SearchStrategy[bytes]:
    """Byte streams made of real frames, slices of them and noise, in any order."""
    whole = st.sampled_from(seeds)
    piece = st.tuples(whole, st.integers(0, 64), st.integers(0, 64)).map(
        lambda t: t[0][min(t[1], t[2]) : max(t[1], t[2])]
    )
    flipped = st.tuples(whole, st.integers(0, 63), st.integers(0, 255)).map(
        lambda t: t[0][: t[1]] + bytes([t[2]]) + t[0][t[1] + 1 :]
    )
    part = st.one_of(whole, piece, flipped, st.binary(max_size=8))
    return st.one_of(st.binary(max_size=512), st.lists(part, max_size=24).map(b"".join))


def cut(data: bytes, cuts: list[int]) -> list[bytes]:
    """``data`` split at the given offsets (clamped, sorted)."""
    points = sorted({min(c, len(data)) for c in cuts})
    edges = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


def weight_region(name: str, raw: bytes) -> bytes:
    """The bytes that hold the weight value: NCI's status line also contains zeros."""
    return raw.split(b"\r", 1)[0] if name == "nci" else raw


def check_result(target: Target, frame: bytes, result: ParseResult) -> None:
    assert isinstance(result, Reading | Reply | CellFrame | Garbage)
    assert result.raw == frame
    if isinstance(result, Reading) and result.grams is not None:
        assert math.isfinite(result.grams)
        if result.grams == 0.0:
            assert says_zero(weight_region(target.name, frame)), frame
    if isinstance(result, CellFrame):
        assert 0 <= result.seq < SEQ_MODULUS
        assert all(c is None or COUNT_MIN <= c <= COUNT_MAX for c in result.counts)


@pytest.mark.parametrize("target", TARGETS, ids=TARGET_IDS)
@FUZZ
@given(data=st.data())
def test_any_stream_frames_and_parses_without_raising(target: Target, data: st.DataObject) -> None:
    stream = data.draw(streams(target.seeds), label="stream")
    cuts = data.draw(st.lists(st.integers(0, 600), max_size=12), label="cuts")
    framer = target.new_framer()
    for chunk in cut(stream, cuts):
        for frame in framer.feed(chunk):
            assert len(frame) <= framer.max_frame
            check_result(target, frame, target.parse(frame))
        assert framer.buffered < framer.max_frame


@pytest.mark.parametrize("target", TARGETS, ids=TARGET_IDS)
@FUZZ
@given(data=st.data())
def test_chunking_never_changes_the_frames(target: Target, data: st.DataObject) -> None:
    stream = data.draw(streams(target.seeds), label="stream")
    cuts = data.draw(st.lists(st.integers(0, 600), max_size=12), label="cuts")
    whole, pieces = target.new_framer(), target.new_framer()
    expected = whole.feed(stream)
    got = [frame for chunk in cut(stream, cuts) for frame in pieces.feed(chunk)]
    assert got == expected
    assert pieces.discarded_bytes + pieces.buffered == whole.discarded_bytes + whole.buffered
    assert sum(map(len, expected)) + whole.discarded_bytes + whole.buffered == len(stream)


@pytest.mark.parametrize("target", TARGETS, ids=TARGET_IDS)
@FUZZ
@given(body=st.binary(max_size=80), shape=st.integers(0, 3))
def test_parser_alone_never_raises(target: Target, body: bytes, shape: int) -> None:
    # Frames shaped like the protocol's own, so the parsers get past their first check.
    frame = [body, body + b"\r\n", b"\x02" + body + b"\r", b"\n" + body + b"\r\x03"][shape]
    check_result(target, frame, target.parse(frame))


units = st.sampled_from(sorted(GRAMS_PER_UNIT))
values = st.decimals(min_value=-99999, max_value=99999, places=3, allow_nan=False)


@FUZZ
@given(value=values, unit=units, stable=st.booleans())
def test_mt_sics_weight_round_trip(value: Decimal, unit: str, stable: bool) -> None:
    raw = f"S {'S' if stable else 'D'} {value:>10} {unit}\r\n".encode("ascii")
    result = mt_sics.parse_frame(raw)
    assert isinstance(result, Reading)
    assert result.grams == float(value * GRAMS_PER_UNIT[unit])
    assert (result.grams == 0.0) == (value == 0)
    assert result.stable is stable


@FUZZ
@given(value=values, unit=units, stable=st.booleans())
def test_continuous_weight_round_trip(value: Decimal, unit: str, stable: bool) -> None:
    raw = f"{'ST' if stable else 'US'},{value:+010}{unit:>3}\r\n".encode("ascii")
    result = continuous.parse_frame(raw)
    assert isinstance(result, Reading)
    assert result.grams == float(value * GRAMS_PER_UNIT[unit])
    assert (result.grams == 0.0) == (value == 0)


@FUZZ
@given(value=values, unit=units, motion=st.booleans())
def test_nci_weight_round_trip(value: Decimal, unit: str, motion: bool) -> None:
    raw = f"\n{value:>9}{unit}\r\n{'1' if motion else '0'}0\r\x03".encode("ascii")
    result = nci.parse_frame(raw)
    assert isinstance(result, Reading)
    assert result.grams == float(value * GRAMS_PER_UNIT[unit])
    assert (result.grams == 0.0) == (value == 0)
    assert result.stable is not motion
