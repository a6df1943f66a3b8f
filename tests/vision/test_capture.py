"""Capture threads: the latest-frame slot, pacing stamps, reconnects with backoff, stats.

Threaded tests run recorded sources as fast as possible (no pacing waits), use backoffs of a few
milliseconds, and wait on conditions with generous timeouts; nothing asserts on wall time.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from cart_app.clock import FakeClock
from tests.vision.test_sources import truncate, video_index, write_folder, write_video
from vision.capture import (
    Backoff,
    CameraCapture,
    CameraSettings,
    CaptureState,
    RateMeter,
)
from vision.folder import ImageFolderSource
from vision.slot import LatestFrameSlot
from vision.sources import (
    FrameSource,
    SourceError,
    SourceFrame,
    VideoFileSource,
)
from vision.synthetic import Scene, SyntheticSource, scene
from vision.types import Frame

WAIT_S = 20.0  # generous: a loaded 2-core machine may stall a thread for seconds


def wait_until(condition: Callable[[], bool], timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.002)


def fast_settings(stop_timeout_s: float = 10.0) -> CameraSettings:
    """Millisecond backoffs, so reconnect tests take no time."""
    return CameraSettings(
        id="cam",
        reconnect_backoff_initial_s=0.001,
        reconnect_backoff_max_s=0.004,
        stop_timeout_s=stop_timeout_s,
    )


def frame(seq: int, t: float = 0.0) -> Frame:
    return Frame("cam", t, np.zeros((2, 2, 3), dtype=np.uint8), seq)


class Collector:
    """An ``on_frame`` hook that keeps every frame (it runs in the capture thread)."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self._lock = threading.Lock()

    def __call__(self, frame: Frame) -> None:
        with self._lock:
            self.frames.append(frame)

    def count(self) -> int:
        with self._lock:
            return len(self.frames)


def run_to_end(capture: CameraCapture) -> None:
    capture.start()
    try:
        wait_until(lambda: capture.state is CaptureState.ENDED)
    finally:
        capture.stop()


# --- the slot ---------------------------------------------------------------------------------


def test_slot_returns_each_frame_once() -> None:
    slot = LatestFrameSlot()
    slot.put(frame(0))
    got = slot.get(timeout=0)
    assert got is not None and got.seq == 0
    assert slot.get(timeout=0) is None
    assert slot.peek() is got  # still there to preview, just not fresh


def test_slot_keeps_only_the_newest_and_counts_drops() -> None:
    slot = LatestFrameSlot()
    for seq in range(1000):
        slot.put(frame(seq))
    assert slot.drops == 999
    assert slot.puts == 1000
    got = slot.get(timeout=0)
    assert got is not None and got.seq == 999
    assert slot.get(timeout=0) is None  # one frame held, never a backlog


def test_slot_counts_no_drop_when_the_consumer_keeps_up() -> None:
    slot = LatestFrameSlot()
    for seq in range(5):
        slot.put(frame(seq))
        assert slot.get(timeout=0) is not None
    assert slot.drops == 0


def test_slot_get_waits_for_a_frame_from_another_thread() -> None:
    slot = LatestFrameSlot()
    got: list[Frame | None] = []
    consumer = threading.Thread(target=lambda: got.append(slot.get(timeout=WAIT_S)))
    consumer.start()
    slot.put(frame(7))
    consumer.join(WAIT_S)
    assert got and got[0] is not None and got[0].seq == 7


def test_slot_close_wakes_a_waiting_consumer_but_keeps_the_last_frame() -> None:
    slot = LatestFrameSlot()
    got: list[Frame | None] = []
    consumer = threading.Thread(target=lambda: got.append(slot.get()))
    consumer.start()
    slot.close()
    consumer.join(WAIT_S)
    assert got == [None]
    closed = LatestFrameSlot()
    closed.put(frame(3))
    closed.close()
    last = closed.get()
    assert last is not None and last.seq == 3
    assert closed.get() is None and closed.closed


