"""The demo camera: a basket opening rendered on the fly, with products a script moves through it.

A :class:`DemoCamera` is a :class:`~vision.sources.FrameSource` (spec ``demo`` in the cart's
configuration) that shows the empty basket floor of :mod:`vision.synthetic` until it is told to
show an item. :meth:`DemoCamera.play` queues a :class:`Pass` (any thread) and returns a future
that completes, with the frame in which most of the item was in view, once it has left the
picture: it slid in over the top edge and dropped
below the rim (``INTO``), rose from the basket and left over the top edge (``OUT_OF``), or was
held over the basket and taken away (``HELD``). The geometry is
:class:`vision.synthetic.ScriptedItem`'s, so the motion gate and tracker see exactly the
motion they are tested against; the pixels are the product renders of
:mod:`vision.render.products` (packaging print, real EAN/UPC symbols, produce textures), so
recognition and the barcode reader work on them as they would on a camera image.

Frames are paced in real time on the capture thread and stamped as a live camera's are (on
arrival, with the cart's monotonic clock), so a scripted trip runs at the speed a shopper
would, and the observations line up in time with the simulated scale's weight changes.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

import cv2
import numpy as np

from vision.render.products import (
    Cutout,
    ProductLike,
    Side,
    group_cutouts,
    paste,
    render_cutout,
)
from vision.sources import Image, SourceFrame
from vision.synthetic import ScriptedItem, render_background
from vision.types import Direction


@dataclass(frozen=True, slots=True)
class Pass:
    """One item's pass through the basket opening.

    ``count`` units side by side (three yoghurts put in at once); ``side`` the side the camera
    sees (``back``: no barcode and none of the front's print); ``x`` the centre across the
    opening, a fraction of the width; ``view`` the render view (turn, scale, specimen).
    """

    product: ProductLike | str
    direction: Direction
    duration_s: float = 1.6
    count: int = 1
    side: Side = "front"
    x: float = 0.5
    view: int = 0

    def __post_init__(self) -> None:
        if self.direction not in (Direction.INTO, Direction.OUT_OF, Direction.HELD):
            raise ValueError("a pass goes into, out of or is held over the basket")
        if self.duration_s <= 0 or not 1 <= self.count <= 6:
            raise ValueError("need duration_s > 0 and 1..6 units")


@dataclass
class _Playing:
    item: ScriptedItem
    sprite: Cutout
    started: float
    done: Future[Image | None]
    best: Image | None = None
    best_area: float = 0.0


class DemoCamera:
    """Rendered frames of the basket opening, driven by :meth:`play` (see the module docstring).

    ``clock`` and ``sleep`` are injectable so tests can render frames without waiting.
    """

    def __init__(
        self,
        *,
        width: int = 640,
        height: int = 480,
        fps: float = 15.0,
        seed: int = 0,
        realtime: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        name: str = "demo",
    ) -> None:
        if fps <= 0:
            raise ValueError("fps must be positive")
        self._width, self._height, self._fps, self._seed = width, height, fps, seed
        self._clock, self._sleep = clock, sleep
        self._queue: collections.deque[tuple[Pass, Future[Image | None]]] = collections.deque()
        self._lock = threading.Lock()
        self._playing: _Playing | None = None
        self._floors: list[Image] = []
        self._index = 0
        self._next_due: float | None = None
        self.description = name
        self.live = True  # stamped on arrival, like a camera: the script runs in real time
        self.realtime = realtime
        self.nominal_fps: float | None = fps
        self.frames = 0

    # --- the script's side (any thread) -------------------------------------------------------

    def play(self, item: Pass) -> Future[Image | None]:
        """Queue ``item``'s pass; the future completes when the item is out of the picture.

        Its result is the frame that showed most of the item (for a picture of the step).
        """
        done: Future[Image | None] = Future()
        with self._lock:
            self._queue.append((item, done))
        return done

    @property
    def busy(self) -> bool:
        """Whether a pass is playing or queued."""
        with self._lock:
            return self._playing is not None or bool(self._queue)

    # --- FrameSource (the capture thread) -------------------------------------------------------

    def open(self) -> None:
        """Render the floor once; a reopen continues with the queue as it is."""
        if not self._floors:
            self._floors = render_background(self._width, self._height, self._seed)
        self._next_due = None

    def read(self) -> SourceFrame:
        """The next frame, ``1 / fps`` after the previous one when pacing in real time."""
        if not self._floors:
            raise RuntimeError("DemoCamera.read before open")
        now = self._pace()
        image = self._floors[self._index % len(self._floors)].copy()
        self._index += 1
        self.frames += 1
        playing = self._current(now)
        if playing is not None:
            box = playing.item.box_at(now - playing.started)
            if box is None:
                self._finish(playing)
            else:
                x, y, w, h = box
                paste(image, playing.sprite, round(x * self._width), round(y * self._height))
                area = max(0.0, min(x + w, 1.0) - max(x, 0.0)) * max(
                    0.0, min(y + h, 1.0) - max(y, 0.0)
                )
                # The latest of equals (to rounding): the item deepest in the basket.
                if area >= playing.best_area - 1e-9:
                    playing.best, playing.best_area = image.copy(), area
        return SourceFrame(image, None)

    def close(self) -> None:
        """Nothing to release; queued passes wait for the next open."""

    # --- internals -------------------------------------------------------------------------

    def _pace(self) -> float:
        now = self._clock()
        if self.realtime and self._next_due is not None and self._next_due > now:
            self._sleep(self._next_due - now)
            now = self._clock()
        period = 1.0 / self._fps
        # Behind schedule (a busy machine): skip ahead rather than burst frames to catch up.
        due = self._next_due if self._next_due is not None else now
        self._next_due = max(due, now - period) + period
        return now

    def _current(self, now: float) -> _Playing | None:
        with self._lock:
            if self._playing is None and self._queue:
                item, done = self._queue.popleft()
                if done.set_running_or_notify_cancel():
                    try:
                        self._playing = self._start(item, now, done)
                    except Exception as exc:  # an unknown SKU: fail the pass, not the camera
                        done.set_exception(exc)
            return self._playing

    def _start(self, item: Pass, now: float, done: Future[Image | None]) -> _Playing:
        sprite = group_cutouts(
            render_cutout(item.product, view=item.view, side=item.side), item.count, step=0.6
        )
        h, w = sprite.alpha.shape
        fit = min(1.0, 0.9 * self._width / w, 0.9 * self._height / h)
        if fit < 1.0:  # too big for the frame: drawn smaller, as if further from the camera
            sprite = _scaled(sprite, fit)
            h, w = sprite.alpha.shape
        size = (w / self._width, h / self._height)
        # INTO and OUT_OF items linger a moment out of sight (below the rim) so the track ends
        # cleanly before the next pass begins.
        scripted = ScriptedItem(item.direction, 0.0, item.duration_s, size=size, x=item.x)
        return _Playing(scripted, sprite, now, done)

    def _finish(self, playing: _Playing) -> None:
        with self._lock:
            self._playing = None
        playing.done.set_result(playing.best)


def _scaled(cutout: Cutout, factor: float) -> Cutout:
    size = (
        max(1, round(cutout.alpha.shape[1] * factor)),
        max(1, round(cutout.alpha.shape[0] * factor)),
    )
    bgr = cv2.resize(cutout.bgr, size, interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(cutout.alpha, size, interpolation=cv2.INTER_AREA)
    return Cutout(np.asarray(bgr, np.uint8), np.asarray(alpha, np.float32))
