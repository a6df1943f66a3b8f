"""Evidence images: basket-region crops kept for a disputed line, and their deletion.

Privacy rules, enforced here rather than trusted to callers:

- **Off by default.** With ``keep_crops`` false nothing is written at all.
- **Crops only.** An image covering more than ``max_crop_fraction`` of its frame is refused:
  a whole camera frame (the shopper's face, the aisle) is never kept.
- **Deleted when the session ends.** When the trip is over (paid, or the cart moves on to a
  new session) its images are deleted at once, unless a retention period for disputes is
  configured (``retention_s`` > 0); then they are deleted that long after the end.
  :meth:`EvidenceStore.purge` deletes what is due; it runs on every session end and at start,
  so a cart that crashed keeps nothing past its retention either.
- **Nothing identifying in names.** A session's folder is named by a hash of its id; files by
  a counter and the camera id. Images never leave the cart: nothing here talks to the store.

Wiring (``cart_app/app.py``): the composition root builds the store over
``<data_dir>/evidence`` from ``[privacy]``, subscribes :meth:`EvidenceStore.on_engine_event` to
the engine, calls :meth:`EvidenceStore.start` once the engine has restored the basket, and
gives each vision worker :meth:`EvidenceStore.on_item_crop` as its crop hook when
``keep_evidence_crops`` is on (off, the workers do not even copy crops).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from cart_app.clock import Clock
from cart_app.engine import CartSnapshot, EngineEvent
from cart_app.session import SessionState
from vision.types import ItemCrop

log = logging.getLogger(__name__)

PURGE_EVERY_S: Final = 60.0
"""While trips run, what is past its retention is deleted at least this often."""
ENDED_MARKER: Final = "ended"
"""File in a session's folder holding the wall time its session ended."""


_OPEN_STATES: Final = frozenset({SessionState.SHOPPING, SessionState.CHECKOUT})
"""Trip states in which items go in, so crops are kept."""


class EvidenceError(ValueError):
    """An image that may not be kept as evidence; the message says why."""


@dataclass(frozen=True, slots=True)
class EvidenceSettings:
    """What may be kept and for how long (seconds)."""

    keep_crops: bool = False
    retention_s: float = 0.0
    max_crop_fraction: float = 0.5

    def __post_init__(self) -> None:
        if self.retention_s < 0 or not 0 < self.max_crop_fraction < 1:
            raise ValueError("retention_s must be >= 0 and max_crop_fraction in (0, 1)")


def session_folder_name(session_id: str) -> str:
    """The folder of a session's images: a hash, so the name says nothing about the trip."""
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()[:32]