# --- backoff, rate, settings --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("initial", "cap", "delays"),
    [
        (0.25, 10.0, [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]),
        (1.0, 1.0, [1.0, 1.0, 1.0]),
        (0.1, 0.3, [0.1, 0.2, 0.3, 0.3]),
    ],
)
def test_backoff_doubles_up_to_the_cap(initial: float, cap: float, delays: list[float]) -> None:
    backoff = Backoff(initial, cap)
    assert [backoff.next_delay() for _ in delays] == pytest.approx(delays)
    backoff.reset()
    assert backoff.next_delay() == initial


@pytest.mark.parametrize(("initial", "cap"), [(0.0, 1.0), (2.0, 1.0), (-1.0, 1.0)])
def test_backoff_rejects_nonsense(initial: float, cap: float) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(initial, cap)


def test_rate_meter_measures_and_decays() -> None:
    meter = RateMeter(window_s=2.0)
    assert meter.rate(0.0) == 0.0
    for i in range(16):
        meter.tick(i / 15)
    assert meter.rate(1.0) == pytest.approx(15.0)
    assert meter.rate(1.5) == pytest.approx(10.0)  # frames stopped at t=1: the rate falls
    assert meter.rate(10.0) == 0.0


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"roi": (0.5, 0.0, 0.6, 1.0)}, "outside the frame"),
        ({"roi": (0.0, 0.0, 0.0, 1.0)}, "positive"),
        ({"fps": 0.0}, "fps"),
        ({"reconnect_backoff_initial_s": 5.0, "reconnect_backoff_max_s": 1.0}, "backoff"),
    ],
)
def test_camera_settings_are_validated(overrides: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        CameraSettings(id="cam", **overrides)  # type: ignore[arg-type]


# --- capture from recorded sources -----------------------------------------------------------


def test_capture_plays_a_video_file_to_its_end(tmp_path: Path) -> None:
    collector = Collector()
    source = VideoFileSource(write_video(tmp_path / "v.avi", 20), realtime=False)
    capture = CameraCapture(fast_settings(), source, on_frame=collector)
    run_to_end(capture)
    frames = collector.frames
    assert [f.seq for f in frames] == list(range(20))
    assert [video_index(f.image) for f in frames] == list(range(20))
    assert np.diff([f.t for f in frames]) == pytest.approx([1 / 15] * 19)
    stats = capture.stats()
    assert (stats.frames, stats.reconnects, stats.last_error) == (20, 0, None)
    assert stats.last_frame_t == frames[-1].t
    assert stats.camera_id == "cam" and stats.source.startswith("file:")
    assert capture.state is CaptureState.STOPPED
    assert capture.slot.closed


def test_capture_plays_an_image_folder_with_its_timestamps(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "f", ["a", "b", "c", "d"])
    (folder / "timestamps.csv").write_text("file,t\na.png,10.0\nb.png,10.1\nc.png,10.5\nd.png,11\n")
    collector = Collector()
    capture = CameraCapture(
        fast_settings(), ImageFolderSource(folder, realtime=False), on_frame=collector
    )
    run_to_end(capture)
    assert np.diff([f.t for f in collector.frames]) == pytest.approx([0.1, 0.4, 0.5])


class FlakySource:
    """Wraps a source; ``read`` raises after every ``every`` frames, ``failures`` times in all."""

    def __init__(self, inner: FrameSource, every: int, failures: int) -> None:
        self.inner = inner
        self.every = every
        self.failures_left = failures
        self.opens = 0
        self._since_open = 0
        self.description = f"flaky({inner.description})"
        self.live = inner.live
        self.realtime = inner.realtime
        self.nominal_fps = inner.nominal_fps

    def open(self) -> None:
        self.opens += 1
        self._since_open = 0
        self.inner.open()

    def read(self) -> SourceFrame | None:
        if self.failures_left and self._since_open == self.every:
            self.failures_left -= 1
            raise SourceError("cable pulled")
        self._since_open += 1
        return self.inner.read()

    def close(self) -> None:
        self.inner.close()


def test_capture_reconnects_when_a_source_fails_mid_stream() -> None:
    inner = SyntheticSource(scene("into"), width=64, height=48, realtime=False)
    flaky = FlakySource(inner, every=5, failures=3)
    collector = Collector()
    capture = CameraCapture(fast_settings(), flaky, on_frame=collector)
    run_to_end(capture)
    stats = capture.stats()
    assert stats.reconnects == 3
    assert stats.last_error == "cable pulled"
    assert flaky.opens == 4
    # The synthetic stream resumes where it was, so nothing is lost and stamps keep rising.
    assert stats.frames == len(collector.frames) == round(scene("into").duration_s * 15)
    assert [f.seq for f in collector.frames] == list(range(stats.frames))
    assert all(np.diff([f.t for f in collector.frames]) > 0)


def test_capture_walks_through_a_truncated_video(tmp_path: Path) -> None:
    path = truncate(write_video(tmp_path / "v.avi", 30))
    collector = Collector()
    capture = CameraCapture(
        fast_settings(), VideoFileSource(path, realtime=False), on_frame=collector
    )
    run_to_end(capture)
    stats = capture.stats()
    assert stats.reconnects > 0
    assert stats.last_error is not None and "unreadable at frame" in stats.last_error
    good = [video_index(f.image) for f in collector.frames]
    assert good == list(range(len(good)))  # the readable start, once, in order
    assert 0 < len(good) < 30


def test_capture_survives_images_vanishing_mid_stream(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "f", [f"{i:03d}" for i in range(8)])
    seen: list[int] = []

    def vandal(frame: Frame) -> None:  # runs in the capture thread, so the timing is exact
        seen.append(round(float(frame.image.mean()) / 10))
        if frame.seq == 2:
            (folder / "004.png").unlink()
            (folder / "005.png").unlink()

    capture = CameraCapture(
        fast_settings(), ImageFolderSource(folder, realtime=False), on_frame=vandal
    )
    run_to_end(capture)
    assert seen == [0, 1, 2, 3, 6, 7]
    stats = capture.stats()
    assert stats.reconnects == 1  # the reopen lists the folder again: 005 is gone too
    assert stats.last_error is not None and "004.png" in stats.last_error


def test_capture_keeps_retrying_a_missing_camera_and_stops_promptly() -> None:
    capture = CameraCapture(fast_settings(), parse_missing_device())
    capture.start()
    try:
        wait_until(lambda: capture.stats().reconnects >= 3)
        stats = capture.stats()
        assert stats.state is CaptureState.RECONNECTING
        assert stats.last_error is not None and "no such device" in stats.last_error
        assert stats.frames == 0 and stats.fps == 0.0 and stats.last_frame_t is None
    finally:
        capture.stop()
    assert capture.state is CaptureState.STOPPED


def parse_missing_device() -> FrameSource:
    from vision.sources import parse_source

    return parse_source("/dev/video-smartcart-test-missing")


def test_capture_recovers_when_the_camera_comes_back(tmp_path: Path) -> None:
    folder = tmp_path / "later"
    capture = CameraCapture(fast_settings(), ImageFolderSource(folder, realtime=False))
    capture.start()
    try:
        wait_until(lambda: capture.stats().reconnects >= 2)
        # Renamed into place whole, so the capture never sees a half-written folder.
        write_folder(tmp_path / "staging", ["0", "1", "2"]).rename(folder)
        wait_until(lambda: capture.state is CaptureState.ENDED)
        stats = capture.stats()
        assert stats.frames == 3
        assert stats.last_error is not None and "no such folder" in stats.last_error
    finally:
        capture.stop()


# --- consumers, hooks, stopping ----------------------------------------------------------------


def test_a_slow_consumer_gets_the_newest_frames_and_drops_are_counted() -> None:
    source = SyntheticSource(scene("idle"), width=64, height=48, realtime=False)
    capture = CameraCapture(fast_settings(), source)
    capture.start()
    try:
        taken: list[int] = []
        while len(taken) < 5:
            got = capture.slot.get(timeout=WAIT_S)
            assert got is not None
            taken.append(got.seq)
            wait_until(lambda: capture.slot.puts > taken[-1] + 3)  # a consumer slower than capture
        assert taken == sorted(taken)
        assert all(b - a > 1 for a, b in itertools.pairwise(taken))
        assert capture.stats().drops > 0
        assert capture.stats().drops == capture.slot.drops
    finally:
        capture.stop()


def test_a_failing_hook_never_stops_capture() -> None:
    def broken(frame: Frame) -> None:
        raise OSError("disk full")

    source = SyntheticSource(scene("into"), width=64, height=48, realtime=False)
    capture = CameraCapture(fast_settings(), source, on_frame=broken)
    run_to_end(capture)
    assert capture.stats().frames == round(scene("into").duration_s * 15)
    assert capture.stats().last_error is None


class LiveFake:
    """A live source that advances a fake clock by one frame interval per read."""

    description = "live-fake"
    live = True
    realtime = True
    nominal_fps = 10.0

    def __init__(self, clock: FakeClock, frames: int) -> None:
        self.clock = clock
        self.left = frames

    def open(self) -> None:
        pass

    def read(self) -> SourceFrame | None:
        if self.left == 0:
            return None
        self.left -= 1
        self.clock.advance(0.1)
        return SourceFrame(np.zeros((4, 4, 3), dtype=np.uint8), None)

    def close(self) -> None:
        pass


def test_live_frames_are_stamped_by_the_injected_clock() -> None:
    clock = FakeClock(start=500.0)
    collector = Collector()
    capture = CameraCapture(fast_settings(), LiveFake(clock, 4), clock=clock, on_frame=collector)
    run_to_end(capture)
    assert [f.t for f in collector.frames] == pytest.approx([500.1, 500.2, 500.3, 500.4])
    assert capture.stats().fps == pytest.approx(10.0)


def test_realtime_playback_keeps_the_recorded_spacing() -> None:
    source = SyntheticSource(Scene((), duration_s=0.5), width=64, height=48, fps=100.0)
    collector = Collector()
    capture = CameraCapture(fast_settings(), source, on_frame=collector)
    run_to_end(capture)
    times = [f.t for f in collector.frames]
    assert len(times) == 50
    # Stamps follow the media clock whether the thread ran on time or was re-anchored late.
    assert all(np.diff(times) > 0)


class BlockingSource:
    """A driver stuck in ``read`` until released."""

    description = "stuck"
    live = True
    realtime = True
    nominal_fps = None

    def __init__(self) -> None:
        self.release = threading.Event()
        self.reading = threading.Event()
        self.closed = threading.Event()

    def open(self) -> None:
        pass

    def read(self) -> SourceFrame | None:
        self.reading.set()
        self.release.wait(WAIT_S)
        return None

    def close(self) -> None:
        self.closed.set()


def test_stop_is_bounded_even_when_the_driver_hangs() -> None:
    source = BlockingSource()
    capture = CameraCapture(fast_settings(stop_timeout_s=0.05), source)
    capture.start()
    assert source.reading.wait(WAIT_S)
    capture.stop()  # returns after stop_timeout_s although read() has not
    assert capture.state is CaptureState.STOPPED
    source.release.set()
    assert source.closed.wait(WAIT_S)  # the thread tidies up once the driver lets go


def test_start_twice_is_an_error() -> None:
    capture = CameraCapture(fast_settings(), SyntheticSource(scene("idle"), realtime=False))
    capture.start()
    try:
        with pytest.raises(RuntimeError, match="already started"):
            capture.start()
    finally:
        capture.stop()


def test_capture_is_a_part_named_after_its_camera() -> None:
    capture = CameraCapture(CameraSettings(id="left", source="synthetic:idle"))
    assert capture.name == "camera:left"
    assert capture.source.description == "synthetic:idle"
    assert capture.state is CaptureState.IDLE
