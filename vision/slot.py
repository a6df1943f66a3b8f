"""The latest-frame slot: a one-frame mailbox between a camera's capture thread and its consumer.

Frames are never queued: a consumer slower than its camera sees the newest frame and the ones
it missed are counted as drops. Memory stays one frame per camera whatever happens downstream.
"""

from __future__ import annotations

import threading

from vision.types import Frame


class LatestFrameSlot:
    """A one-frame mailbox between a capture thread and one consumer.

    ``put`` overwrites; a frame overwritten before anyone took it counts as a drop. ``get``
    returns each frame at most once, always the newest. ``close`` wakes a waiting consumer for
    good; a frame put before the close can still be taken.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._fresh = False
        self._closed = False
        self._puts = 0
        self._drops = 0

    def put(self, frame: Frame) -> None:
        """Make ``frame`` the newest, dropping an untaken older one."""
        with self._cond:
            if self._fresh:
                self._drops += 1
            self._frame = frame
            self._fresh = True
            self._puts += 1
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> Frame | None:
        """The newest frame not yet taken, waiting up to ``timeout`` s; ``None`` if none came.

        ``timeout=None`` waits until a frame arrives or the slot is closed.
        """
        with self._cond:
            self._cond.wait_for(lambda: self._fresh or self._closed, timeout)
            if not self._fresh:
                return None
            self._fresh = False
            return self._frame

    def peek(self) -> Frame | None:
        """The newest frame whether taken or not (a preview); does not consume it."""
        with self._cond:
            return self._frame

    def close(self) -> None:
        """No more frames will come; wakes a waiting ``get``."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        """Whether the producer has finished."""
        with self._cond:
            return self._closed

    @property
    def drops(self) -> int:
        """Frames overwritten before anyone took them."""
        with self._cond:
            return self._drops

    @property
    def puts(self) -> int:
        """Frames put so far."""
        with self._cond:
            return self._puts
