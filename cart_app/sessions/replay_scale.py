"""Recorded scale bytes through the real link session, protocol parser, calibration and filter.

Each chunk the cart received is handed to a :class:`~scale.link_session.LinkSession` at its
recorded time, through a port that returns exactly that chunk, so framing, frame time stamps,
parsing, calibration and the weight filter are the production code on the production path.
Bytes the cart sent (identify probes, polls) are not replayed: the device's answers are in the
received bytes already, and what the link session writes goes nowhere.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import cast

import serial

from cart_app.sessions.format import SessionError
from scale.calibration import DEFAULT_CALIBRATION, CalibrationError, load_calibration
from scale.filter import ChangeCancelled, WeightFilter
from scale.link_session import CommandAnswered, DeviceIdentified, LinkSession, SampleReady, Tally
from scale.protocols import get_protocol
from scale.service_settings import ScaleSettings
from scale.state import MonotonicClock
from scale.transport import Link
from scale.types import WeightChange
from scale.wirelog import Direction, WireEntry

log = logging.getLogger(__name__)


class _ReplayPort:
    """A serial port whose next read returns the chunk put there; writes go nowhere."""

    def __init__(self) -> None:
        self.pending = b""

    def read(self, max_bytes: int = 4096) -> bytes:
        data, self.pending = self.pending[:max_bytes], self.pending[max_bytes:]
        return data

    def write(self, data: bytes) -> int:
        return len(data)

    def close(self) -> None:
        pass


class ScaleReplay:
    """Bytes in, the weight changes the cart's scale service would have published out."""

    def __init__(
        self,
        protocol: str,
        settings: ScaleSettings,
        clock: MonotonicClock,
        calibration_path: Path | None = None,
    ) -> None:
        self._protocol = get_protocol(protocol)
        self._settings = settings
        self._clock = clock
        self._calibration = DEFAULT_CALIBRATION
        if calibration_path is not None:
            try:
                self._calibration = load_calibration(calibration_path)
            except CalibrationError as exc:
                raise SessionError(str(exc)) from exc
        self.filter = WeightFilter(settings.filter_settings())
        self._port = _ReplayPort()
        self._session: LinkSession | None = None
        self._opened = 0
        self.tally = Tally()

    def link_opened(self) -> None:
        """A (re)connection: a new link session; after the first, no phantom change."""
        link = Link(cast(serial.SerialBase, self._port), "replay", clock=self._clock.monotonic)
        self._session = LinkSession(
            link,
            self._protocol,
            self._settings,
            calibration=self._calibration,
            tally=self.tally,
            clock=self._clock,
        )
        self._session.begin(identify=self._settings.identify)
        if self._opened:
            self.filter.on_reconnect()
        self._opened += 1

    def link_lost(self) -> None:
        """The port went away: bytes of a partial frame are lost with it."""
        self._session = None

    def feed(self, entry: WireEntry) -> list[WeightChange]:
        """One recorded chunk; the settled weight changes it completed (withdrawals negated)."""
        if entry.direction is not Direction.RX:
            return []
        if self._session is None:
            self.link_opened()
        assert self._session is not None
        self._port.pending = entry.data
        changes: list[WeightChange] = []
        for outcome in self._session.step():
            if isinstance(outcome, SampleReady):
                for event in self.filter.feed(outcome.sample):
                    changes.extend(_as_changes(event))
            elif isinstance(outcome, DeviceIdentified) and outcome.unsolicited:
                self.filter.on_reconnect()  # the device restarted and may have re-zeroed
            elif isinstance(outcome, CommandAnswered) and outcome.result.ok:
                self.filter.reset_baseline(0.0)
        return changes


def _as_changes(event: object) -> list[WeightChange]:
    """What the cart's scale wiring (``cart_app.devices``) hands fusion for a filter event.

    A withdrawn increase is passed on as the matching decrease: fusion may already have acted
    on the increase, and the pair nets to nothing either way.
    """
    if isinstance(event, WeightChange):
        return [event]
    if isinstance(event, ChangeCancelled):
        c = event.change
        return [WeightChange(-c.delta_g, c.after_g, c.before_g, event.t, event.t)]
    return []
