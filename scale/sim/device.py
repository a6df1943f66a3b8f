"""Simulated scale devices: one class per wire protocol, bytes in and bytes out, no I/O.

A device owns a :class:`~scale.sim.physics.BasketModel` and steps it at its own sample rate. The
server calls :meth:`SimDevice.advance` with the time since power-up to collect what the device
sends unasked (cart board samples, continuous output, ``SIR`` lines, answers to commands that
wait for stability) and :meth:`SimDevice.receive` with the bytes the host wrote to collect the
answers. The bytes are the real protocol's, so the production parsers in ``scale.protocols``
read them exactly as they read a real scale.

Scales other than the cart board keep a zero reference and a tare, like a real indicator: what
they report is the net weight ``total - zero - tare``, rounded to the display's resolution.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from scale.calibration import DEFAULT_CALIBRATION, Calibration
from scale.protocols import (
    ParseResult,
    Protocol,
    cartboard,
    continuous,
    get_protocol,
    mt_sics,
    nci,
    toledo_8217,
)
from scale.protocols.units import unit_factor
from scale.sim.physics import BasketModel, BasketState

# A stalled host (or a loaded test machine) must not make the device send seconds of samples in
# one burst: beyond this much backlog the device skips ahead, like samples lost on the line.
MAX_CATCHUP_S = 0.25
# Commands that wait for a stable weight (MT-SICS ``S``/``Z``/``T``) give up after this long.
DEFAULT_STABLE_TIMEOUT_S = 3.0
# Bytes of a command line without its terminator before it is thrown away as line noise.
MAX_COMMAND_BYTES = 64


@dataclass(frozen=True, slots=True)
class DeviceOptions:
    """How a simulated scale is set up; ``None`` picks the protocol's usual setting.

    ``unit`` and ``decimals`` are what the display shows (Toledo 8217 frames carry no unit: the
    reader must be told the same unit). ``zero_range_g`` is how far from the power-up zero the
    zero key may move the zero; ``underload_g`` how far below zero the scale still shows a
    value. ``cell_capacity_g`` is where a cart board cell's ADC clips.
    """

    unit: str | None = None
    decimals: int | None = None
    serial_number: str = "SIM0001"
    stable_timeout_s: float = DEFAULT_STABLE_TIMEOUT_S
    stream_hz: float = 10.0
    zero_range_g: float = 600.0
    underload_g: float = 100.0
    calibration: Calibration = DEFAULT_CALIBRATION
    cell_capacity_g: float = 20_000.0

    def __post_init__(self) -> None:
        if self.unit is not None and unit_factor(self.unit) is None:
            raise ValueError(f"not a mass unit: {self.unit!r}")
        if self.decimals is not None and not 0 <= self.decimals <= 4:
            raise ValueError(f"decimals must be within 0..4, got {self.decimals}")
        serial = self.serial_number
        if not serial or any(not 0x20 < ord(c) < 0x7F for c in serial) or '"' in serial:
            raise ValueError(f"not a printable serial number: {serial!r}")
        for name in ("stable_timeout_s", "stream_hz", "cell_capacity_g"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")
        for name in ("zero_range_g", "underload_g"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be zero or more")


@dataclass(frozen=True, slots=True)
class Display:
    """The indicator's view of one sample: net weight and the flags a protocol reports."""

    net_g: float
    gross_g: float
    settled: bool
    overload: bool
    underload: bool


class _LineInput:
    """Bounded assembly of terminated command lines from whatever chunks arrive."""

    def __init__(self, terminators: bytes = b"\r\n") -> None:
        self._terminators = terminators
        self._buf = bytearray()
        self._overflow = False

    def feed(self, data: bytes) -> list[str]:
        lines: list[str] = []
        for byte in data:
            if byte in self._terminators:
                if self._buf and not self._overflow:
                    lines.append(self._buf.decode("ascii", errors="replace"))
                self._buf.clear()
                self._overflow = False
            elif len(self._buf) >= MAX_COMMAND_BYTES:
                self._overflow = True
                self._buf.clear()
            elif not self._overflow:
                self._buf.append(byte)
        return lines


