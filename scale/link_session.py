"""One open scale link: identify, poll, read, frame, parse, stamp; what happened comes back typed.

A :class:`LinkSession` lives from a successful open to the loss of the port. It does the I/O on
its :class:`~scale.transport.Link` and reports each step as frozen outcomes; it does not know
the filter, the listeners or the link state machine, which the service (:mod:`scale.service`)
owns. ``ScaleUnplugged`` from the link propagates: the service turns it into a reconnect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Literal

from scale.calibration import Calibration, cells_to_sample
from scale.protocols import cartboard
from scale.protocols.base import CellFrame, Garbage, Protocol, Reading, Reply
from scale.service_settings import ScaleSettings
from scale.state import CommandResult, MonotonicClock, ScaleCounters
from scale.transport import Link
from scale.types import WeightSample

log = logging.getLogger(__name__)

# Replies that carry the device's identity (MT-SICS and the cart board ``I4``, A&D ``?SN``).
_IDENTITY_COMMANDS = frozenset({"I4", "?SN"})
# MT-SICS codes on Z/T answers: the scale is outside its zero (or tare) range.
_OUT_OF_RANGE_CODES = frozenset({"+", "-"})
# A cart-board sequence jump larger than this is a board reset, not lost samples.
_MAX_SEQ_GAP = 1000


class Tally:
    """Mutable counters of the service, frozen into :class:`ScaleCounters` for snapshots."""

    __slots__ = tuple(f.name for f in fields(ScaleCounters))

    def __init__(self) -> None:
        for name in self.__slots__:
            setattr(self, name, 0)

    def freeze(self) -> ScaleCounters:
        """The counts now, as a frozen value."""
        return ScaleCounters(**{name: getattr(self, name) for name in self.__slots__})

    def add(self, name: str, amount: int = 1) -> None:
        """Increase one counter."""
        setattr(self, name, getattr(self, name) + amount)


@dataclass(frozen=True, slots=True)
class BytesIn:
    """``count`` bytes arrived (valid or not)."""

    count: int


@dataclass(frozen=True, slots=True)
class FrameSeen:
    """A complete frame arrived: ``weight`` (a reading or a good board sample), ``reply``
    (an answer without a weight) or ``bad`` (garbage, a bad checksum)."""

    t: float
    kind: Literal["weight", "reply", "bad"]


@dataclass(frozen=True, slots=True)
class SampleReady:
    """A weight sample for the filter; ``frame`` is the cart board frame it came from."""

    sample: WeightSample
    frame: CellFrame | None


@dataclass(frozen=True, slots=True)
class DeviceIdentified:
    """The device said who it is; ``unsolicited`` when nobody asked (it just booted)."""

    t: float
    device_id: str
    unsolicited: bool


@dataclass(frozen=True, slots=True)
class CommandAnswered:
    """A device command ended; ``out_of_range`` when the scale refused to zero/tare there."""

    result: CommandResult
    out_of_range: bool = False


Outcome = BytesIn | FrameSeen | SampleReady | DeviceIdentified | CommandAnswered


class LinkSession:
    """The work on one open link. Not thread-safe: only the scale thread uses it."""

    def __init__(
        self,
        link: Link,
        protocol: Protocol,
        settings: ScaleSettings,
        *,
        calibration: Calibration,
        tally: Tally,
        clock: MonotonicClock,
    ) -> None:
        self.link = link
        self.protocol = protocol
        self.settings = settings
        self.calibration = calibration
        self._tally = tally
        self._clock = clock
        self._framer = protocol.new_framer()
        self._polled = not protocol.streaming and protocol.encode_request_weight is not None
        now = clock.monotonic()
        self._last_rx = now
        self._last_chunk = now
        self._last_t = now
        self._last_seq: int | None = None
        self._identify_deadline: float | None = None
        self._pending: tuple[str, float] | None = None  # command name, answer deadline
        self._next_poll = now
        self._poll_deadline: float | None = None  # an unanswered weight request
        self._discarded_seen = 0

    def begin(self, *, identify: bool) -> None:
        """Send the identify probe if asked and the protocol has one (harmless: it reads)."""
        encode = self.protocol.encode_identify
        if identify and encode is not None:
            self._write(encode())
            self._identify_deadline = self._clock.monotonic() + self.settings.identify_timeout_s

    def ready_for_command(self) -> bool:
        """Whether a device command may be written now (no probe or command in flight)."""
        return self._identify_deadline is None and self._pending is None

    def send_command(self, name: str) -> CommandResult | None:
        """Write ``zero`` or ``tare``; a result only if it could not be sent."""
        encode = {"zero": self.protocol.encode_zero, "tare": self.protocol.encode_tare}.get(name)
        now = self._clock.monotonic()
        if encode is None:
            return CommandResult(now, name, False, f"{self.protocol.name} has no {name} command")
        self._write(encode())
        self._pending = (name, now + self.settings.command_timeout_s)
        return None

    def step(self) -> list[Outcome]:
        """Poll if due, read what arrives within one tick, and report it."""
        out: list[Outcome] = []
        self._poll(self._clock.monotonic())
        data = self.link.read()
        now = self._clock.monotonic()
        if data:
            self._tally.add("bytes_in", len(data))
            out.append(BytesIn(len(data)))
            self._last_rx = now
            frames = self._framer.feed(data)
            for frame, t in zip(frames, self._stamps(len(frames), now), strict=True):
                self._handle(frame, t, out)
        elif self._framer.buffered and now - self._last_rx >= self.settings.read_timeout_s:
            # A partial frame followed by silence will never complete: drop it, so that it
            # cannot glue onto the start of the next frame.
            self._framer.reset()
        self._tally.add("discarded_bytes", self._framer.discarded_bytes - self._discarded_seen)
        self._discarded_seen = self._framer.discarded_bytes
        self._expire(now, out)
        return out

    # ------------------------------------------------------------------ internals

    def _write(self, data: bytes) -> None:
        self.link.write(data)
        self._tally.add("bytes_out", len(data))

    def _poll(self, now: float) -> None:
        if not self._polled or not self.ready_for_command() or now < self._next_poll:
            return
        if self._poll_deadline is not None and now < self._poll_deadline:
            return  # the last request is still being answered: never pile requests up
        request = self.protocol.encode_request_weight
        assert request is not None
        self._write(request())
        self._next_poll = now + self.settings.poll_interval_s
        self._poll_deadline = now + self.settings.read_timeout_s

    def _stamps(self, n: int, now: float) -> list[float]:
        """Times for ``n`` frames of one chunk, spread over the last tick, strictly increasing.

        The bytes arrived somewhere between the previous read and this one; spreading them
        keeps the filter's sample spacing honest at 80 samples/s, and the filter drops a
        sample that is not strictly later than the one before it.
        """
        span = min(now - self._last_chunk, self.settings.tick_s)
        self._last_chunk = now
        out = []
        for i in range(n):
            t = now - span * (n - 1 - i) / n
            t = max(t, self._last_t + 1e-6)
            self._last_t = t
            out.append(t)
        return out

    def _handle(self, frame: bytes, t: float, out: list[Outcome]) -> None:
        result = self.protocol.parse_frame(frame)
        if isinstance(result, Garbage):
            self._tally.add("garbage")
            log.debug("scale: unreadable frame %r: %s", result.raw[:64], result.reason)
            out.append(FrameSeen(t, "bad"))
        elif isinstance(result, CellFrame):
            self._cells(result, t, out)
        elif isinstance(result, Reading):
            self._tally.add("frames")
            self._poll_deadline = None
            out.append(FrameSeen(t, "weight"))
            out.append(SampleReady(result.to_sample(t), None))
        else:
            self._tally.add("frames")
            out.append(FrameSeen(t, "reply"))
            self._reply(result, t, out)

    def _cells(self, frame: CellFrame, t: float, out: list[Outcome]) -> None:
        sample = cells_to_sample(self.calibration, frame, t)
        if sample is None:
            self._tally.add("bad_checksums")
            out.append(FrameSeen(t, "bad"))
            return
        if self._last_seq is not None:
            gap = cartboard.seq_gap(self._last_seq, frame.seq)
            if 0 < gap <= _MAX_SEQ_GAP:
                self._tally.add("lost_samples", gap)
        self._last_seq = frame.seq
        self._tally.add("frames")
        out.append(FrameSeen(t, "weight"))
        out.append(SampleReady(sample, frame))

    def _reply(self, reply: Reply, t: float, out: list[Outcome]) -> None:
        if reply.ok and reply.command in _IDENTITY_COMMANDS:
            asked = self._identify_deadline is not None
            self._identify_deadline = None
            out.append(DeviceIdentified(t, reply.text, unsolicited=not asked))
            return
        if self._pending is None:
            log.debug("scale: unexpected reply %r", reply.raw)
            return
        name, _ = self._pending
        self._pending = None
        said = reply.text or reply.code
        message = f"done ({said})" if reply.ok else f"refused by the scale: {said}"
        result = CommandResult(t, name, reply.ok, message)
        out.append(CommandAnswered(result, reply.code in _OUT_OF_RANGE_CODES))

    def _expire(self, now: float, out: list[Outcome]) -> None:
        if self._identify_deadline is not None and now >= self._identify_deadline:
            # Not every device answers (a CAS indicator only streams): carry on without a name.
            log.info("scale: no answer to the identify probe; carrying on")
            self._identify_deadline = None
        if self._pending is not None and now >= self._pending[1]:
            name = self._pending[0]
            self._pending = None
            wait = self.settings.command_timeout_s
            result = CommandResult(now, name, False, f"no answer within {wait:.1f} s")
            out.append(CommandAnswered(result))


FrameTap = Callable[[float, CellFrame], None]
