"""NCI / Weigh-Tronix / Avery Weigh-Tronix standard scale protocol (SCP-01, "NCI 3825").

Commands end in CR: ``W`` weight, ``S`` status, ``Z`` zero, ``H`` high-resolution weight.
Answers start with LF and end with ETX::

    W<CR>  ->  <LF>  1.234lb<CR><LF>00<CR><ETX>     weight line, then the status line
    S<CR>  ->  <LF>00<CR><ETX>                      status line only
    other  ->  <LF>?<CR><ETX>                       unrecognised command

Some scales answer ``W`` with the status line only when the weight is invalid, prefix the
status bytes with ``S`` and write units in upper case; all of that is accepted. Status bytes
(bit 7 parity, bits 4 and 5 always set): byte 1 bit 0 motion, bit 1 at zero, bit 2 RAM error,
bit 3 EEPROM error; byte 2 bit 0 under capacity, bit 1 over capacity, bit 2 ROM error, bit 3
faulty calibration, bit 6 another byte follows; byte 3 bit 3 initial zero error.
"""

from __future__ import annotations

import re
from decimal import Decimal

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
from scale.protocols.units import GRAMS_PER_UNIT, parse_decimal, to_grams

NAME = "nci"
SERIAL = SerialSettings(baudrate=9600, bytesize=7, parity="E", stopbits=1)
LF = 0x0A
CR = 0x0D
ETX = 0x03
# LF + a 12-character weight line + CR LF + up to 5 status bytes + CR ETX, with room to spare.
MAX_FRAME_BYTES = 48
MAX_STATUS_BYTES = 5

# Byte 1
MOTION = 0x01
AT_ZERO = 0x02
RAM_ERROR = 0x04
EEPROM_ERROR = 0x08
# Byte 2
UNDER_CAPACITY = 0x01
OVER_CAPACITY = 0x02
ROM_ERROR = 0x04
CALIBRATION_ERROR = 0x08
# Byte 3
INITIAL_ZERO_ERROR = 0x08

_WEIGHT = re.compile(r"[ ]*([+-]?[ ]*[0-9.]+)[ ]*([A-Za-z]{1,3})[ ]*")
_LB_OZ = re.compile(r"[ ]*(-?)[ ]*([0-9]{1,4})[ ]*LB[ ]+([0-9.]{1,6})[ ]*OZ[ ]*", re.IGNORECASE)


def new_framer() -> Framer:
    """A framer for ``LF ... ETX`` answers (the weight and status lines stay together)."""
    return Framer(start=LF, end=ETX, max_frame=MAX_FRAME_BYTES)


def parse_frame(frame: bytes) -> ParseResult:
    """Parse one ``LF ... ETX`` answer.

    A weight line is a :class:`Reading` whose status comes from the status bytes; a status line
    alone is a weightless :class:`Reading` when it reports motion, a capacity limit or a fault,
    else a :class:`Reply` with ``command="status"``.
    """
    if len(frame) < 4 or frame[0] != LF or frame[-1] != ETX:
        return Garbage(frame, "not an LF ... ETX answer")
    lines = frame[1:-1].split(b"\r")
    if lines[-1] != b"":
        return Garbage(frame, "last line is not ended by CR")
    lines = [line.removeprefix(b"\n") for line in lines[:-1]]
    if lines == [b"?"]:
        return Reply(command="", ok=False, code="?", text="unrecognised command", raw=frame)
    if len(lines) not in (1, 2):
        return Garbage(frame, "expected a weight line and a status line")
    status = _decode_status(lines[-1])
    if status is None:
        return Garbage(frame, "unreadable status bytes")
    reading_status, flags = status
    if len(lines) == 1:
        if reading_status is ReadingStatus.OK:
            code = "".join(chr(b & 0x7F) for b in lines[0])
            return Reply(command="status", ok=True, code=code, text=", ".join(flags), raw=frame)
        return Reading(None, False, reading_status, "", frame)
    return _weight(frame, lines[0], reading_status)