class EvidenceStore:
    """Evidence crops under ``root``, one folder per session; thread-safe."""

    def __init__(self, root: Path, settings: EvidenceSettings, clock: Clock) -> None:
        self.root = Path(root)
        self.settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._count = 0
        self._current: str | None = None
        self._open = False
        """Whether the current trip takes items (crops outside one are not kept)."""
        self._last_purge = clock.wall()

    # --- writing --------------------------------------------------------------------------

    def save_crop(
        self,
        session_id: str,
        camera_id: str,
        crop: npt.NDArray[np.uint8],
        frame_shape: tuple[int, ...],
    ) -> Path | None:
        """Keep ``crop`` (cut from a frame of ``frame_shape``) for ``session_id``.

        Returns the file, or None when crops are not kept. Raises :class:`EvidenceError` for
        an image that is not a basket-region crop, or when there is no session.
        """
        if not self.settings.keep_crops:
            return None
        if not session_id:
            raise EvidenceError("evidence needs a session: no image is kept outside a trip")
        if crop.ndim < 2 or len(frame_shape) < 2 or crop.size == 0:
            raise EvidenceError(f"not an image: shape {crop.shape}")
        area = crop.shape[0] * crop.shape[1]
        frame_area = frame_shape[0] * frame_shape[1]
        if frame_area <= 0 or area > self.settings.max_crop_fraction * frame_area:
            raise EvidenceError(
                f"a {crop.shape[1]}x{crop.shape[0]} image of a {frame_shape[1]}x{frame_shape[0]} "
                f"frame is not a basket-region crop (more than "
                f"{self.settings.max_crop_fraction:.0%} of the frame); it is not kept"
            )
        ok, data = cv2.imencode(".png", crop)
        if not ok:
            raise EvidenceError("the crop could not be encoded")
        camera = "".join(c for c in camera_id if c.isalnum() or c in "-_")[:32] or "cam"
        with self._lock:
            self._count += 1
            folder = self.root / session_folder_name(session_id)
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{self._count:06d}-{camera}.png"
            tmp = path.with_suffix(".part")
            tmp.write_bytes(data.tobytes())
            os.replace(tmp, path)
        return path

    def on_item_crop(self, item: ItemCrop) -> Path | None:
        """The vision worker's crop hook: keep ``item`` for the trip under way, if any.

        Runs on a vision thread. Outside an open trip nothing is kept (an idle cart's camera
        sees people walking by); a refused image is logged, never raised into the worker.
        """
        session = self._current
        if not self.settings.keep_crops or session is None or not self._open:
            return None
        try:
            return self.save_crop(session, item.camera_id, item.image, item.frame_shape)
        except (EvidenceError, OSError) as exc:
            log.warning("evidence crop of %s not kept: %s", item.camera_id, exc)
            return None

    # --- ending and deleting --------------------------------------------------------------

    def end_session(self, session_id: str) -> None:
        """The trip is over: delete its images now, or mark them for deletion after retention."""
        folder = self.root / session_folder_name(session_id)
        with self._lock:
            if not folder.exists():
                return
            if self.settings.retention_s <= 0:
                shutil.rmtree(folder, ignore_errors=True)
                return
            marker = folder / ENDED_MARKER
            if not marker.exists():
                marker.write_text(repr(self._clock.wall()))
        self.purge()

    def purge(self) -> int:
        """Delete every ended session whose retention has passed; returns how many."""
        now = self._clock.wall()
        deleted = 0
        with self._lock:
            if not self.root.exists():
                return 0
            for folder in self.root.iterdir():
                if not folder.is_dir():
                    continue
                marker = folder / ENDED_MARKER
                try:
                    ended = float(marker.read_text())
                except (OSError, ValueError):
                    continue  # a session still running (or a marker being written)
                if now >= ended + self.settings.retention_s:
                    shutil.rmtree(folder, ignore_errors=True)
                    deleted += 1
        return deleted

    def start(self, current_session: str | None) -> None:
        """At power-on: every session but ``current_session`` is over (the cart moved on or
        crashed); end them, so their images go now or after their retention."""
        self._current = current_session
        self._open = current_session is not None
        keep = session_folder_name(current_session) if current_session else None
        if self.root.exists():
            for folder in self.root.iterdir():
                if folder.is_dir() and folder.name != keep:
                    self._end_folder(folder)
        self.purge()

    def _end_folder(self, folder: Path) -> None:
        with self._lock:
            if self.settings.retention_s <= 0:
                shutil.rmtree(folder, ignore_errors=True)
                return
            marker = folder / ENDED_MARKER
            if not marker.exists():
                marker.write_text(repr(self._clock.wall()))

    def sessions(self) -> list[Path]:
        """The session folders holding images now."""
        with self._lock:
            if not self.root.exists():
                return []
            return sorted(p for p in self.root.iterdir() if p.is_dir())

    # --- engine listener ------------------------------------------------------------------

    def on_engine_event(self, event: EngineEvent) -> None:
        """Subscribe to the engine: a paid trip, or a new session, ends the previous one."""
        if not isinstance(event, CartSnapshot):
            return
        basket = event.basket
        session = basket.session_id or None
        previous = self._current
        if previous is not None and previous != session:
            self.end_session(previous)
        if session is not None and basket.state is SessionState.DONE:
            self.end_session(session)
        self._current = session
        self._open = basket.state in _OPEN_STATES
        now = self._clock.wall()
        if self.settings.retention_s > 0 and now - self._last_purge >= PURGE_EVERY_S:
            # Retention is a bound even when no trip ends for a while.
            self._last_purge = now
            self.purge()
