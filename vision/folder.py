"""An image folder played as a camera: recordings (:mod:`vision.recording`) and test fixtures."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import cv2

from vision.sources import SourceError, SourceFrame, as_image

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})
TIMESTAMPS_CSV = "timestamps.csv"

_NAME_TIME = re.compile(r"(?:^|[_\-t=])(\d+\.\d+)$")
_DIGITS = re.compile(r"(\d+)")


def _natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort ``frame2`` before ``frame10``."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in _DIGITS.split(name) if part
    )


def time_from_name(name: str) -> float | None:
    """Seconds embedded at the end of a file stem (``cam1_1763712000.125.jpg``), else ``None``.

    Only a number with a decimal point counts: plain counters such as ``000123.png`` are frame
    indices, not times.
    """
    match = _NAME_TIME.search(Path(name).stem)
    return float(match.group(1)) if match else None


def read_timestamps_csv(path: Path) -> list[tuple[str, float]]:
    """``(file name, t)`` rows of a recording's ``timestamps.csv`` (columns ``file`` and ``t``)."""
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or not {"file", "t"} <= set(reader.fieldnames):
                raise SourceError(f"{path}: needs a header with columns 'file' and 't'")
            rows = [(row["file"], float(row["t"])) for row in reader]
    except (OSError, ValueError) as exc:
        raise SourceError(f"{path}: {exc}") from exc
    return rows


class ImageFolderSource:
    """A folder of still images played as a stream (a recording, or a test fixture).

    Timing, in order of preference: ``timestamps.csv`` (written by :mod:`vision.recording`; its
    rows give the order and the times, other files are ignored), times in the file names (see
    :func:`time_from_name`; then sorted by time), or frame index over ``fps`` in natural name
    order. An image that vanished or cannot be decoded is a failure; after a reopen the folder
    is listed again and reading resumes after the image that failed.
    """

    def __init__(
        self, path: str | Path, *, realtime: bool = True, loop: bool = False, fps: float = 15.0
    ) -> None:
        self._path = Path(path)
        self._loop = loop
        self._fps = fps
        self._entries: list[tuple[str, float]] = []
        self._position = 0
        self._resume_after: tuple[float, str] | None = None
        self._loop_offset = 0.0
        self._is_open = False
        self.description = f"folder:{path}"
        self.live = False
        self.realtime = realtime
        self.nominal_fps: float | None = fps

    def _list(self) -> list[tuple[str, float]]:
        if not self._path.is_dir():
            raise SourceError(f"image folder {self._path}: no such folder")
        csv_path = self._path / TIMESTAMPS_CSV
        if csv_path.is_file():
            return read_timestamps_csv(csv_path)
        try:
            names = [
                p.name
                for p in self._path.iterdir()
                if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
            ]
        except OSError as exc:
            raise SourceError(f"image folder {self._path}: {exc}") from exc
        names.sort(key=_natural_key)
        times = [time_from_name(name) for name in names]
        if names and all(t is not None for t in times):
            timed = sorted(((n, t) for n, t in zip(names, times, strict=True) if t is not None),
                           key=lambda entry: (entry[1], _natural_key(entry[0])))  # fmt: skip
            return timed
        return [(name, index / self._fps) for index, name in enumerate(names)]

    def open(self) -> None:
        """List the folder; resume after the image that failed when this is a reopen."""
        entries = self._list()
        if not entries:
            raise SourceError(f"image folder {self._path}: no images")
        self._entries = entries
        self._position = 0
        if self._resume_after is not None:
            t_failed, name_failed = self._resume_after
            self._position = next(
                (i for i, (n, t) in enumerate(entries) if (t, n) > (t_failed, name_failed)),
                len(entries),
            )
        self._is_open = True

    def read(self) -> SourceFrame | None:
        """The next image; ``None`` after the last (unless looping); raises on a bad image."""
        if not self._is_open:
            raise SourceError(f"image folder {self._path} is not open")
        if self._position >= len(self._entries):
            if not self._loop:
                return None
            first_t, last_t = self._entries[0][1], self._entries[-1][1]
            self._loop_offset += last_t - first_t + 1.0 / self._fps
            self._position = 0
            self._resume_after = None
        name, t = self._entries[self._position]
        self._position += 1
        image = cv2.imread(str(self._path / name), cv2.IMREAD_COLOR)
        if image is None:
            self._resume_after = (t, name)
            raise SourceError(f"image folder {self._path}: cannot read {name} (gone or damaged)")
        self._resume_after = (t, name)
        return SourceFrame(as_image(image), self._loop_offset + t)

    def close(self) -> None:
        """Forget the listing (files are opened per read, so nothing else is held)."""
        self._is_open = False