def _decode_status(line: bytes) -> tuple[ReadingStatus, list[str]] | None:
    if line[:1] == b"S":
        line = line[1:]
    raw = [b & 0x7F for b in line]
    if not 2 <= len(raw) <= MAX_STATUS_BYTES or any(b & 0x30 != 0x30 for b in raw):
        return None
    b1, b2 = raw[0], raw[1]
    b3 = raw[2] if len(raw) > 2 else 0x30
    named = (
        (b1 & MOTION, "motion"),
        (b1 & AT_ZERO, "at zero"),
        (b1 & RAM_ERROR, "RAM error"),
        (b1 & EEPROM_ERROR, "EEPROM error"),
        (b2 & UNDER_CAPACITY, "under capacity"),
        (b2 & OVER_CAPACITY, "over capacity"),
        (b2 & ROM_ERROR, "ROM error"),
        (b2 & CALIBRATION_ERROR, "faulty calibration"),
        (b3 & INITIAL_ZERO_ERROR, "initial zero error"),
    )
    flags = [name for bit, name in named if bit]
    status = status_from_flags(
        error=bool(b1 & (RAM_ERROR | EEPROM_ERROR))
        or bool(b2 & (ROM_ERROR | CALIBRATION_ERROR))
        or bool(b3 & INITIAL_ZERO_ERROR),
        overload=bool(b2 & OVER_CAPACITY),
        underload=bool(b2 & UNDER_CAPACITY),
        motion=bool(b1 & MOTION),
    )
    return status, flags


def _weight(frame: bytes, line: bytes, status: ReadingStatus) -> ParseResult:
    if not all(0x20 <= b < 0x7F for b in line):
        return Garbage(frame, "weight line is not printable ASCII")
    text = line.decode("ascii")
    if status not in (ReadingStatus.OK, ReadingStatus.MOTION):
        # Over capacity and faults show dashes or carets instead of digits: no weight either way.
        return Reading(None, False, status, "", frame)
    parsed = _parse_weight_text(text)
    if parsed is None:
        return Garbage(frame, "unreadable weight line")
    grams, unit = parsed
    if grams is None:
        return Reading(None, False, ReadingStatus.UNKNOWN, unit, frame)
    stable = status is ReadingStatus.OK
    return Reading(grams, stable, status, unit, frame)


def _parse_weight_text(text: str) -> tuple[float | None, str] | None:
    lb_oz = _LB_OZ.fullmatch(text)
    if lb_oz is not None:
        sign, pounds, ounces_text = lb_oz.groups()
        ounces = parse_decimal(ounces_text)
        if ounces is None:
            return None
        total = Decimal(pounds) * GRAMS_PER_UNIT["lb"] + ounces * GRAMS_PER_UNIT["oz"]
        grams = float(-total if sign else total)
        return (0.0 if grams == 0.0 else grams), "lb-oz"
    match = _WEIGHT.fullmatch(text)
    if match is None:
        return None
    value = parse_decimal(match.group(1))
    if value is None:
        return None
    unit = match.group(2)
    return to_grams(value, unit), unit


def encode_request_weight() -> bytes:
    """``W<CR>``: weight with units, then status."""
    return b"W\r"


def encode_request_weight_high_resolution() -> bytes:
    """``H<CR>``: weight at ten times the resolution (not legal for trade)."""
    return b"H\r"


def encode_request_status() -> bytes:
    """``S<CR>``: status bytes only."""
    return b"S\r"


def encode_zero() -> bytes:
    """``Z<CR>``: zero the scale; answered with the status bytes."""
    return b"Z\r"


PROTOCOL = Protocol(
    name=NAME,
    title="NCI / Weigh-Tronix standard protocol",
    serial=SERIAL,
    streaming=False,
    new_framer=new_framer,
    parse_frame=parse_frame,
    encode_request_weight=encode_request_weight,
    encode_zero=encode_zero,
    encode_tare=None,
    encode_identify=None,
)