@dataclass(slots=True)
class _Pending:
    """A command that answers once the weight is stable, or with its timeout answer."""

    deadline: float
    on_stable: Callable[[Display], bytes]
    on_timeout: Callable[[Display], bytes]


class SimDevice(ABC):
    """A scale that speaks one wire protocol about a :class:`BasketModel`."""

    protocol: Protocol
    sample_hz: float = 100.0
    default_unit = "g"
    default_decimals = 1

    def __init__(self, model: BasketModel, options: DeviceOptions | None = None) -> None:
        self.model = model
        self.options = options or DeviceOptions()
        self.unit = self.options.unit or self.default_unit
        self.decimals = (
            self.default_decimals if self.options.decimals is None else self.options.decimals
        )
        factor = unit_factor(self.unit)
        assert factor is not None  # checked by DeviceOptions
        self._grams_per_unit = float(factor)
        self.zero_g = 0.0
        self.tare_g = 0.0
        self._origin = model.t
        self._index = 0
        self._recent: deque[float] = deque(maxlen=8)
        self._pending: list[_Pending] = []
        self._streaming = False
        self._next_stream = 0.0
        self.samples = 0

    # -- interface for the server ------------------------------------------------------------

    @property
    def name(self) -> str:
        """The protocol's configuration name."""
        return self.protocol.name

    @property
    def display(self) -> Display:
        """The indicator's view of the latest sample, with the current zero and tare."""
        return self._read(self.model.state)

    def boot(self, t: float) -> bytes:
        """Power up at time ``t``; returns what the device sends first.

        Like a real scale after a power cycle, it forgets its zero, tare, streaming mode and
        any command that was waiting. The basket's contents are physics and stay.
        """
        self._pending.clear()
        self._streaming = False
        self.zero_g = 0.0
        self.tare_g = 0.0
        self._recent.clear()
        self._origin = max(t, self.model.t)
        self._index = 0
        return b""

    def next_due(self) -> float:
        """When the device next needs :meth:`advance` (its next sample time)."""
        return self._origin + self._index / self.sample_hz

    def advance(self, t: float) -> bytes:
        """Step the model through every sample due by ``t``; returns what is sent unasked."""
        out = bytearray()
        backlog = t - self.next_due()
        if backlog > MAX_CATCHUP_S:
            skipped = int((backlog - MAX_CATCHUP_S) * self.sample_hz)
            self._index += skipped
            self._skipped(skipped)
        while (due := self.next_due()) <= t:
            state = self.model.step(max(due, self.model.t))
            display = self._read(state)
            self._recent.append(display.gross_g)
            self.samples += 1
            out += self._on_sample(state, display)
            out += self._run_pending(state.t)
            self._index += 1
        return bytes(out)

    def receive(self, data: bytes, t: float) -> bytes:
        """Handle bytes written by the host at time ``t``; returns the answers."""
        del t  # answers use the latest sample; the server advanced the model to now
        return b"".join(self._command(line) for line in self._input.feed(data))

    def zero(self) -> str:
        """The front-panel zero key; returns what happened, for the operator."""
        if not self.display.settled:
            return "not zeroed: the weight is moving"
        result = self._set_zero()
        return {"ok": "zeroed", "+": "not zeroed: above the zero range"}.get(
            result, "not zeroed: below the zero range"
        )

    # -- for subclasses ------------------------------------------------------------------------

    _input: _LineInput

    @abstractmethod
    def _command(self, line: str) -> bytes:
        """Answer one command line."""

    def _on_sample(self, state: BasketState, display: Display) -> bytes:
        """What the device sends unasked after a sample (streaming output)."""
        del state
        if self._streaming and self.model.t >= self._next_stream:
            self._next_stream = self.model.t + 1.0 / self.options.stream_hz - 1e-9
            return self._stream_line(display)
        return b""

    def _stream_line(self, display: Display) -> bytes:
        del display
        return b""

    def _skipped(self, samples: int) -> None:  # noqa: B027 (a hook; most devices ignore it)
        """``samples`` were skipped because the host fell behind."""

    def _read(self, state: BasketState) -> Display:
        gross = state.total_g - self.zero_g
        overload = state.overloaded or gross > self.model.params.capacity_g
        return Display(
            net_g=gross - self.tare_g,
            gross_g=gross,
            settled=state.settled,
            overload=overload,
            underload=not overload and gross < -self.options.underload_g,
        )

    def _wait_stable(
        self,
        on_stable: Callable[[Display], bytes],
        on_timeout: Callable[[Display], bytes],
    ) -> bytes:
        """Answer now when stable, else when it becomes stable or the timeout passes."""
        display = self.display
        if display.settled:
            return on_stable(display)
        deadline = self.model.t + self.options.stable_timeout_s
        self._pending.append(_Pending(deadline, on_stable, on_timeout))
        return b""

    def _run_pending(self, t: float) -> bytes:
        if not self._pending:
            return b""
        out = bytearray()
        waiting: list[_Pending] = []
        for pending in self._pending:
            display = self.display
            if display.settled:
                out += pending.on_stable(display)
            elif t >= pending.deadline:
                out += pending.on_timeout(display)
            else:
                waiting.append(pending)
        self._pending = waiting
        return bytes(out)

    def _set_zero(self) -> str:
        """Zero on the mean of the last samples: ``"ok"``, or ``"+"``/``"-"`` out of range."""
        candidate = self.zero_g + (sum(self._recent) / len(self._recent) if self._recent else 0.0)
        limit = self.options.zero_range_g
        if candidate > limit:
            return "+"
        if candidate < -limit:
            return "-"
        self.zero_g = candidate
        self.tare_g = 0.0
        self._recent.clear()
        return "ok"

    def _value(self, grams: float, extra_decimals: int = 0) -> str:
        """``grams`` in the display unit, rounded to the display's decimals, without padding."""
        decimals = self.decimals + extra_decimals
        if not abs(grams) < 1e12:
            # No display field holds this; callers turn an over-long value into overload.
            return "9" * 24
        value = Decimal(repr(grams / self._grams_per_unit)).quantize(Decimal(1).scaleb(-decimals))
        if value == 0:
            value = abs(value)  # never "-0.0"
        return f"{value:.{decimals}f}"

    def _at_zero(self, display: Display) -> bool:
        """Centre of zero: within half a display step of zero."""
        return abs(display.net_g) < 0.5 * self._grams_per_unit * 10.0**-self.decimals


