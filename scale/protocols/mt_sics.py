"""Mettler Toledo Standard Interface Command Set (MT-SICS), level 0/1 subset.

Commands and answers are ASCII lines ending in CR LF. A weight answer is
``S<sp><status><sp><value right-aligned><sp><unit>``, e.g. ``S S      12.34 g``; ``S`` and
``SI`` answer once, ``SIR`` repeats until ``@``. Other answers name their command then a
one-character code: ``Z A``, ``T S  100.00 g``, ``TAC A``, ``I4 A "B021002593"``. ``ES``,
``ET`` and ``EL`` are the syntax, transmission and logical errors. See
docs/scale-protocols.md for the full table and its sources.
"""

from __future__ import annotations

import re

from scale.protocols.base import (
    Framer,
    Garbage,
    ParseResult,
    Protocol,
    ProtocolError,
    Reading,
    ReadingStatus,
    Reply,
    SerialSettings,
    ascii_text,
)
from scale.protocols.units import parse_decimal, to_grams

NAME = "mt-sics"
SERIAL = SerialSettings(baudrate=9600, bytesize=8, parity="N", stopbits=1)
# The longest real answers are I2/I3 identification strings of a few dozen characters.
MAX_FRAME_BYTES = 256

ERRORS: dict[str, str] = {
    "ES": "syntax error: command not recognised",
    "ET": "transmission error: parity or break",
    "EL": "logical error: command cannot be executed",
}

# Codes that mean the command was carried out (S and D answer T/ZI/TI with a value).
_OK_CODES = frozenset({"A", "B", "S", "D"})
CODE_MEANINGS: dict[str, str] = {
    "I": "not executable now (busy, or no stable weight within the timeout)",
    "L": "logical error: parameter not allowed",
    "+": "upper limit exceeded",
    "-": "lower limit exceeded",
}
_COMMAND_ID = re.compile(r"[A-Z@][A-Z0-9]{0,7}")
_CODE = re.compile(r"[A-Z+\-]")


def new_framer() -> Framer:
    """A line framer for MT-SICS answers (LF-terminated; the CR is dropped by the parser)."""
    return Framer(end=0x0A, max_frame=MAX_FRAME_BYTES)


def parse_frame(frame: bytes) -> ParseResult:
    """Parse one MT-SICS answer line into a :class:`Reading`, :class:`Reply` or :class:`Garbage`.

    Weight answers (``S S``, ``S D``) become readings; ``S I`` (busy or timed out), ``S +`` and
    ``S -`` become readings without a weight. Everything else that is well formed is a reply.
    """
    text = ascii_text(frame)
    if text is None:
        return Garbage(frame, "not printable ASCII")
    if text in ERRORS:
        return Reply(command="", ok=False, code=text, text=ERRORS[text], raw=frame)
    head, _, rest = text.partition(" ")
    if not _COMMAND_ID.fullmatch(head) or not rest:
        return Garbage(frame, "not an MT-SICS answer")
    code, _, payload = rest.partition(" ")
    if not _CODE.fullmatch(code):
        return Garbage(frame, "bad status code")
    if head == "S":
        return _weight(frame, code, payload)
    if payload and code in _OK_CODES:
        payload = payload.strip(" ")
        if len(payload) >= 2 and payload[0] == payload[-1] == '"':
            payload = payload[1:-1]
    elif not payload:
        payload = CODE_MEANINGS.get(code, "")
    return Reply(command=head, ok=code in _OK_CODES, code=code, text=payload, raw=frame)


def _weight(frame: bytes, code: str, payload: str) -> ParseResult:
    if code in ("S", "D"):
        fields = payload.split()
        if len(fields) != 2:
            return Garbage(frame, "weight answer needs a value and a unit")
        value = parse_decimal(fields[0])
        if value is None:
            return Garbage(frame, "unreadable weight value")
        unit = fields[1]
        grams = to_grams(value, unit)
        if grams is None:
            return Reading(None, False, ReadingStatus.UNKNOWN, unit, frame)
        if code == "S":
            return Reading(grams, True, ReadingStatus.OK, unit, frame)
        return Reading(grams, False, ReadingStatus.MOTION, unit, frame)
    if payload.strip(" "):
        return Garbage(frame, "unexpected text after weight status")
    status = {
        "I": ReadingStatus.UNKNOWN,
        "+": ReadingStatus.OVERLOAD,
        "-": ReadingStatus.UNDERLOAD,
    }.get(code)
    if status is None:
        return Reply(command="S", ok=False, code=code, text=CODE_MEANINGS.get(code, ""), raw=frame)
    return Reading(None, False, status, "", frame)


def encode_command(command: str) -> bytes:
    """Any MT-SICS command line, terminated with CR LF (e.g. ``"I2"``, ``"SIR"``)."""
    if not command or any(not 0x20 <= ord(c) < 0x7F for c in command):
        raise ProtocolError(f"not a printable MT-SICS command: {command!r}")
    return command.encode("ascii") + b"\r\n"


def encode_request_weight(immediate: bool = True) -> bytes:
    """``SI`` (current value, stable or not) or, with ``immediate=False``, ``S`` (wait for stable).

    The cart polls ``SI`` by default: ``S`` blocks until the scale settles and answers ``S I``
    on timeout, which hides how the weight is moving from the plateau filter.
    """
    return encode_command("SI" if immediate else "S")


def encode_stream_start() -> bytes:
    """``SIR``: send every weight value until ``@`` cancels it."""
    return encode_command("SIR")


def encode_reset() -> bytes:
    """``@``: cancel running commands (including ``SIR``); the scale answers with ``I4``."""
    return encode_command("@")


def encode_zero(immediate: bool = False) -> bytes:
    """``Z`` (zero when stable) or ``ZI`` (zero now, whatever the stability)."""
    return encode_command("ZI" if immediate else "Z")


def encode_tare() -> bytes:
    """``T``: tare when stable; the answer ``T S`` carries the tare value."""
    return encode_command("T")


def encode_clear_tare() -> bytes:
    """``TAC``: clear the tare value."""
    return encode_command("TAC")


def encode_identify() -> bytes:
    """``I4``: the serial number, answered as ``I4 A "<serial>"``."""
    return encode_command("I4")


PROTOCOL = Protocol(
    name=NAME,
    title="Mettler Toledo MT-SICS",
    serial=SERIAL,
    streaming=False,
    new_framer=new_framer,
    parse_frame=parse_frame,
    encode_request_weight=encode_request_weight,
    encode_zero=encode_zero,
    encode_tare=encode_tare,
    encode_identify=encode_identify,
)
