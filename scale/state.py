"""The scale link's state machine, its events and the reconnect backoff; pure, no I/O.

States, and the named timeouts that move between them::

    start ──► CONNECTING ──(weight frame)──► OK ◄──(weight frame)── DEGRADED
                 │   ▲                       │                         ▲
      open fails │   │ port opens            └──(no weight frame for ──┘
                 ▼   │                          silent_timeout_s)
             DISCONNECTED ◄──(read/write error, from any open state)

Time comes in as arguments, so every transition is tested without a clock or a port.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from scale.types import WeightSample


class MonotonicClock(Protocol):
    """Where the scale gets its time; ``cart_app.clock`` clocks satisfy it (``scale`` is a leaf)."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""
        ...


class SystemMonotonic:
    """The real monotonic clock."""

    def monotonic(self) -> float:
        """:func:`time.monotonic`."""
        return time.monotonic()


class DeviceState(StrEnum):
    """Where the scale link stands."""

    CONNECTING = "connecting"  # opening the port, or open and waiting for the first weight frame
    OK = "ok"  # weight frames arrive (readings, or cart board samples)
    DEGRADED = "degraded"  # the port is open but no weight frame came for silent_timeout_s
    DISCONNECTED = "disconnected"  # the port cannot be opened or died; reconnecting with backoff


@dataclass(frozen=True, slots=True)
class ScaleStateChanged:
    """The link moved to ``state``; ``reason`` says why in words for staff."""

    t: float
    state: DeviceState
    previous: DeviceState
    reason: str


@dataclass(frozen=True, slots=True)
class CommandResult:
    """How a queued command (``zero``, ``tare``…) ended; ``message`` says what the scale said."""

    t: float
    command: str
    ok: bool
    message: str


@dataclass(frozen=True, slots=True)
class ScaleCounters:
    """What the link has seen since the service started (bad input is counted, never fatal)."""

    frames: int = 0  # valid frames of any kind
    garbage: int = 0  # frames the parser could not read
    bad_checksums: int = 0  # cart board lines with a wrong checksum
    lost_samples: int = 0  # cart board sequence gaps
    discarded_bytes: int = 0  # bytes outside frames or in oversize frames
    bytes_in: int = 0
    bytes_out: int = 0
    reconnects: int = 0  # successful re-opens after a loss
    listener_errors: int = 0


@dataclass(frozen=True, slots=True)
class ScaleStatus:
    """A snapshot of the service for the maintenance screen and logs."""

    url: str
    protocol: str
    state: DeviceState
    reason: str
    since: float
    device_id: str | None
    last_sample: WeightSample | None
    counters: ScaleCounters


class Backoff:
    """Doubling delays from ``initial_s`` capped at ``max_s``, each shortened by up to ``jitter``.

    The jitter only shortens, so ``max_s`` stays a true cap; it keeps a fleet of carts that lost
    the same ser2net server from reconnecting in lockstep.
    """

    def __init__(
        self,
        initial_s: float,
        max_s: float,
        *,
        jitter: float = 0.1,
        rng: random.Random | None = None,
    ) -> None:
        if not 0 < initial_s <= max_s:
            raise ValueError("backoff needs 0 < initial_s <= max_s")
        if not 0 <= jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        self.initial_s = initial_s
        self.max_s = max_s
        self.jitter = jitter
        self._rng = rng or random.Random()
        self.attempts = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; each call doubles the base up to the cap."""
        base = min(self.max_s, self.initial_s * 2.0 ** min(self.attempts, 64))
        self.attempts += 1
        return base * (1.0 - self.jitter * self._rng.random())

    def reset(self) -> None:
        """The link works again: the next loss starts from ``initial_s``."""
        self.attempts = 0


class LinkMonitor:
    """Turns what happens on the link into state changes; emits only real changes."""

    def __init__(self, silent_timeout_s: float) -> None:
        if silent_timeout_s <= 0:
            raise ValueError("silent_timeout_s must be positive")
        self.silent_timeout_s = silent_timeout_s
        self.state = DeviceState.DISCONNECTED
        self.reason = "not started"
        self.since = 0.0
        self._last_valid = 0.0
        self._bytes_since_valid = 0
        self._garbage_since_valid = 0
        self._replies_since_valid = 0

    def _move(self, t: float, state: DeviceState, reason: str) -> ScaleStateChanged | None:
        self.reason = reason
        if state is self.state:
            return None
        previous, self.state, self.since = self.state, state, t
        return ScaleStateChanged(t, state, previous, reason)

    def connecting(self, t: float, reason: str) -> ScaleStateChanged | None:
        """The service is about to open the port."""
        return self._move(t, DeviceState.CONNECTING, reason)

    def opened(self, t: float, url: str) -> ScaleStateChanged | None:
        """The port is open; the silent timeout starts now."""
        self._last_valid = t
        self._bytes_since_valid = 0
        self._garbage_since_valid = 0
        self._replies_since_valid = 0
        return self._move(t, DeviceState.CONNECTING, f"{url} open, waiting for weight frames")

    def disconnected(self, t: float, reason: str) -> ScaleStateChanged | None:
        """The port could not be opened or failed; ``reason`` is the transport's message."""
        return self._move(t, DeviceState.DISCONNECTED, reason)

    def received(self, nbytes: int) -> None:
        """Bytes arrived (valid or not); only used to word the degraded reason."""
        self._bytes_since_valid += nbytes

    def garbage(self) -> None:
        """A frame could not be read."""
        self._garbage_since_valid += 1

    def reply(self) -> None:
        """A well-formed answer that carries no weight (identity, acknowledgement, error)."""
        self._replies_since_valid += 1

    def valid_frame(self, t: float) -> ScaleStateChanged | None:
        """A weight frame parsed (a reading, or a cart board sample): the scale is working.

        Replies alone do not count: a device that answers ``ES`` to every weight request is
        talking, but not weighing.
        """
        self._last_valid = t
        self._bytes_since_valid = 0
        self._garbage_since_valid = 0
        self._replies_since_valid = 0
        if self.state is DeviceState.OK:
            return None
        return self._move(t, DeviceState.OK, "weight frames arriving")

    def tick(self, t: float) -> ScaleStateChanged | None:
        """Apply the silent timeout; call it after every read, with or without data."""
        if self.state not in (DeviceState.OK, DeviceState.CONNECTING):
            return None
        quiet = t - self._last_valid
        if quiet < self.silent_timeout_s:
            return None
        if self._bytes_since_valid == 0:
            reason = f"no data for {quiet:.1f} s"
        elif self._garbage_since_valid == 0 and self._replies_since_valid > 0:
            reason = (
                f"no weight for {quiet:.1f} s: the scale answers ({self._replies_since_valid} "
                "replies) but sends no weight frames"
            )
        else:
            reason = (
                f"no valid frame for {quiet:.1f} s ({self._garbage_since_valid} unreadable "
                f"frames, {self._bytes_since_valid} bytes): wrong protocol or line settings?"
            )
        return self._move(t, DeviceState.DEGRADED, reason)