class CartBoardDevice(SimDevice):
    """The cart's load-cell board: 80 samples/s of raw counts per cell, plus ``@``/``I4``."""

    protocol = cartboard.PROTOCOL
    sample_hz = float(cartboard.SAMPLE_RATE_HZ)

    def __init__(self, model: BasketModel, options: DeviceOptions | None = None) -> None:
        super().__init__(model, options)
        if len(self.options.calibration.cells) != cartboard.CELLS:
            raise ValueError(f"the cart board has {cartboard.CELLS} cells")
        self._input = _LineInput()
        self.seq = 0

    def boot(self, t: float) -> bytes:
        """Power-up: the sequence restarts at 0 and the board announces itself once."""
        super().boot(t)
        self.seq = 0
        return cartboard.encode_identify_answer(self.options.serial_number)

    def zero(self) -> str:
        """The board has no zero: the host zeroes (calibration and zero tracking)."""
        return "the cart board has no zero key; the host tracks zero"

    def counts(self, state: BasketState) -> tuple[int, ...]:
        """Raw ADC counts of each cell for a sample (clipped like the HX711)."""
        out: list[int] = []
        limit = self.options.cell_capacity_g
        for cell, grams in zip(self.options.calibration.cells, state.cells_g, strict=True):
            if grams > limit:
                # An overloaded cell drives the ADC to its rail.
                value = cartboard.COUNT_MAX if cell.counts_per_gram > 0 else cartboard.COUNT_MIN
            else:
                value = round(cell.zero_counts + grams * cell.counts_per_gram)
            out.append(min(max(value, cartboard.COUNT_MIN), cartboard.COUNT_MAX))
        return tuple(out)

    def _on_sample(self, state: BasketState, display: Display) -> bytes:
        line = cartboard.encode_sample(self.seq, self.counts(state))
        self.seq = (self.seq + 1) % cartboard.SEQ_MODULUS
        return line

    def _skipped(self, samples: int) -> None:
        # Samples the host missed still used sequence numbers, so the reader sees the gap.
        self.seq = (self.seq + samples) % cartboard.SEQ_MODULUS

    def _command(self, line: str) -> bytes:
        if line.strip() in ("@", "I4"):
            return cartboard.encode_identify_answer(self.options.serial_number)
        return b"ES\r\n"


