"""One capture thread per camera, writing into a latest-frame slot.

The capture thread owns its :class:`~vision.sources.FrameSource`: it opens it, reads it, stamps
each image into a :class:`~vision.types.Frame` and overwrites the camera's
:class:`~vision.slot.LatestFrameSlot`. Vision workers take the newest frame from the slot; a
frame they were too slow for is overwritten and counted as a drop, so memory stays bounded
however slow the consumer is. When the source fails, the thread closes it and reopens it after
a delay that doubles from ``reconnect_backoff_initial_s`` up to ``reconnect_backoff_max_s``, and
starts again from the initial delay once a frame comes through. :meth:`CameraCapture.stats`
gives the figures the maintenance screen shows.
"""

from __future__ import annotations

import collections
import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from vision.motion import Roi, check_roi
from vision.slot import LatestFrameSlot
from vision.sources import FrameSource, SourceError, parse_source
from vision.types import Frame

log = logging.getLogger(__name__)


class MonotonicClock(Protocol):
    """The part of a clock capture needs (``cart_app.clock.Clock`` satisfies it)."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""
        ...


class SystemMonotonicClock:
    """``time.monotonic``: the default clock."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin."""
        return time.monotonic()


class Backoff:
    """Doubling delays between reconnect attempts, capped; :meth:`reset` after a success."""

    def __init__(self, initial_s: float, max_s: float) -> None:
        if initial_s <= 0 or max_s < initial_s:
            raise ValueError("backoff needs 0 < initial_s <= max_s")
        self._initial = initial_s
        self._max = max_s
        self._next = initial_s

    def next_delay(self) -> float:
        """The delay to wait now; the one after it is twice as long, up to the cap."""
        delay = self._next
        self._next = min(self._next * 2.0, self._max)
        return delay

    def reset(self) -> None:
        """Back to the initial delay."""
        self._next = self._initial


class RateMeter:
    """Frames per second over the last ``window_s`` seconds of arrival times."""

    def __init__(self, window_s: float = 2.0) -> None:
        self._window = window_s
        self._times: collections.deque[float] = collections.deque()

    def tick(self, now: float) -> None:
        """Record one frame arriving at ``now``."""
        self._times.append(now)
        self._trim(now)

    def rate(self, now: float) -> float:
        """Frames per second as of ``now``; 0 when fewer than two frames are in the window."""
        self._trim(now)
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        # A window that ends before ``now`` means frames stopped: count up to now, not to the
        # last frame, so a stalled camera's rate falls instead of freezing at its last value.
        span = max(span, now - self._times[0])
        return (len(self._times) - 1) / span if span > 0 else 0.0

    def _trim(self, now: float) -> None:
        while self._times and now - self._times[0] > self._window:
            self._times.popleft()


class CaptureState(enum.StrEnum):
    """Where a camera's capture thread is."""

    IDLE = "idle"  # not started
    OPENING = "opening"
    RUNNING = "running"
    RECONNECTING = "reconnecting"  # the source failed; waiting out the backoff or reopening
    ENDED = "ended"  # a finite source (file, folder, one-pass scene) played to its end
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class CameraSettings:
    """One camera; the first seven fields mirror ``[[cameras]]`` in the configuration."""

    id: str
    source: str = "synthetic"
    width: int = 640
    height: int = 480
    fps: float = 15.0
    roi: Roi = (0.0, 0.0, 1.0, 1.0)
    reconnect_backoff_max_s: float = 10.0
    reconnect_backoff_initial_s: float = 0.25
    stop_timeout_s: float = 2.0
    max_lag_s: float = 0.5  # paced playback further behind than this re-anchors, never bursts

    def __post_init__(self) -> None:
        check_roi(self.roi)
        if self.fps <= 0:
            raise ValueError(f"camera {self.id}: fps must be positive")
        if not 0 < self.reconnect_backoff_initial_s <= self.reconnect_backoff_max_s:
            raise ValueError(f"camera {self.id}: need 0 < initial backoff <= max backoff")


@dataclass(frozen=True, slots=True)
class CameraStats:
    """Maintenance figures of one camera, as of one moment."""

    camera_id: str
    source: str
    state: CaptureState
    fps: float
    frames: int
    drops: int
    last_frame_t: float | None
    reconnects: int
    last_error: str | None


FrameHook = Callable[[Frame], None]


