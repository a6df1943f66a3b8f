"""Toledo 8217 (also 8213 / "SASI"), the point-of-sale scanner-scale protocol.

7 data bits, even parity. Commands are single ASCII characters with no terminator. ``W``
answers ``STX weight CR`` when the weight is valid (``\\x0201.234\\r``), else a status record
``STX ? status CR``. ``Z`` (zero), ``T`` (tare) and ``C`` (clear tare) always answer with a
status record. The weight frame carries no unit: it is whatever the scale is set to, so the
parser must be told (:func:`make_parser`).

Status byte (bit 7 is the parity bit): 0 motion, 1 over capacity, 2 under zero, 3 outside zero
capture range, 4 centre of zero; bits 5 and 6 are fixed, but vendors disagree on their values
(``?A`` vs ``?a`` for motion), so they are ignored.
"""

from __future__ import annotations

from collections.abc import Callable

from scale.protocols.base import (
    Framer,
    Garbage,
    ParseResult,
    Protocol,
    Reading,
    ReadingStatus,
    Reply,
    SerialSettings,
    status_from_flags,
)
from scale.protocols.units import parse_decimal, to_grams, unit_factor

NAME = "toledo-8217"
SERIAL = SerialSettings(baudrate=9600, bytesize=7, parity="E", stopbits=1)
STX = 0x02
CR = 0x0D
# Longest real frame: STX + 7 weight characters (``H`` high-resolution answer) + CR.
MAX_FRAME_BYTES = 16
DEFAULT_UNIT = "kg"

MOTION = 0x01
OVER_CAPACITY = 0x02
UNDER_ZERO = 0x04
OUTSIDE_ZERO_CAPTURE = 0x08
CENTRE_OF_ZERO = 0x10
_FLAG_NAMES = (
    (MOTION, "motion"),
    (OVER_CAPACITY, "over capacity"),
    (UNDER_ZERO, "under zero"),
    (OUTSIDE_ZERO_CAPTURE, "outside zero capture range"),
    (CENTRE_OF_ZERO, "centre of zero"),
)
_WEIGHT_CHARS = frozenset(b"0123456789.- ")


def new_framer() -> Framer:
    """A framer for ``STX ... CR`` records; bytes outside records are discarded."""
    # STX never occurs inside a record, so a second STX means the first record was cut short.
    return Framer(start=STX, end=CR, max_frame=MAX_FRAME_BYTES, restart_on_start=True)


def status_flags(status: int) -> list[str]:
    """Names of the flags set in a status byte, for logs and replies."""
    return [name for bit, name in _FLAG_NAMES if status & bit]


def parse_frame(frame: bytes, unit: str = DEFAULT_UNIT) -> ParseResult:
    """Parse one ``STX ... CR`` record; ``unit`` is what the scale is configured to send.

    A status record with motion, over capacity, under zero or outside-zero-capture set is a
    :class:`Reading` without a weight; one without those bits (the answer to ``Z``, ``T``,
    ``C``) is a :class:`Reply` with ``command="status"``.
    """
    if len(frame) < 3 or frame[0] != STX or frame[-1] != CR:
        return Garbage(frame, "not an STX ... CR record")
    body = frame[1:-1]
    if body[:1] == b"?":
        return _status_record(frame, body[1:])
    if not body or not set(body) <= _WEIGHT_CHARS:
        return Garbage(frame, "weight field is not a number")
    value = parse_decimal(body.decode("ascii"))
    if value is None:
        return Garbage(frame, "weight field is not a number")
    grams = to_grams(value, unit)
    if grams is None:
        return Reading(None, False, ReadingStatus.UNKNOWN, unit, frame)
    # The scale answers W with a weight only when it is stable and in range.
    return Reading(grams, True, ReadingStatus.OK, unit, frame)


def _status_record(frame: bytes, status_bytes: bytes) -> ParseResult:
    if len(status_bytes) != 1:
        return Garbage(frame, "status record needs exactly one status byte")
    status = status_bytes[0] & 0x7F
    if status < 0x20:
        # Bits 5 and/or 6 are always set on real scales; a control character is line noise.
        return Garbage(frame, "status byte is a control character")
    flags = status_flags(status)
    reading_status = status_from_flags(
        error=bool(status & OUTSIDE_ZERO_CAPTURE),
        overload=bool(status & OVER_CAPACITY),
        underload=bool(status & UNDER_ZERO),
        motion=bool(status & MOTION),
    )
    if reading_status is ReadingStatus.OK:
        return Reply(command="status", ok=True, code=chr(status), text=", ".join(flags), raw=frame)
    return Reading(None, False, reading_status, "", frame)


def make_parser(unit: str) -> Callable[[bytes], ParseResult]:
    """A :func:`parse_frame` bound to the unit the scale is set to (``"kg"``, ``"lb"``, ``"g"``)."""
    if unit_factor(unit) is None:
        raise ValueError(f"not a mass unit: {unit!r}")

    def parse(frame: bytes) -> ParseResult:
        return parse_frame(frame, unit)

    return parse


def encode_request_weight() -> bytes:
    """``W``: the weight record, or a status record when the weight is not valid."""
    return b"W"


def encode_request_weight_high_resolution() -> bytes:
    """``H``: like ``W`` with one more digit (not legal for trade on most scales)."""
    return b"H"


def encode_zero() -> bytes:
    """``Z``: zero the scale; answered by a status record."""
    return b"Z"


def encode_tare() -> bytes:
    """``T``: tare; answered by a status record."""
    return b"T"


def encode_clear_tare() -> bytes:
    """``C``: clear the tare; answered by a status record."""
    return b"C"


PROTOCOL = Protocol(
    name=NAME,
    title="Toledo 8217 (scanner-scale)",
    serial=SERIAL,
    streaming=False,
    new_framer=new_framer,
    parse_frame=make_parser(DEFAULT_UNIT),
    encode_request_weight=encode_request_weight,
    encode_zero=encode_zero,
    encode_tare=encode_tare,
    encode_identify=None,
)