class MtSicsDevice(SimDevice):
    """A Mettler Toledo MT-SICS level 0/1 scale: ``SI S SIR Z ZI T TAC I4 @``."""

    protocol = mt_sics.PROTOCOL
    default_unit = "g"
    default_decimals = 1

    def __init__(self, model: BasketModel, options: DeviceOptions | None = None) -> None:
        super().__init__(model, options)
        self._input = _LineInput()

    def _weight(self, display: Display) -> bytes:
        if display.overload:
            return b"S +\r\n"
        if display.underload:
            return b"S -\r\n"
        value = self._value(display.net_g)
        if len(value) > 10:
            return b"S +\r\n"
        code = "S" if display.settled else "D"
        return f"S {code} {value:>10} {self.unit}\r\n".encode("ascii")

    def _stream_line(self, display: Display) -> bytes:
        return self._weight(display)

    def _identify(self) -> bytes:
        return f'I4 A "{self.options.serial_number}"\r\n'.encode("ascii")

    def _zero_answer(self, command: str, display: Display) -> bytes:
        if display.overload:
            return f"{command} +\r\n".encode("ascii")
        result = self._set_zero()
        if result != "ok":
            return f"{command} {result}\r\n".encode("ascii")
        if command == "ZI":
            return f"ZI {'S' if display.settled else 'D'}\r\n".encode("ascii")
        return b"Z A\r\n"

    def _tare_answer(self, display: Display) -> bytes:
        if display.overload:
            return b"T +\r\n"
        if display.gross_g < 0:
            return b"T -\r\n"
        self.tare_g = display.gross_g
        return f"T S {self._value(self.tare_g):>10} {self.unit}\r\n".encode("ascii")

    def _command(self, line: str) -> bytes:
        command = line.strip(" ")
        if command == "SI":
            return self._weight(self.display)
        if command == "S":
            return self._wait_stable(self._weight, lambda _: b"S I\r\n")
        if command == "SIR":
            self._streaming = True
            self._next_stream = self.model.t
            return b""
        if command == "@":
            # Reset: cancel SIR and waiting commands; the scale answers with its serial number.
            self._streaming = False
            self._pending.clear()
            return self._identify()
        if command == "I4":
            return self._identify()
        if command == "Z":
            return self._wait_stable(lambda d: self._zero_answer("Z", d), lambda _: b"Z I\r\n")
        if command == "ZI":
            return self._zero_answer("ZI", self.display)
        if command == "T":
            return self._wait_stable(self._tare_answer, lambda _: b"T I\r\n")
        if command == "TAC":
            self.tare_g = 0.0
            return b"TAC A\r\n"
        return b"ES\r\n"


