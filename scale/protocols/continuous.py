"""A&D standard format and CAS-style continuous frames: ``ST,+00123.45  g`` and kin.

One ASCII line per value, ended by CR LF::

    ST,+00123.45  g      stable            (A&D: header, 9-character signed value, 3-char unit)
    US,-00001.20  g      unstable
    OL,+9999999E+19      out of range (A&D GH/GX); ``OL,-...`` is the negative side
    QT,+00000125 PC      counting mode: pieces, not a weight
    ST,GS,+  1.234kg     CAS: a second header (GS gross, NT net) and spaced padding
    ST,OK,+0001.234 kg   A&D with a comparator result as second header (LO, OK, HI, --)
    EC,E1                A&D error code;  a lone ACK (06h) acknowledges a control command

A&D balances also take commands (``Q``, ``S``, ``SIR``, ``C``, ``R``, ``T``, ``?SN``); CAS
indicators mostly only stream.
"""

from __future__ import annotations

import re

from scale.protocols.base import (
    Framer,
    Garbage,
    ParseResult,
    Protocol,
    Reading,
    ReadingStatus,
    Reply,
    SerialSettings,
    ascii_text,
)
from scale.protocols.units import parse_decimal, to_grams

NAME = "continuous"
# A&D's factory setting; CAS indicators usually run 9600 8N1 (set it in the configuration).
SERIAL = SerialSettings(baudrate=2400, bytesize=7, parity="E", stopbits=1)
ACK = 0x06
# Longest real line: A&D CSV format with both headers, about 24 characters.
MAX_FRAME_BYTES = 64

_HEADERS = frozenset({"ST", "US", "OL", "QT"})
# Second headers that say the value is the tare, not what lies on the platform.
_TARE_HEADERS = frozenset({"TR", "TW", "T", "PT"})
_SECOND_HEADERS = frozenset({"GS", "NT", "GW", "NW", "G", "N", "LO", "OK", "HI", "--"})
# Answers to ?ID, ?SN, ?TN; ?PT answers with a PT line shaped like a weight.
_INFO_REPLIES = frozenset({"ID", "SN", "TN"})
_TARE_REPLY = "PT"
_VALUE_UNIT = re.compile(r"[ ]*([+-]?[ ]*[0-9.]+)[ ]*,?[ ]*([A-Za-z%]{0,3})[ ]*")


def new_framer() -> Framer:
    """A line framer (LF-terminated; the parser drops the CR)."""
    return Framer(end=0x0A, max_frame=MAX_FRAME_BYTES)


def parse_frame(frame: bytes) -> ParseResult:
    """Parse one continuous-output line into a :class:`Reading`, :class:`Reply` or garbage.

    ``ST`` is a stable weight, ``US`` a weight in motion, ``OL`` over (or, with a minus sign,
    under) range without a weight; counting and percentage data have no weight (UNKNOWN).
    """
    body = frame.strip(b"\r\n")
    if body == bytes([ACK]):
        return Reply(command="", ok=True, code="ACK", text="acknowledged", raw=frame)
    # Some balances send ACK without a terminator, so it can prefix the next line.
    text = ascii_text(body.lstrip(bytes([ACK])))
    if text is None:
        return Garbage(frame, "not printable ASCII")
    fields = text.split(",")
    header = fields[0]
    if header == "EC" and len(fields) == 2:
        return Reply(command="", ok=False, code=fields[1].strip(" "), text="error", raw=frame)
    if header in _INFO_REPLIES and len(fields) == 2:
        return Reply(command="?" + header, ok=True, code="A", text=fields[1].strip(" "), raw=frame)
    if header not in _HEADERS and header != _TARE_REPLY:
        return Garbage(frame, "unknown header")
    rest = fields[1:]
    second = ""
    if len(rest) >= 2 and rest[0].strip(" ") in _SECOND_HEADERS | _TARE_HEADERS:
        second = rest[0].strip(" ")
        rest = rest[1:]
    if not rest or len(rest) > 2:
        return Garbage(frame, "expected a value and a unit")
    data = ",".join(rest)
    if header == "OL":
        sign = data.strip(" ")[:1]
        status = ReadingStatus.UNDERLOAD if sign == "-" else ReadingStatus.OVERLOAD
        return Reading(None, False, status, "", frame)
    match = _VALUE_UNIT.fullmatch(data)
    if match is None:
        return Garbage(frame, "unreadable value or unit")
    value = parse_decimal(match.group(1))
    if value is None:
        return Garbage(frame, "unreadable value")
    unit = match.group(2)
    if header == _TARE_REPLY or second in _TARE_HEADERS:
        return Reply(command="tare", ok=True, code=second or header, text=data.strip(), raw=frame)
    grams = to_grams(value, unit) if header != "QT" else None
    if grams is None:
        return Reading(None, False, ReadingStatus.UNKNOWN, unit, frame)
    if header == "ST":
        return Reading(grams, True, ReadingStatus.OK, unit, frame)
    return Reading(grams, False, ReadingStatus.MOTION, unit, frame)


def encode_request_weight() -> bytes:
    """``Q``: the current value at once, stable or not."""
    return b"Q\r\n"


def encode_stream_start() -> bytes:
    """``SIR``: stream every value (most continuous scales already do, unasked)."""
    return b"SIR\r\n"


def encode_cancel() -> bytes:
    """``C``: cancel ``S`` or ``SIR``."""
    return b"C\r\n"


def encode_zero() -> bytes:
    """``R``: RE-ZERO (newer A&D models also accept ``Z``)."""
    return b"R\r\n"


def encode_tare() -> bytes:
    """``T``: tare."""
    return b"T\r\n"


def encode_identify() -> bytes:
    """``?SN``: the serial number, answered as ``SN,<serial>``."""
    return b"?SN\r\n"


PROTOCOL = Protocol(
    name=NAME,
    title="A&D / CAS continuous output",
    serial=SERIAL,
    streaming=True,
    new_framer=new_framer,
    parse_frame=parse_frame,
    encode_request_weight=encode_request_weight,
    encode_zero=encode_zero,
    encode_tare=encode_tare,
    encode_identify=encode_identify,
)
