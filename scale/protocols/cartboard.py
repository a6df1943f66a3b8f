"""The cart's own load-cell board (ESP32 + four HX711): raw counts per cell, 80 samples/s.

Defined by this project (docs/scale-protocols.md). 115200 8N1. After power-up the board sends
its identify answer once, then one line per sample::

    $W,<seq>,<c1>,<c2>,<c3>,<c4>*<XX>\\r\\n

``seq`` is 0..65535 and wraps; ``cN`` are signed 24-bit counts (-8388608..8388607), or empty
when that cell's ADC gave no value in time; ``XX`` is the NMEA-style XOR of every byte between
``$`` and ``*``, as two hex digits. Counts become grams later, in calibration.

The board also answers an MT-SICS subset, so one identify probe works on every scale:
``@`` and ``I4`` both answer ``I4 A "<serial>"``; anything else answers ``ES``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from scale.protocols import mt_sics
from scale.protocols.base import (
    CellFrame,
    Framer,
    Garbage,
    ParseResult,
    Protocol,
    ProtocolError,
    Reply,
    SerialSettings,
)

NAME = "cartboard"
SERIAL = SerialSettings(baudrate=115200, bytesize=8, parity="N", stopbits=1)
SAMPLE_RATE_HZ = 80
CELLS = 4
SEQ_MODULUS = 65536
COUNT_MIN = -(1 << 23)
COUNT_MAX = (1 << 23) - 1
# The longest sample line is 49 bytes; identify answers stay well under this.
MAX_FRAME_BYTES = 96

_SEQ = re.compile(rb"[0-9]{1,5}")
_COUNT = re.compile(rb"-?[0-9]{1,7}")
_HEX2 = re.compile(rb"[0-9A-Fa-f]{2}")


def new_framer() -> Framer:
    """A line framer (LF-terminated); sample lines and MT-SICS answers share the stream."""
    return Framer(end=0x0A, max_frame=MAX_FRAME_BYTES)


def checksum(payload: bytes) -> int:
    """XOR of ``payload`` (the bytes between ``$`` and ``*``)."""
    value = 0
    for byte in payload:
        value ^= byte
    return value


def parse_frame(frame: bytes) -> ParseResult:
    """Parse one board line: a :class:`CellFrame`, an identify :class:`Reply` or garbage.

    A sample whose fields are well formed but whose checksum does not match comes back with
    ``checksum_ok=False``; one that is not well formed is :class:`Garbage`.
    """
    line = frame.rstrip(b"\r\n")
    if not line.startswith(b"$"):
        answer = mt_sics.parse_frame(frame)
        if isinstance(answer, Reply):
            return answer
        return Garbage(frame, "neither a sample nor an MT-SICS answer")
    star = line.rfind(b"*")
    if star < 0 or not _HEX2.fullmatch(line[star + 1 :]):
        return Garbage(frame, "missing *XX checksum")
    payload = line[1:star]
    fields = payload.split(b",")
    if fields[0] != b"W":
        return Garbage(frame, "unknown sentence type")
    if len(fields) != 2 + CELLS:
        return Garbage(frame, f"expected seq and {CELLS} cells")
    if not _SEQ.fullmatch(fields[1]) or int(fields[1]) >= SEQ_MODULUS:
        return Garbage(frame, "bad sequence number")
    counts: list[int | None] = []
    for field in fields[2:]:
        if not field:
            counts.append(None)
            continue
        if not _COUNT.fullmatch(field) or not COUNT_MIN <= int(field) <= COUNT_MAX:
            return Garbage(frame, "cell count is not a signed 24-bit number")
        counts.append(int(field))
    checksum_ok = checksum(payload) == int(line[star + 1 :], 16)
    return CellFrame(int(fields[1]), tuple(counts), checksum_ok, frame)


def seq_gap(previous: int, current: int) -> int:
    """Samples lost between two consecutive frames' sequence numbers, across the wrap.

    0 means none were lost. A board reset (sequence back to 0) looks like a gap; callers that
    care tell it apart by the identify answer the board sends at boot.
    """
    return (current - previous - 1) % SEQ_MODULUS


def encode_sample(seq: int, counts: Sequence[int | None]) -> bytes:
    """The line the board sends for one sample (used by the simulator and in tests)."""
    if not 0 <= seq < SEQ_MODULUS:
        raise ProtocolError(f"seq out of range: {seq}")
    if len(counts) != CELLS:
        raise ProtocolError(f"expected {CELLS} cells, got {len(counts)}")
    for count in counts:
        if count is not None and not COUNT_MIN <= count <= COUNT_MAX:
            raise ProtocolError(f"count out of the 24-bit range: {count}")
    cells = ",".join("" if c is None else str(c) for c in counts)
    payload = f"W,{seq},{cells}".encode("ascii")
    return b"$" + payload + f"*{checksum(payload):02X}\r\n".encode("ascii")


def encode_identify_answer(serial: str) -> bytes:
    """The board's answer to ``@`` and ``I4``: ``I4 A "<serial>"``."""
    if not serial or '"' in serial or any(not 0x20 < ord(c) < 0x7F for c in serial):
        raise ProtocolError(f"not a printable serial number: {serial!r}")
    return f'I4 A "{serial}"\r\n'.encode("ascii")


def encode_identify() -> bytes:
    """``I4``: ask for the serial number (the board keeps streaming meanwhile)."""
    return mt_sics.encode_identify()


def encode_reset() -> bytes:
    """``@``: MT-SICS reset; the board answers with ``I4`` and does not stop streaming."""
    return mt_sics.encode_reset()


PROTOCOL = Protocol(
    name=NAME,
    title="Smartcart load-cell board (4 x HX711)",
    serial=SERIAL,
    streaming=True,
    new_framer=new_framer,
    parse_frame=parse_frame,
    encode_request_weight=None,
    encode_zero=None,
    encode_tare=None,
    encode_identify=encode_identify,
)