class Toledo8217Device(SimDevice):
    """A Toledo 8217 scanner-scale: single-character ``W H Z T C``, ``STX ... CR`` answers."""

    protocol = toledo_8217.PROTOCOL
    default_unit = toledo_8217.DEFAULT_UNIT
    default_decimals = 3
    # Bit 6 set, bit 5 clear: the Datalogic layout (``?A`` motion, ``?P`` centre of zero).
    STATUS_BASE = 0x40
    FIELD_WIDTH = 6

    def status_byte(self, display: Display) -> int:
        """The status byte for a sample."""
        status = self.STATUS_BASE
        if not display.settled:
            status |= toledo_8217.MOTION
        if display.overload:
            status |= toledo_8217.OVER_CAPACITY
        elif display.net_g < 0 and not self._at_zero(display):
            status |= toledo_8217.UNDER_ZERO
        if self._at_zero(display):
            status |= toledo_8217.CENTRE_OF_ZERO
        return status

    def _status_record(self) -> bytes:
        return bytes([toledo_8217.STX, ord("?"), self.status_byte(self.display), toledo_8217.CR])

    def _weight(self, high_resolution: bool) -> bytes:
        display = self.display
        status = self.status_byte(display)
        if status & (toledo_8217.MOTION | toledo_8217.OVER_CAPACITY | toledo_8217.UNDER_ZERO):
            return self._status_record()
        extra = 1 if high_resolution else 0
        value = self._value(display.net_g, extra).zfill(self.FIELD_WIDTH + extra)
        if len(value) > self.FIELD_WIDTH + extra:
            # More than the field holds: the scale reports over capacity instead.
            return bytes(
                [toledo_8217.STX, ord("?"), status | toledo_8217.OVER_CAPACITY, toledo_8217.CR]
            )
        return bytes([toledo_8217.STX]) + value.encode("ascii") + bytes([toledo_8217.CR])

    def receive(self, data: bytes, t: float) -> bytes:
        """Single-character commands; anything else (CR, LF, noise) is ignored."""
        del t
        out = bytearray()
        for byte in data:
            out += self._command(chr(byte & 0x7F))
        return bytes(out)

    def _command(self, line: str) -> bytes:
        display = self.display
        if line == "W":
            return self._weight(high_resolution=False)
        if line == "H":
            return self._weight(high_resolution=True)
        if line == "Z":
            if display.settled and not display.overload:
                self._set_zero()
            return self._status_record_after()
        if line == "T":
            if display.settled and not display.overload and display.gross_g > 0:
                self.tare_g = display.gross_g
            return self._status_record_after()
        if line == "C":
            self.tare_g = 0.0
            return self._status_record_after()
        return b""

    def _status_record_after(self) -> bytes:
        return self._status_record()


class NciDevice(SimDevice):
    """An NCI / Weigh-Tronix scale: ``W H S Z`` ending in CR, ``LF ... ETX`` answers."""

    protocol = nci.PROTOCOL
    default_unit = "kg"
    default_decimals = 3
    FIELD_WIDTH = 8

    def __init__(self, model: BasketModel, options: DeviceOptions | None = None) -> None:
        super().__init__(model, options)
        self._input = _LineInput(b"\r\n")

    def status_bytes(self, display: Display) -> bytes:
        """The two status bytes for a sample."""
        b1 = 0x30
        if not display.settled:
            b1 |= nci.MOTION
        if self._at_zero(display):
            b1 |= nci.AT_ZERO
        b2 = 0x30
        if display.overload:
            b2 |= nci.OVER_CAPACITY
        if display.underload:
            b2 |= nci.UNDER_CAPACITY
        return bytes([b1, b2])

    def _frame(self, *lines: bytes) -> bytes:
        return b"\n" + b"\r\n".join(lines) + b"\r\x03"

    def _weight(self, high_resolution: bool) -> bytes:
        display = self.display
        status = self.status_bytes(display)
        width = self.FIELD_WIDTH + (1 if high_resolution else 0)
        if display.overload:
            return self._frame(b"^" * width + self.unit.encode("ascii"), status)
        if display.underload:
            return self._frame(b"-" * width + self.unit.encode("ascii"), status)
        value = self._value(display.net_g, 1 if high_resolution else 0)
        if len(value) > width:
            status = bytes([status[0], status[1] | nci.OVER_CAPACITY])
            return self._frame(b"^" * width + self.unit.encode("ascii"), status)
        return self._frame(f"{value:>{width}}{self.unit}".encode("ascii"), status)

    def _command(self, line: str) -> bytes:
        command = line.strip(" ")
        if command == "W":
            return self._weight(high_resolution=False)
        if command == "H":
            return self._weight(high_resolution=True)
        if command == "S":
            return self._frame(self.status_bytes(self.display))
        if command == "Z":
            if self.display.settled and not self.display.overload:
                self._set_zero()
            return self._frame(self.status_bytes(self.display))
        return b"\n?\r\x03"


