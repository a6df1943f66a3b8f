"""The scale thread: open, read, frame, parse, calibrate, filter, publish; reconnect on loss.

One :class:`ScaleService` owns one port and one thread (``start``/``stop``, the Part protocol of
``cart_app.app``). Everything it learns goes to its listeners as frozen values: the filter's
events (``WeightChange``, ``Settled``, ``ZeroAlert``…), :class:`~scale.state.ScaleStateChanged`
and :class:`~scale.state.CommandResult`. Listeners run on the scale thread and must be quick.

Bytes are never written to a port the configuration did not name, and on that port only the
protocol's identify probe and weight requests before the device has answered; ``zero`` and
``tare`` wait until it has (docs/scale-service.md).
"""

from __future__ import annotations

import logging
import queue
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass

import serial

from scale.calibration import DEFAULT_CALIBRATION, Calibration
from scale.filter import FilterEvent, WeightFilter, ZeroAlert
from scale.link_session import (
    BytesIn,
    DeviceIdentified,
    FrameSeen,
    FrameTap,
    LinkSession,
    Outcome,
    SampleReady,
    Tally,
)
from scale.protocols import Protocol, get_protocol
from scale.service_settings import SampleFilter, ScaleSettings
from scale.state import (
    Backoff,
    CommandResult,
    DeviceState,
    LinkMonitor,
    MonotonicClock,
    ScaleStateChanged,
    ScaleStatus,
    SystemMonotonic,
)
from scale.transport import Link, LinkOptions, ScalePortError, ScaleUnplugged, open_port
from scale.types import WeightSample
from scale.wirelog import WireLog

log = logging.getLogger(__name__)

STOPPED = "stopped"  # the reason of the last state change, after stop()
ScaleEvent = FilterEvent | ScaleStateChanged | CommandResult
Listener = Callable[[ScaleEvent], None]
PortOpener = Callable[[str, LinkOptions], serial.SerialBase]


@dataclass(frozen=True, slots=True)
class _Command:
    name: str  # zero, tare, tare_bags, reset_baseline, calibration, tap+, tap-
    queued_at: float
    value: object = None


