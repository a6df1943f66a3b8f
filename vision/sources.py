"""Camera sources: where frames come from, behind one small protocol.

A source is opened, read one frame at a time and closed, always from a single thread (the
camera's capture thread, :mod:`vision.capture`). ``read`` returns a :class:`SourceFrame`, ``None``
at the clean end of a finite stream, and raises :class:`SourceError` when the source failed
(camera unplugged, file damaged, image gone). The capture thread answers a failure by closing the
source and opening it again after a backoff, so every source must survive ``close``/``open``
cycles; recorded sources resume after the frame that failed rather than starting over.

Spec strings (``[[cameras]] source`` in the configuration), parsed by :func:`parse_source`:

``webcam:N``        camera index ``N`` through OpenCV
``/dev/...``        a device path (``/dev/video2``, ``/dev/v4l/by-id/...``)
``file:PATH``       a video file, paced at its frame rate (or as fast as possible)
``folder:PATH``     a folder of images (:mod:`vision.folder`), e.g. a recording
``synthetic[:SCENE]`` rendered frames of a basket opening (:mod:`vision.synthetic`)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
"""A BGR image, ``height × width × 3``, as OpenCV uses them."""


class SourceError(Exception):
    """A source could not be opened or failed while reading; the message says which and why."""


class SourceSpecError(ValueError):
    """A source spec string is not one of the accepted forms."""


@dataclass(frozen=True, slots=True, eq=False)
class SourceFrame:
    """One image from a source.

    ``media_t`` is the frame's time within a recorded or rendered stream, in seconds from an
    arbitrary origin (the first frame of a file is usually 0); ``None`` for live cameras, whose
    frames are stamped with the clock when they arrive.
    """

    image: Image
    media_t: float | None


class FrameSource(Protocol):
    """Anything frames can be read from. Used from one thread at a time."""

    @property
    def description(self) -> str:
        """The spec or a short human-readable name, for logs and error messages."""
        ...

    @property
    def live(self) -> bool:
        """True when ``read`` blocks until a real device delivers the next frame."""
        ...

    @property
    def realtime(self) -> bool:
        """For recorded sources: pace frames at their media time (False: as fast as possible)."""
        ...

    @property
    def nominal_fps(self) -> float | None:
        """The frame rate the source claims, when it claims one."""
        ...

    def open(self) -> None:
        """Open (or reopen after a failure); raises :class:`SourceError`."""
        ...

    def read(self) -> SourceFrame | None:
        """The next frame; ``None`` at the clean end of a finite stream; raises on failure."""
        ...

    def close(self) -> None:
        """Release the device or file; safe to call when not open."""
        ...


def as_image(array: object) -> Image:
    """An OpenCV result as a contiguous ``uint8`` array (OpenCV 5 may hand back ``cv2.Mat``)."""
    return np.ascontiguousarray(np.asarray(array, dtype=np.uint8))


def _bgr(image: Image) -> Image:
    """Every source yields 3-channel BGR, whatever the device or file holds."""
    if image.ndim == 2:
        return as_image(cv2.cvtColor(image, cv2.COLOR_GRAY2BGR))
    if image.shape[2] == 4:
        return as_image(cv2.cvtColor(image, cv2.COLOR_BGRA2BGR))
    return image


class OpenCVDeviceSource:
    """A live camera by index (``webcam:0``) or device path (``/dev/video0``) via OpenCV."""

    def __init__(
        self, device: int | str, *, width: int = 640, height: int = 480, fps: float = 15.0
    ) -> None:
        self._device = device
        self._width = width
        self._height = height
        self._fps = fps
        self._cap: cv2.VideoCapture | None = None
        self.description = f"webcam:{device}" if isinstance(device, int) else str(device)
        self.live = True
        self.realtime = True
        self.nominal_fps: float | None = fps

    def open(self) -> None:
        """Open the device and ask for the configured size and rate (the driver may refuse)."""
        self.close()
        if isinstance(self._device, str) and not Path(self._device).exists():
            raise SourceError(f"camera {self.description}: no such device (is it plugged in?)")
        cap = cv2.VideoCapture(self._device)
        if not cap.isOpened():
            cap.release()
            hint = (
                f"no camera at index {self._device}"
                if isinstance(self._device, int)
                else "the device exists but cannot be opened (permissions? in use?)"
            )
            raise SourceError(f"camera {self.description} could not be opened: {hint}")
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self._width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self._height)
        cap.set(cv2.CAP_PROP_FPS, self._fps)
        # A one-frame driver buffer: the capture thread always wants the newest frame, and a
        # deeper buffer only adds latency between the item moving and the frame showing it.
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        reported = cap.get(cv2.CAP_PROP_FPS)
        if reported > 0:
            self.nominal_fps = float(reported)
        self._cap = cap

    def read(self) -> SourceFrame | None:
        """Block for the next frame; a failed grab means the camera went away."""
        if self._cap is None:
            raise SourceError(f"camera {self.description} is not open")
        ok, image = self._cap.read()
        if not ok or image is None:
            raise SourceError(f"camera {self.description} stopped delivering frames")
        return SourceFrame(_bgr(as_image(image)), None)

    def close(self) -> None:
        """Release the device."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class VideoFileSource:
    """A video file, read frame by frame; media time is the frame index over the file's rate.

    A read that fails before the frame count in the file's header is a failure (a truncated or
    damaged file); after a reopen the source resumes at the frame after the one that failed, so
    a damaged stretch is skipped rather than replayed. Files whose frame count is unknown end at
    the first failed read.
    """

    def __init__(
        self, path: str | Path, *, realtime: bool = True, loop: bool = False, fps: float = 15.0
    ) -> None:
        self._path = Path(path)
        self._fallback_fps = fps
        self._loop = loop
        self._cap: cv2.VideoCapture | None = None
        self._next_index = 0
        self._frame_count = 0
        self._loop_offset = 0.0
        self.description = f"file:{path}"
        self.live = False
        self.realtime = realtime
        self.nominal_fps: float | None = None

    def open(self) -> None:
        """Open the file and seek to where reading stopped (the start on first open)."""
        self.close()
        if not self._path.is_file():
            raise SourceError(f"video {self._path}: no such file")
        cap = cv2.VideoCapture(str(self._path))
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"video {self._path}: not a video OpenCV can read")
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.nominal_fps = float(fps) if fps > 0 and math.isfinite(fps) else self._fallback_fps
        count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self._frame_count = int(count) if count > 0 and math.isfinite(count) else 0
        if self._next_index:
            cap.set(cv2.CAP_PROP_POS_FRAMES, self._next_index)
        self._cap = cap

    def read(self) -> SourceFrame | None:
        """The next frame; ``None`` at the end (unless looping); raises on a damaged frame."""
        if self._cap is None:
            raise SourceError(f"video {self._path} is not open")
        ok, image = self._cap.read()
        if not ok or image is None:
            if self._frame_count and self._next_index < self._frame_count - 1:
                failed = self._next_index
                self._next_index += 1  # skip the bad frame when reopened
                raise SourceError(
                    f"video {self._path}: unreadable at frame {failed} of {self._frame_count}"
                )
            if not self._loop or self._next_index == 0:
                return None
            # Loop: carry media time on so it never runs backwards across the wrap.
            self._loop_offset += self._next_index / self._fps()
            self._next_index = 0
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self._cap.read()
            if not ok or image is None:
                raise SourceError(f"video {self._path}: cannot rewind to the first frame")
        media_t = self._loop_offset + self._next_index / self._fps()
        self._next_index += 1
        return SourceFrame(_bgr(as_image(image)), media_t)

    def _fps(self) -> float:
        return self.nominal_fps or self._fallback_fps

    def close(self) -> None:
        """Release the file."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None


SPEC_HELP = "webcam:N, a device path (/dev/...), file:PATH, folder:PATH or synthetic[:SCENE]"


def parse_source(
    spec: str,
    *,
    width: int = 640,
    height: int = 480,
    fps: float = 15.0,
    realtime: bool = True,
    loop: bool | None = None,
    seed: int = 0,
) -> FrameSource:
    """The source a spec string names; raises :class:`SourceSpecError` for a bad spec.

    ``width``, ``height`` and ``fps`` are requests to live cameras and the render settings of
    synthetic scenes; recorded sources keep their own. ``realtime`` and ``loop`` apply to
    recorded and synthetic sources (``loop=None``: files and folders play once, synthetic scenes
    as their script says); ``seed`` to synthetic ones. Nothing is opened here.
    """
    text = spec.strip()
    kind, sep, rest = text.partition(":")
    if text.startswith("/dev/"):
        return OpenCVDeviceSource(text, width=width, height=height, fps=fps)
    if kind == "webcam" and sep:
        if not rest.isdigit():
            raise SourceSpecError(f"camera source {spec!r}: webcam needs an index, as webcam:0")
        return OpenCVDeviceSource(int(rest), width=width, height=height, fps=fps)
    if kind in ("file", "folder") and sep:
        if not rest:
            raise SourceSpecError(f"camera source {spec!r}: {kind}: needs a path")
        if kind == "file":
            return VideoFileSource(rest, realtime=realtime, loop=bool(loop), fps=fps)
        from vision.folder import ImageFolderSource

        return ImageFolderSource(rest, realtime=realtime, loop=bool(loop), fps=fps)
    if kind == "synthetic":
        from vision.synthetic import SCENES, SyntheticSource, scene

        name = rest if sep else "demo"
        if name not in SCENES:
            raise SourceSpecError(
                f"camera source {spec!r}: unknown synthetic scene {name!r} "
                f"(known: {', '.join(sorted(SCENES))})"
            )
        return SyntheticSource(
            scene(name),
            width=width,
            height=height,
            fps=fps,
            seed=seed,
            realtime=realtime,
            loop=loop,
            name=f"synthetic:{name}",
        )
    raise SourceSpecError(f"camera source {spec!r} not understood: expected {SPEC_HELP}")
