"""Recording a camera's frames with their timestamps, for replay.

A recording is one folder per camera::

    <folder>/00000000.jpg
    <folder>/00000001.jpg
    ...
    <folder>/timestamps.csv      file,t,seq,camera_id

``t`` is the frame's capture time (:attr:`vision.types.Frame.t`, monotonic seconds), written
with microsecond precision. ``folder:<folder>`` replays it through
:class:`vision.folder.ImageFolderSource`, paced by those times. JPEG is the default (about 60 KB
a frame at 640×480); choose PNG for a bit-exact replay.

Disk use is bounded twice: by ``max_bytes`` for the recording, and by ``min_free_bytes`` left on
the disk. Reaching either raises :class:`RecordingFull`, with the reason, from that frame on; the
frames and rows written so far stay a valid recording.
"""

from __future__ import annotations

import csv
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, NamedTuple

import cv2

from vision.folder import TIMESTAMPS_CSV
from vision.types import Frame


class RecordingError(Exception):
    """The recording cannot go on; the message says why."""


class RecordingFull(RecordingError):
    """The recording reached its byte limit or the disk its reserve."""


class DiskUsage(NamedTuple):
    """What :func:`shutil.disk_usage` returns."""

    total: int
    used: int
    free: int


@dataclass(frozen=True, slots=True)
class RecordingSettings:
    """Limits and format of a recording."""

    max_bytes: int = 2 * 1024**3
    min_free_bytes: int = 512 * 1024**2
    image_format: Literal["jpg", "png"] = "jpg"
    jpeg_quality: int = 90

    def __post_init__(self) -> None:
        if self.max_bytes <= 0 or self.min_free_bytes < 0:
            raise ValueError("max_bytes must be positive and min_free_bytes not negative")
        if self.image_format not in ("jpg", "png"):
            raise ValueError(f"image_format must be jpg or png, not {self.image_format!r}")
        if not 1 <= self.jpeg_quality <= 100:
            raise ValueError("jpeg_quality must lie in 1..100")


def _disk_usage(path: Path) -> DiskUsage:
    usage = shutil.disk_usage(path)
    return DiskUsage(usage.total, usage.used, usage.free)


class FrameRecorder:
    """Writes frames into a new recording folder; thread-safe, usable as a capture ``on_frame``.

    ``disk_usage`` is injectable so tests can simulate a full disk.
    """

    def __init__(
        self,
        folder: str | Path,
        settings: RecordingSettings | None = None,
        *,
        disk_usage: Callable[[Path], DiskUsage] = _disk_usage,
    ) -> None:
        self.folder = Path(folder)
        self.settings = settings or RecordingSettings()
        self._disk_usage = disk_usage
        self._lock = threading.Lock()
        self._full: str | None = None
        self.frames_written = 0
        self.bytes_written = 0
        self.folder.mkdir(parents=True, exist_ok=True)
        csv_path = self.folder / TIMESTAMPS_CSV
        if csv_path.exists():
            raise RecordingError(f"{self.folder} already holds a recording; choose a new folder")
        self._csv_file = csv_path.open("x", newline="")
        self._csv = csv.writer(self._csv_file)
        self._csv.writerow(["file", "t", "seq", "camera_id"])
        self._csv_file.flush()
        if self.settings.image_format == "jpg":
            self._params = [cv2.IMWRITE_JPEG_QUALITY, self.settings.jpeg_quality]
        else:
            self._params = [cv2.IMWRITE_PNG_COMPRESSION, 1]  # fast: a cart's CPU is for vision

    def write(self, frame: Frame) -> None:
        """Append one frame; raises :class:`RecordingFull` once a limit is reached."""
        ext = "." + self.settings.image_format
        ok, encoded = cv2.imencode(ext, frame.image, self._params)
        if not ok:
            raise RecordingError(f"cannot encode frame {frame.seq} of {frame.camera_id} as {ext}")
        data = encoded.tobytes()
        with self._lock:
            if self._csv_file.closed:
                raise RecordingError(f"recording {self.folder} is closed")
            self._check_room(len(data))
            name = f"{self.frames_written:08d}{ext}"
            try:
                (self.folder / name).write_bytes(data)
                self._csv.writerow([name, f"{frame.t:.6f}", frame.seq, frame.camera_id])
                # Flushed per row: after a crash the recording is good up to the last frame.
                self._csv_file.flush()
            except OSError as exc:
                self._full = f"writing {self.folder / name} failed: {exc}"
                raise RecordingFull(self._full) from exc
            self.frames_written += 1
            self.bytes_written += len(data)

    def _check_room(self, size: int) -> None:
        if self._full is None:
            s = self.settings
            if self.bytes_written + size > s.max_bytes:
                self._full = (
                    f"recording {self.folder} reached its limit of {s.max_bytes:,} bytes "
                    f"after {self.frames_written} frames"
                )
            else:
                free = self._disk_usage(self.folder).free
                if free - size < s.min_free_bytes:
                    self._full = (
                        f"disk of {self.folder} is nearly full: {free:,} bytes free, the "
                        f"recorder keeps {s.min_free_bytes:,} free; stopped after "
                        f"{self.frames_written} frames"
                    )
        if self._full is not None:
            raise RecordingFull(self._full)

    @property
    def full(self) -> str | None:
        """Why the recording stopped taking frames, or ``None`` while it still does."""
        with self._lock:
            return self._full

    def close(self) -> None:
        """Finish the recording (idempotent)."""
        with self._lock:
            if not self._csv_file.closed:
                self._csv_file.close()

    def __enter__(self) -> FrameRecorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