class CameraCapture:
    """The capture thread of one camera (a ``Part``: ``name``, ``start``, ``stop``).

    Timestamps: a live camera's frame is stamped with the clock when ``read`` returns. A recorded
    or synthetic frame is stamped ``anchor + media_t``, the anchor fixed when playback (re)starts,
    so a replay keeps its recorded spacing exactly; when ``realtime`` the thread waits until that
    time comes, otherwise it runs as fast as it can and stamps run ahead of the clock.

    ``on_frame`` is called in the capture thread with every frame (a recorder); its exceptions
    are logged and never stop capture.
    """

    def __init__(
        self,
        settings: CameraSettings,
        source: FrameSource | None = None,
        *,
        clock: MonotonicClock | None = None,
        slot: LatestFrameSlot | None = None,
        on_frame: FrameHook | None = None,
    ) -> None:
        self.settings = settings
        self.name = f"camera:{settings.id}"
        self.source = (
            source
            if source is not None
            else parse_source(
                settings.source, width=settings.width, height=settings.height, fps=settings.fps
            )
        )
        self.slot = slot or LatestFrameSlot()
        self._clock = clock or SystemMonotonicClock()
        self._on_frame = on_frame
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._state = CaptureState.IDLE
        self._frames = 0
        self._reconnects = 0
        self._last_error: str | None = None
        self._last_frame_t: float | None = None
        self._rate = RateMeter()
        self._hook_failures = 0
        self._anchor: float | None = None

    # --- Part -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the capture thread; the source is opened on that thread, not here."""
        if self._thread is not None:
            raise RuntimeError(f"{self.name} already started")
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread, waiting at most ``stop_timeout_s``; closes the slot."""
        self._stop.set()
        self.slot.close()
        if self._thread is not None:
            self._thread.join(self.settings.stop_timeout_s)
            if self._thread.is_alive():
                # A driver stuck in read(): the thread is a daemon and closes the source when
                # (if) the read returns; the cart must not hang on shutdown for it.
                log.warning(
                    "%s: capture thread still blocked after %.1f s; leaving it behind",
                    self.name,
                    self.settings.stop_timeout_s,
                )
        self._set_state(CaptureState.STOPPED)

    # --- figures ----------------------------------------------------------------------------

    @property
    def state(self) -> CaptureState:
        """The thread's current state."""
        with self._lock:
            return self._state

    def stats(self) -> CameraStats:
        """A snapshot of the maintenance figures."""
        now = self._clock.monotonic()
        with self._lock:
            return CameraStats(
                camera_id=self.settings.id,
                source=self.source.description,
                state=self._state,
                fps=self._rate.rate(now),
                frames=self._frames,
                drops=self.slot.drops,
                last_frame_t=self._last_frame_t,
                reconnects=self._reconnects,
                last_error=self._last_error,
            )

    # --- the thread -------------------------------------------------------------------------

    def _set_state(self, state: CaptureState) -> None:
        with self._lock:
            self._state = state

    def _run(self) -> None:
        backoff = Backoff(
            self.settings.reconnect_backoff_initial_s, self.settings.reconnect_backoff_max_s
        )
        is_open = False
        delivered_since_open = False
        seq = 0
        self._set_state(CaptureState.OPENING)
        try:
            while not self._stop.is_set():
                if not is_open:
                    try:
                        self.source.open()
                    except Exception as exc:
                        self._failed(exc, backoff)
                        continue
                    is_open, delivered_since_open, self._anchor = True, False, None
                try:
                    raw = self.source.read()
                except Exception as exc:
                    is_open = False
                    self._close_source()
                    self._failed(exc, backoff)
                    continue
                if raw is None:
                    self._set_state(CaptureState.ENDED)
                    log.info("%s: %s ended", self.name, self.source.description)
                    return
                if not delivered_since_open:
                    delivered_since_open = True
                    backoff.reset()
                    self._set_state(CaptureState.RUNNING)
                t = self._stamp(raw.media_t)
                if t is None:  # stopped while pacing
                    return
                frame = Frame(self.settings.id, t, raw.image, seq)
                seq += 1
                self.slot.put(frame)
                with self._lock:
                    self._frames += 1
                    self._last_frame_t = t
                    self._rate.tick(self._clock.monotonic())
                if self._on_frame is not None:
                    self._call_hook(frame)
        finally:
            self._close_source()
            self.slot.close()

    def _stamp(self, media_t: float | None) -> float | None:
        """The frame's time; waits first when pacing a recording. ``None`` if stopped."""
        now = self._clock.monotonic()
        if self.source.live or media_t is None:
            return now
        last = self._last_frame_t
        if self._anchor is None or (last is not None and self._anchor + media_t <= last):
            # (Re)start of playback: a reopen or a loop. Keep stamps increasing across it.
            fps = self.source.nominal_fps or self.settings.fps
            start = now if last is None else max(now, last + 1.0 / fps)
            self._anchor = start - media_t
        due = self._anchor + media_t
        if not self.source.realtime:
            return due
        if now - due > self.settings.max_lag_s:
            # Fell behind (a loaded machine): drop the schedule rather than burst to catch up.
            self._anchor = now - media_t
            return now
        if due > now and self._stop.wait(due - now):
            return None
        return due

    def _failed(self, exc: Exception, backoff: Backoff) -> None:
        message = str(exc) if isinstance(exc, SourceError) else f"{type(exc).__name__}: {exc}"
        delay = backoff.next_delay()
        with self._lock:
            self._last_error = message
            self._state = CaptureState.RECONNECTING
        if isinstance(exc, SourceError):
            log.warning("%s: %s; retrying in %.2f s", self.name, message, delay)
        else:
            log.exception("%s: unexpected source error; retrying in %.2f s", self.name, delay)
        if not self._stop.wait(delay):
            with self._lock:
                self._reconnects += 1

    def _close_source(self) -> None:
        try:
            self.source.close()
        except Exception:
            log.exception("%s: closing %s failed", self.name, self.source.description)

    def _call_hook(self, frame: Frame) -> None:
        assert self._on_frame is not None
        try:
            self._on_frame(frame)
        except Exception:
            self._hook_failures += 1
            # The first failure with its traceback, then one line per hundred: a full disk
            # must not flood the log at 15 lines a second.
            if self._hook_failures == 1:
                log.exception("%s: frame hook failed; capture goes on", self.name)
            elif self._hook_failures % 100 == 0:
                log.error("%s: frame hook has failed %d times", self.name, self._hook_failures)