class ScaleService:
    """The scale part: one port, one thread, events out to listeners."""

    name = "scale"

    def __init__(
        self,
        url: str,
        protocol: Protocol | str,
        settings: ScaleSettings | None = None,
        *,
        sample_filter: SampleFilter | None = None,
        calibration: Calibration | None = None,
        clock: MonotonicClock | None = None,
        wirelog: WireLog | None = None,
        opener: PortOpener = open_port,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self.protocol = get_protocol(protocol) if isinstance(protocol, str) else protocol
        self.settings = settings or ScaleSettings()
        s = self.settings
        self.filter: SampleFilter = sample_filter or WeightFilter(s.filter_settings())
        self.wirelog = wirelog or WireLog()
        self._clock = clock or SystemMonotonic()
        self._opener = opener
        self._calibration = calibration or DEFAULT_CALIBRATION
        self._backoff = Backoff(
            s.reconnect_backoff_initial_s,
            s.reconnect_backoff_max_s,
            jitter=s.reconnect_jitter,
            rng=rng,
        )
        self._monitor = LinkMonitor(s.silent_timeout_s)
        self._listeners: list[Listener] = []
        self._commands: queue.SimpleQueue[_Command] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # guards the status fields read by other threads
        self._tally = Tally()
        self._device_id: str | None = None
        self._last_sample: WeightSample | None = None
        self._taps: list[FrameTap] = []
        self._device_queue: list[_Command] = []  # zero/tare waiting for a proven link
        self._session: LinkSession | None = None
        self._connected_before = False

    # ------------------------------------------------------------------ public API

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` (on the scale thread) with every event; add before :meth:`start`."""
        self._listeners.append(listener)

    def start(self) -> None:
        """Start the scale thread; it opens the port and keeps it open until :meth:`stop`."""
        if self._thread is not None:
            raise RuntimeError("the scale service is already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="scale", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and close the port, waiting at most ``stop_timeout_s``."""
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        thread.join(self.settings.stop_timeout_s)
        if thread.is_alive():
            # Only a blocking open (a network port's connect) can outlast the timeout; the
            # daemon thread ends by itself when the open returns. It stays registered, so a
            # start() meanwhile cannot put a second thread on the same port.
            log.warning("scale thread did not stop within %.1f s", self.settings.stop_timeout_s)
            return
        self._thread = None

    def status(self) -> ScaleStatus:
        """A consistent snapshot of the link for maintenance screens and logs."""
        with self._lock:
            m = self._monitor
            return ScaleStatus(
                self.url,
                self.protocol.name,
                m.state,
                m.reason,
                m.since,
                self._device_id,
                self._last_sample,
                self._tally.freeze(),
            )

    def zero(self) -> None:
        """Zero the scale: the device's zero command if it has one, else the filter's zero."""
        self._queue("zero")

    def tare(self) -> None:
        """Tare: the device's tare command if it has one, else the filter's bag tare."""
        self._queue("tare")

    def tare_bags(self) -> None:
        """The shopper's bags are in: the filter treats the current plateau as tare."""
        self._queue("tare_bags")

    def reset_baseline(self) -> None:
        """Take the next plateau as the baseline without reporting a change."""
        self._queue("reset_baseline")

    def set_calibration(self, calibration: Calibration) -> None:
        """Use a new cart-board calibration from now on, without a phantom change."""
        self._queue("calibration", calibration)

    def add_frame_tap(self, tap: FrameTap) -> None:
        """Also hand every good cart-board frame to ``tap`` (calibration captures)."""
        self._queue("tap+", tap)

    def remove_frame_tap(self, tap: FrameTap) -> None:
        """Stop handing frames to ``tap``."""
        self._queue("tap-", tap)

    # ------------------------------------------------------------------ the thread

    def _queue(self, name: str, value: object = None) -> None:
        self._commands.put(_Command(name, self._clock.monotonic(), value))

    def _run(self) -> None:
        with self._lock:
            event = self._monitor.connecting(self._clock.monotonic(), f"opening {self.url}")
        self._publish(event)
        while not self._stop.is_set():
            link = self._open()
            if link is None:
                continue
            if self._connected_before:
                # The device may have re-zeroed while away (a USB scale power-cycles with the
                # plug), and the basket may have moved: the next plateau is the new baseline,
                # never a change. A restart after stop() counts as a reconnect too.
                self.filter.on_reconnect()
                self._tally.add("reconnects")
            self._connected_before = True
            reason = None
            try:
                self._serve(link)
            except ScaleUnplugged as exc:
                reason = str(exc)
            except Exception as exc:
                # A bug must not end the scale thread for good: log it, reopen with backoff.
                log.exception("scale thread: unexpected error; reopening the port")
                reason = f"scale port {self.url}: internal error: {exc!r}"
            finally:
                link.close()
                self._session = None
            if reason is not None:
                self._lost(reason)
        self._drain_commands()
        self._expire_device_commands(force=True)
        with self._lock:
            event = self._monitor.disconnected(self._clock.monotonic(), STOPPED)
        self._publish(event)

    def _open(self) -> Link | None:
        """Open the port, or mark the link lost and wait out the backoff."""
        try:
            port = self._opener(self.url, self.settings.link_options(self.protocol))
        except ScalePortError as exc:
            self._lost(str(exc))
            return None
        link = Link(port, self.url, wirelog=self.wirelog, clock=self._clock.monotonic)
        with self._lock:
            event = self._monitor.opened(self._clock.monotonic(), self.url)
        self._publish(event)
        return link

    def _lost(self, reason: str) -> None:
        delay = self._backoff.next_delay()
        with self._lock:
            event = self._monitor.disconnected(
                self._clock.monotonic(), f"{reason}; retrying in {delay:.2f} s"
            )
        self._publish(event)
        self._wait(delay)

    def _wait(self, seconds: float) -> None:
        """Sleep without deafness: commands keep being applied or expired meanwhile."""
        deadline = self._clock.monotonic() + seconds
        while not self._stop.is_set():
            left = deadline - self._clock.monotonic()
            if left <= 0:
                return
            self._stop.wait(min(left, 0.05))
            self._drain_commands()
            self._expire_device_commands()

    def _serve(self, link: Link) -> None:
        session = LinkSession(
            link,
            self.protocol,
            self.settings,
            calibration=self._calibration,
            tally=self._tally,
            clock=self._clock,
        )
        self._session = session
        session.begin(identify=self.settings.identify)
        while not self._stop.is_set():
            self._drain_commands()
            self._expire_device_commands()
            ready = self._monitor.state is DeviceState.OK and session.ready_for_command()
            if self._device_queue and ready:
                # Only now, with the device proven to be there and speaking this protocol.
                cmd = self._device_queue.pop(0)
                self._publish(session.send_command(cmd.name))
            for outcome in session.step():
                self._dispatch(outcome)
            with self._lock:
                event = self._monitor.tick(self._clock.monotonic())
            self._publish(event)

    def _dispatch(self, outcome: Outcome) -> None:
        if isinstance(outcome, BytesIn):
            self._monitor.received(outcome.count)
        elif isinstance(outcome, FrameSeen):
            if outcome.kind == "bad":
                self._monitor.garbage()
                return
            if outcome.kind == "reply":
                self._monitor.reply()
                return
            with self._lock:
                event = self._monitor.valid_frame(outcome.t)
            if event is not None:
                self._backoff.reset()
            self._publish(event)
        elif isinstance(outcome, SampleReady):
            with self._lock:
                self._last_sample = outcome.sample
            if outcome.frame is not None:
                for tap in list(self._taps):
                    self._call(tap, outcome.sample.t, outcome.frame)
            for filter_event in self.filter.feed(outcome.sample):
                self._publish(filter_event)
        elif isinstance(outcome, DeviceIdentified):
            with self._lock:
                self._device_id = outcome.device_id
            log.info("scale %s identified as %r", self.url, outcome.device_id)
            if outcome.unsolicited:
                # It announced itself unasked: it restarted and may have re-zeroed.
                self.filter.on_reconnect()
        else:
            result = outcome.result
            if result.ok:
                # The device's reading jumps to zero by its own doing: nothing moved.
                self.filter.reset_baseline(0.0)
            self._publish(result)
            if outcome.out_of_range:
                self._publish(ZeroAlert(result.t, "zero_out_of_range", result.message))

    def _drain_commands(self) -> None:
        while True:
            try:
                cmd = self._commands.get_nowait()
            except queue.Empty:
                return
            self._apply(cmd)

    def _apply(self, cmd: _Command) -> None:
        t = self._clock.monotonic()
        if cmd.name == "tap+":
            self._taps.append(cmd.value)  # type: ignore[arg-type]
        elif cmd.name == "tap-":
            if cmd.value in self._taps:
                self._taps.remove(cmd.value)
        elif cmd.name == "calibration":
            assert isinstance(cmd.value, Calibration)
            self._calibration = cmd.value
            if self._session is not None:
                self._session.calibration = cmd.value
            # The same load now reads differently: not a change of merchandise.
            self.filter.reset_baseline(None)
            self._publish(CommandResult(t, "calibration", True, "new calibration in use"))
        elif cmd.name == "reset_baseline":
            self.filter.reset_baseline(None)
        elif cmd.name == "tare_bags":
            self.filter.tare_bags()
        elif cmd.name == "zero" and self.protocol.encode_zero is None:
            self.filter.request_zero()
            self._publish(CommandResult(t, "zero", True, "zero on the next settled weight"))
        elif cmd.name == "tare" and self.protocol.encode_tare is None:
            self.filter.tare_bags()
            self._publish(CommandResult(t, "tare", True, "bag tare on the next settled weight"))
        else:
            self._device_queue.append(cmd)

    def _expire_device_commands(self, *, force: bool = False) -> None:
        if not self._device_queue:
            return
        now = self._clock.monotonic()
        keep: list[_Command] = []
        for cmd in self._device_queue:
            if force or now - cmd.queued_at >= self.settings.command_timeout_s:
                # A zero that runs minutes later, on a basket that changed since, would be
                # wrong; fail it and let the caller decide.
                m = self._monitor
                message = f"not sent: the scale is {m.state.value} ({m.reason})"
                self._publish(CommandResult(now, cmd.name, False, message))
            else:
                keep.append(cmd)
        self._device_queue = keep

    def _publish(self, event: ScaleEvent | None) -> None:
        if event is None:
            return
        if isinstance(event, ScaleStateChanged):
            bad = event.state in (DeviceState.DEGRADED, DeviceState.DISCONNECTED)
            bad = bad and event.reason != STOPPED
            level = logging.WARNING if bad else logging.INFO
            log.log(level, "scale %s: %s", event.state.value, event.reason)
        for listener in list(self._listeners):
            self._call(listener, event)

    def _call(self, fn: Callable[..., None], *args: object) -> None:
        try:
            fn(*args)
        except Exception:
            # A broken listener or tap must not take the scale down with it.
            log.exception("scale: %r failed", fn)
            self._tally.add("listener_errors")
