"""Shared types of the wire protocols: parse results, the bounded framer, protocol descriptors.

Every protocol module is a pure parser plus framing: bytes in, frozen values out, no I/O and no
clock. Parsers never raise on device input; what they cannot read comes back as
:class:`Garbage`. A weight the device did not state is ``None``, never ``0.0``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from scale.types import WeightSample


class ReadingStatus(StrEnum):
    """What a weight frame says about the value it carries."""

    OK = "ok"  # a stable, valid weight
    MOTION = "motion"  # the scale is settling; the value (if any) is not a plateau
    OVERLOAD = "overload"  # above capacity; the weight is unknown
    UNDERLOAD = "underload"  # below zero range; the weight is unknown
    ERROR = "error"  # the device reports a fault (RAM, calibration, zero capture...)
    UNKNOWN = "unknown"  # the device answered without a usable weight (busy, timeout, unit)


# Statuses under which a number, even if one was sent, must not be taken as the weight.
NO_WEIGHT_STATUSES = frozenset(
    {ReadingStatus.OVERLOAD, ReadingStatus.UNDERLOAD, ReadingStatus.ERROR, ReadingStatus.UNKNOWN}
)


@dataclass(frozen=True, slots=True)
class Reading:
    """A weight frame, converted to grams.

    Invariants (checked on construction so that no parser can break them):
    ``grams`` is ``None`` for OVERLOAD, UNDERLOAD, ERROR and UNKNOWN; OK always has grams;
    ``stable`` implies OK; ``grams`` is finite. MOTION may carry the dynamic value the device
    sent, or ``None`` when it sent none.
    """

    grams: float | None
    stable: bool
    status: ReadingStatus
    unit_raw: str = ""
    raw: bytes = b""

    def __post_init__(self) -> None:
        if self.status in NO_WEIGHT_STATUSES and self.grams is not None:
            raise ValueError(f"a {self.status} reading cannot carry a weight")
        if self.status is ReadingStatus.OK and self.grams is None:
            raise ValueError("an ok reading needs a weight")
        if self.stable and self.status is not ReadingStatus.OK:
            raise ValueError(f"a {self.status} reading cannot be stable")
        if self.grams is not None and not math.isfinite(self.grams):
            raise ValueError("grams must be finite")

    def to_sample(self, t: float) -> WeightSample:
        """This reading as the scale package's :class:`~scale.types.WeightSample` at time ``t``."""
        return WeightSample(t=t, grams=self.grams, stable=self.stable, status=self.status.value)


