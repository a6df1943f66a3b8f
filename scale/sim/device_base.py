"""What every simulated scale shares: sampling the model, zero and tare, waiting for stability.

A device owns a :class:`~scale.sim.physics.BasketModel` and steps it at its own sample rate. The
server calls :meth:`SimDevice.advance` with the time since power-up to collect what the device
sends unasked (cart board samples, continuous output, ``SIR`` lines, answers to commands that
wait for stability) and :meth:`SimDevice.receive` with the bytes the host wrote to collect the
answers. Subclasses supply the wire protocol: :mod:`scale.sim.cartboard_device` and
:mod:`scale.sim.indicator_devices`.

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
from scale.protocols import Protocol
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


class LineInput:
    """Bounded assembly of terminated command lines from whatever chunks arrive."""

    def __init__(self, terminators: bytes = b"\r\n") -> None:
        self._terminators = terminators
        self._buf = bytearray()
        self._overflow = False

    def feed(self, data: bytes) -> list[str]:
        """The command lines completed by ``data``; an over-long line is dropped whole."""
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

    _input: LineInput

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