class ContinuousDevice(SimDevice):
    """An A&D balance in stream mode (``ST,+00123.45  g`` lines) that also takes commands."""

    protocol = continuous.PROTOCOL
    default_unit = "g"
    default_decimals = 1
    VALUE_WIDTH = 9  # sign included
    ACK = bytes([continuous.ACK]) + b"\r\n"

    def __init__(self, model: BasketModel, options: DeviceOptions | None = None) -> None:
        super().__init__(model, options)
        self._input = _LineInput()
        self._streaming = True

    def boot(self, t: float) -> bytes:
        """Power-up: the balance streams unasked."""
        out = super().boot(t)
        self._streaming = True
        self._next_stream = t
        return out

    def _line(self, display: Display) -> bytes:
        if display.overload:
            return b"OL,+9999999E+19\r\n"
        if display.underload:
            return b"OL,-9999999E+19\r\n"
        value = self._value(display.net_g)
        sign = "-" if value.startswith("-") else "+"
        field = sign + value.lstrip("-").zfill(self.VALUE_WIDTH - 1)
        if len(field) > self.VALUE_WIDTH:
            return b"OL,+9999999E+19\r\n"
        header = "ST" if display.settled else "US"
        return f"{header},{field}{self.unit:>3}\r\n".encode("ascii")

    def _stream_line(self, display: Display) -> bytes:
        return self._line(display)

    def _zero_answer(self, display: Display) -> bytes:
        if not display.overload:
            self._set_zero()
        return b""

    def _tare_answer(self, display: Display) -> bytes:
        if not display.overload and display.gross_g >= 0:
            self.tare_g = display.gross_g
        return b""

    def _command(self, line: str) -> bytes:
        command = line.strip(" ")
        if command in ("Q", "SI"):
            return self._line(self.display)
        if command == "S":
            # Waits for stability; on timeout the balance sends what it has.
            return self._wait_stable(self._line, self._line)
        if command == "SIR":
            self._streaming = True
            self._next_stream = self.model.t
            return b""
        if command == "C":
            self._streaming = False
            return self.ACK
        if command in ("R", "Z"):
            # Acknowledged at once; the balance re-zeroes when the weight is stable.
            return self.ACK + self._wait_stable(self._zero_answer, lambda _: b"")
        if command == "T":
            return self.ACK + self._wait_stable(self._tare_answer, lambda _: b"")
        if command in ("?SN", "?ID"):
            return f"{command[1:]},{self.options.serial_number}\r\n".encode("ascii")
        return b"EC,E1\r\n"


DEVICES: dict[str, type[SimDevice]] = {
    cls.protocol.name: cls
    for cls in (CartBoardDevice, MtSicsDevice, Toledo8217Device, NciDevice, ContinuousDevice)
}


def make_device(
    protocol: str, model: BasketModel, options: DeviceOptions | None = None
) -> SimDevice:
    """The simulated scale for a protocol name (``ValueError`` lists the known ones)."""
    get_protocol(protocol)  # the same error message as everywhere else for an unknown name
    return DEVICES[protocol](model, options)


def reader_parser(device: SimDevice) -> Callable[[bytes], ParseResult]:
    """The production parser that reads this device as configured (Toledo needs its unit)."""
    if isinstance(device, Toledo8217Device):
        return toledo_8217.make_parser(device.unit)
    return device.protocol.parse_frame
