"""Recording frames with timestamps and replaying them through an image folder source."""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from vision.capture import CameraCapture, CameraSettings, CaptureState
from vision.folder import ImageFolderSource
from vision.recording import (
    DiskUsage,
    FrameRecorder,
    RecordingError,
    RecordingFull,
    RecordingSettings,
)
from vision.sources import SourceFrame, parse_source
from vision.synthetic import SyntheticSource, scene
from vision.types import Frame

W, H = 160, 120


def synthetic_frames(count: int, t0: float = 1000.0, dt: float = 1 / 15) -> list[Frame]:
    source = SyntheticSource(scene("into"), width=W, height=H, seed=5)
    source.open()
    frames = []
    for seq in range(count):
        raw = source.read()
        assert raw is not None
        # Uneven spacing on purpose: a replay must keep the recorded times, not an fps.
        frames.append(
            Frame("cam1", t0 + seq * dt + (0.01 if seq % 3 == 0 else 0.0), raw.image, seq)
        )
    return frames


def replay(folder: Path) -> list[SourceFrame]:
    source = ImageFolderSource(folder, realtime=False)
    source.open()
    out = []
    while (raw := source.read()) is not None:
        out.append(raw)
    return out


def test_png_recording_replays_bit_exact_with_its_timestamps(tmp_path: Path) -> None:
    frames = synthetic_frames(12)
    with FrameRecorder(tmp_path / "rec", RecordingSettings(image_format="png")) as recorder:
        for frame in frames:
            recorder.write(frame)
    replayed = replay(tmp_path / "rec")
    assert len(replayed) == 12
    assert all(np.array_equal(a.image, b.image) for a, b in zip(frames, replayed, strict=True))
    assert [r.media_t for r in replayed] == pytest.approx([f.t for f in frames], abs=1e-6)


def test_jpeg_recording_replays_close_to_the_original(tmp_path: Path) -> None:
    frames = synthetic_frames(6)
    with FrameRecorder(tmp_path / "rec") as recorder:
        for frame in frames:
            recorder.write(frame)
        assert recorder.frames_written == 6
        assert recorder.bytes_written == sum(
            p.stat().st_size for p in (tmp_path / "rec").glob("*.jpg")
        )
    replayed = replay(tmp_path / "rec")
    for original, copy in zip(frames, replayed, strict=True):
        error = np.abs(original.image.astype(int) - copy.image.astype(int)).mean()
        assert error < 3.0


def test_timestamps_csv_has_the_documented_columns(tmp_path: Path) -> None:
    with FrameRecorder(tmp_path / "rec") as recorder:
        for frame in synthetic_frames(2):
            recorder.write(frame)
    with (tmp_path / "rec" / "timestamps.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [
        {"file": "00000000.jpg", "t": "1000.010000", "seq": "0", "camera_id": "cam1"},
        {"file": "00000001.jpg", "t": "1000.066667", "seq": "1", "camera_id": "cam1"},
    ]


def test_recording_stops_at_its_byte_limit_and_stays_replayable(tmp_path: Path) -> None:
    frames = synthetic_frames(20)
    recorder = FrameRecorder(tmp_path / "rec", RecordingSettings(max_bytes=40_000))
    written = 0
    with pytest.raises(RecordingFull, match="reached its limit of 40,000 bytes"):
        for frame in frames:
            recorder.write(frame)
            written += 1
    assert 0 < written < 20
    assert recorder.bytes_written <= 40_000
    assert recorder.full is not None
    with pytest.raises(RecordingFull):  # and from then on, without trying again
        recorder.write(frames[-1])
    recorder.close()
    assert len(replay(tmp_path / "rec")) == written


def test_recording_keeps_the_disk_reserve_free(tmp_path: Path) -> None:
    free = [10_000_000]

    def fake_usage(path: Path) -> DiskUsage:
        return DiskUsage(total=100_000_000, used=100_000_000 - free[0], free=free[0])

    settings = RecordingSettings(min_free_bytes=9_000_000)
    recorder = FrameRecorder(tmp_path / "rec", settings, disk_usage=fake_usage)
    frames = synthetic_frames(3)
    recorder.write(frames[0])
    free[0] = 9_000_500  # another process filled the disk
    with pytest.raises(RecordingFull, match="nearly full"):
        recorder.write(frames[1])
    recorder.close()
    assert len(replay(tmp_path / "rec")) == 1


def test_a_folder_holds_one_recording(tmp_path: Path) -> None:
    FrameRecorder(tmp_path / "rec").close()
    with pytest.raises(RecordingError, match="already holds a recording"):
        FrameRecorder(tmp_path / "rec")


def test_writing_after_close_is_an_error(tmp_path: Path) -> None:
    recorder = FrameRecorder(tmp_path / "rec")
    recorder.close()
    recorder.close()  # idempotent
    with pytest.raises(RecordingError, match="closed"):
        recorder.write(synthetic_frames(1)[0])


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [({"max_bytes": 0}, "max_bytes"), ({"image_format": "gif"}, "image_format"),
     ({"jpeg_quality": 0}, "jpeg_quality")],
)  # fmt: skip
def test_recording_settings_are_validated(kwargs: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        RecordingSettings(**kwargs)  # type: ignore[arg-type]


def wait_until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.002)


def capture_all(settings: CameraSettings, spec: str, hook: Callable[[Frame], None]) -> None:
    capture = CameraCapture(
        settings, parse_source(spec, width=W, height=H, realtime=False), on_frame=hook
    )
    capture.start()
    try:
        wait_until(lambda: capture.state is CaptureState.ENDED)
    finally:
        capture.stop()


def test_a_captured_session_replays_with_the_same_frames_and_spacing(tmp_path: Path) -> None:
    settings = CameraSettings(id="cam1")
    original: list[Frame] = []
    lock = threading.Lock()
    with FrameRecorder(tmp_path / "cam1", RecordingSettings(image_format="png")) as recorder:

        def record(frame: Frame) -> None:
            with lock:
                original.append(frame)
            recorder.write(frame)

        capture_all(settings, "synthetic:into", record)
    replayed: list[Frame] = []
    capture_all(settings, f"folder:{tmp_path / 'cam1'}", replayed.append)
    assert len(replayed) == len(original) == round(scene("into").duration_s * 15)
    assert all(np.array_equal(a.image, b.image) for a, b in zip(original, replayed, strict=True))
    assert np.diff([f.t for f in replayed]) == pytest.approx(
        np.diff([f.t for f in original]), abs=2e-6
    )


def test_a_full_recorder_does_not_stop_capture(tmp_path: Path) -> None:
    recorder = FrameRecorder(tmp_path / "rec", RecordingSettings(max_bytes=20_000))
    seen: list[Frame] = []

    def record(frame: Frame) -> None:
        seen.append(frame)
        recorder.write(frame)

    capture_all(CameraSettings(id="cam1"), "synthetic:into", record)
    recorder.close()
    assert len(seen) == round(scene("into").duration_s * 15)
    assert recorder.full is not None
    assert 0 < recorder.frames_written < len(seen)
