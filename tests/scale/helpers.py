"""Helpers shared by the scale protocol tests."""

from __future__ import annotations

import re
from collections.abc import Iterable

from scale.protocols.base import Framer, ParseResult, Protocol, Reading

_NUMBER = re.compile(rb"[0-9.]+")


def says_zero(region: bytes) -> bool:
    """Whether ``region`` literally contains a number made only of zeros (``0``, ``-0.00``)."""
    return any(b"0" in token and set(token) <= set(b"0.") for token in _NUMBER.findall(region))


def feed_bytewise(framer: Framer, data: bytes) -> list[bytes]:
    """Feed ``data`` one byte at a time, as a slow serial line delivers it."""
    frames: list[bytes] = []
    for i in range(len(data)):
        frames.extend(framer.feed(data[i : i + 1]))
    return frames


def decode(protocol: Protocol, chunks: Iterable[bytes]) -> list[ParseResult]:
    """Frame and parse a sequence of received chunks with a fresh framer."""
    framer = protocol.new_framer()
    return [protocol.parse_frame(frame) for chunk in chunks for frame in framer.feed(chunk)]


def readings(results: Iterable[ParseResult]) -> list[Reading]:
    """Only the weight readings among parse results."""
    return [r for r in results if isinstance(r, Reading)]