@dataclass(frozen=True, slots=True)
class CellFrame:
    """One sample of the cart's load-cell board: raw ADC counts per cell, before calibration.

    A cell the board could not read in this sample (ADC not ready, timed out) is ``None``.
    Frames with ``checksum_ok`` false must not be used as weights; they are returned so that
    the link's error rate can be counted.
    """

    seq: int
    counts: tuple[int | None, ...]
    checksum_ok: bool
    raw: bytes = b""


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer to a command that is not a weight: acknowledgements, errors, identity, status.

    ``command`` is the command the device names in its answer (``"Z"``, ``"I4"``), ``"status"``
    for a bare status record, or ``""`` when the device does not say. ``code`` is the device's
    own status code verbatim (``"A"``, ``"I"``, ``"+"``, ``"ES"``, ``"?"``); ``ok`` is whether
    that code means success. ``text`` carries any payload, e.g. the serial number of ``I4``.
    """

    command: str
    ok: bool
    code: str
    text: str = ""
    raw: bytes = b""


@dataclass(frozen=True, slots=True)
class Garbage:
    """A frame the parser could not read; ``reason`` says why, for logs and counters."""

    raw: bytes
    reason: str


ParseResult = Reading | Reply | CellFrame | Garbage


class ProtocolError(ValueError):
    """An encoder was asked for something the protocol cannot express (never raised by parsers)."""


class Framer:
    """Incremental, bounded framing of a byte stream into frames (terminator included).

    ``end`` is the single terminator byte. With ``start`` set, a frame runs from a start byte to
    the next terminator and bytes outside frames are discarded. Without it, every terminator
    ends a frame (line framing). A frame longer than ``max_frame`` bytes (terminator included)
    can never be valid: it is discarded and counted, so between calls the buffer always holds
    fewer than ``max_frame`` bytes, whatever arrives. ``restart_on_start`` makes a start byte
    inside a pending frame begin a new frame; protocols whose frames can contain the start byte
    leave it off.
    """

    def __init__(
        self,
        *,
        end: int,
        max_frame: int,
        start: int | None = None,
        restart_on_start: bool = False,
    ) -> None:
        if max_frame < 2:
            raise ValueError("max_frame must be at least 2")
        self.end = end
        self.start = start
        self.max_frame = max_frame
        self.restart_on_start = restart_on_start
        self.frames = 0
        self.discarded_bytes = 0
        self.overflows = 0
        self._buf = bytearray()
        # Line framing: set while the tail of an oversize line is still arriving.
        self._skipping = False

    @property
    def buffered(self) -> int:
        """Bytes held for an incomplete frame."""
        return len(self._buf)

    def reset(self) -> int:
        """Drop any partial frame (e.g. after a read timeout); returns how many bytes went."""
        dropped = len(self._buf)
        self.discarded_bytes += dropped
        self._buf.clear()
        self._skipping = False
        return dropped

    def feed(self, data: bytes) -> list[bytes]:
        """Add received bytes; return the frames they complete, in order."""
        self._buf += data
        if self.start is None:
            out, pos = self._split_lines()
        else:
            out, pos = self._split_delimited(self.start)
        del self._buf[:pos]
        self.frames += len(out)
        return out

    def _discard(self, count: int) -> None:
        self.discarded_bytes += count

    def _split_lines(self) -> tuple[list[bytes], int]:
        buf, pos = self._buf, 0
        out: list[bytes] = []
        while True:
            e = buf.find(self.end, pos)
            if e < 0:
                pending = len(buf) - pos
                if self._skipping or pending >= self.max_frame:
                    if not self._skipping:
                        self.overflows += 1
                    self._skipping = True
                    self._discard(pending)
                    pos = len(buf)
                return out, pos
            length = e + 1 - pos
            if self._skipping:
                self._skipping = False
                self._discard(length)
            elif length > self.max_frame:
                self.overflows += 1
                self._discard(length)
            else:
                out.append(bytes(buf[pos : e + 1]))
            pos = e + 1

    def _split_delimited(self, start: int) -> tuple[list[bytes], int]:
        buf, pos = self._buf, 0
        out: list[bytes] = []
        while True:
            s = buf.find(start, pos)
            if s < 0:
                self._discard(len(buf) - pos)
                return out, len(buf)
            self._discard(s - pos)
            pos = s
            limit = pos + self.max_frame  # the terminator must sit before this index
            e = buf.find(self.end, pos + 1, limit)
            if self.restart_on_start:
                later = buf.find(start, pos + 1, e if e >= 0 else min(limit, len(buf)))
                if later >= 0:
                    self._discard(later - pos)
                    pos = later
                    continue
            if e >= 0:
                out.append(bytes(buf[pos : e + 1]))
                pos = e + 1
            elif len(buf) >= limit:
                # No terminator within reach of this start byte: it began no frame.
                self.overflows += 1
                self._discard(1)
                pos += 1
            else:
                return out, pos


@dataclass(frozen=True, slots=True)
class SerialSettings:
    """Typical factory line settings of a protocol; the configuration may override them."""

    baudrate: int
    bytesize: int = 8
    parity: str = "N"  # pyserial's letters: N, E, O
    stopbits: int = 1


@dataclass(frozen=True, slots=True)
class Protocol:
    """Everything the scale reader needs to speak one wire protocol.

    An encoder is ``None`` where the protocol has no such command. ``streaming`` protocols send
    weights unasked; the others must be polled with ``encode_request_weight``.
    """

    name: str
    title: str
    serial: SerialSettings
    streaming: bool
    new_framer: Callable[[], Framer]
    parse_frame: Callable[[bytes], ParseResult]
    encode_request_weight: Callable[[], bytes] | None
    encode_zero: Callable[[], bytes] | None
    encode_tare: Callable[[], bytes] | None
    encode_identify: Callable[[], bytes] | None


def ascii_text(frame: bytes, strip: bytes = b"\r\n") -> str | None:
    """The frame as printable ASCII with ``strip`` bytes removed from both ends, else ``None``."""
    body = frame.strip(strip)
    if not all(0x20 <= b < 0x7F for b in body):
        return None
    return body.decode("ascii")


def status_from_flags(
    *, error: bool, overload: bool, underload: bool, motion: bool
) -> ReadingStatus:
    """The one status a set of device flags maps to; a fault outranks everything else."""
    if error:
        return ReadingStatus.ERROR
    if overload:
        return ReadingStatus.OVERLOAD
    if underload:
        return ReadingStatus.UNDERLOAD
    if motion:
        return ReadingStatus.MOTION
    return ReadingStatus.OK
