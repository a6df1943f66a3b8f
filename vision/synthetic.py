"""A synthetic camera: a basket opening seen from above, with product-like boxes moving through.

Tests, the benchmark and the laptop demo use it when there is no camera or recording. Frames are
a pure function of the scene, the seed and the frame index, so a run is reproducible.

Geometry (fractions of the frame): the whole frame is the basket opening; items come from
outside through the **top edge** and the inside of the basket is the lower part. An ``INTO``
item slides in from above the top edge down to ``DEEP_Y`` and then either disappears (it dropped
below the rim) or lies there for ``rest_s``; an ``OUT_OF`` item appears at ``DEEP_Y`` (or lies
there for ``rest_s`` first) and leaves through the top edge; a ``HELD`` item comes in to
``HOVER_Y``, hovers with a small wobble and goes back out the top.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from vision.sources import Image, SourceFrame, as_image
from vision.types import Direction

DEEP_Y = 0.72
HOVER_Y = 0.3
_NOISE_VARIANTS = 4


@dataclass(frozen=True, slots=True)
class ScriptedItem:
    """One item's pass through the opening; sizes and positions are fractions of the frame."""

    direction: Direction
    start_s: float
    duration_s: float = 1.2
    color: tuple[int, int, int] = (40, 60, 220)  # BGR
    size: tuple[float, float] = (0.22, 0.30)
    x: float = 0.5
    rest_s: float = 0.0  # INTO: lies in view at the bottom this long after; OUT_OF: before

    def box_at(self, t: float) -> tuple[float, float, float, float] | None:
        """``(x, y, w, h)`` of the item at media time ``t`` (may reach outside the frame)."""
        p = (t - self.start_s) / self.duration_s
        end_s = self.start_s + self.duration_s
        if self.direction is Direction.INTO and end_s <= t < end_s + self.rest_s:
            p = 1.0  # dropped and lying in the basket
        elif self.direction is Direction.OUT_OF and self.start_s - self.rest_s <= t < self.start_s:
            p = 0.0  # lying in the basket until picked up
        elif p < 0.0 or p >= 1.0:
            return None
        w, h = self.size
        outside = -h / 2  # centre half a height above the top edge: just out of view
        if self.direction is Direction.INTO:
            cy = outside + (DEEP_Y - outside) * p
        elif self.direction is Direction.OUT_OF:
            cy = DEEP_Y + (outside - DEEP_Y) * p
        elif p < 0.25:
            cy = outside + (HOVER_Y - outside) * (p / 0.25)
        elif p < 0.75:
            cy = HOVER_Y + 0.02 * math.sin(2 * math.pi * (p - 0.25) * 3)
        else:
            cy = HOVER_Y + (outside - HOVER_Y) * ((p - 0.75) / 0.25)
        cx = self.x + 0.03 * math.sin(2 * math.pi * p)  # a hand never moves in a straight line
        return (cx - w / 2, cy - h / 2, w, h)


@dataclass(frozen=True, slots=True)
class Scene:
    """A script of items over ``duration_s`` seconds; ``loop`` replays it forever."""

    items: tuple[ScriptedItem, ...]
    duration_s: float
    loop: bool = False


SCENES: dict[str, Scene] = {
    # A red box goes in and lies in the basket, a green one is held and put back, the red one
    # comes out again.
    "demo": Scene(
        (
            ScriptedItem(Direction.INTO, 1.0, rest_s=6.0),
            ScriptedItem(Direction.HELD, 4.0, duration_s=2.4, color=(60, 180, 60), x=0.3),
            ScriptedItem(Direction.OUT_OF, 8.2),
        ),
        duration_s=12.0,
        loop=True,
    ),
    "idle": Scene((), duration_s=10.0, loop=True),
    "into": Scene((ScriptedItem(Direction.INTO, 0.5),), duration_s=3.5),
    "out_of": Scene((ScriptedItem(Direction.OUT_OF, 0.5),), duration_s=3.5),
    "held": Scene((ScriptedItem(Direction.HELD, 0.5, duration_s=2.4),), duration_s=5.0),
    "in_and_out": Scene(
        (ScriptedItem(Direction.INTO, 0.5, rest_s=4.0), ScriptedItem(Direction.OUT_OF, 5.7)),
        duration_s=10.5,
    ),
}


def scene(name: str) -> Scene:
    """A named scene from :data:`SCENES`."""
    return SCENES[name]


def render_background(width: int, height: int, seed: int) -> list[Image]:
    """Basket floor with a wire grid, plus a few sensor-noise variants to cycle through.

    Noise is precomputed because drawing fresh Gaussian noise for every 640×480 frame would cost
    more than the whole motion gate; cycling a handful still makes consecutive frames differ the
    way a real sensor's do.
    """
    rng = np.random.default_rng(seed)
    base = np.full((height, width, 3), (105, 110, 112), dtype=np.uint8)
    step = max(8, width // 16)
    for x in range(step // 2, width, step):
        cv2.line(base, (x, 0), (x, height - 1), (70, 72, 75), 2)
    for y in range(step // 2, height, step):
        cv2.line(base, (0, y), (width - 1, y), (70, 72, 75), 2)
    variants = []
    for _ in range(_NOISE_VARIANTS):
        noise = rng.normal(0.0, 3.0, size=(height, width, 1))
        variants.append(as_image(np.clip(base.astype(np.float32) + noise, 0, 255)))
    return variants


class SyntheticSource:
    """Rendered frames of a :class:`Scene`; implements :class:`vision.sources.FrameSource`."""

    def __init__(
        self,
        scene: Scene,
        *,
        width: int = 640,
        height: int = 480,
        fps: float = 15.0,
        seed: int = 0,
        realtime: bool = True,
        loop: bool | None = None,
        name: str = "synthetic",
    ) -> None:
        if fps <= 0:
            raise ValueError("fps must be positive")
        self.scene = scene
        self._width = width
        self._height = height
        self._fps = fps
        self._seed = seed
        self._loop = scene.loop if loop is None else loop
        self._backgrounds: list[Image] = []
        self._index = 0
        self._frames_per_pass = max(1, round(scene.duration_s * fps))
        self.description = name
        self.live = False
        self.realtime = realtime
        self.nominal_fps: float | None = fps

    def open(self) -> None:
        """Prepare the background once; a reopen continues where the stream was."""
        if not self._backgrounds:
            self._backgrounds = render_background(self._width, self._height, self._seed)

    def boxes_at(
        self, media_t: float
    ) -> list[tuple[ScriptedItem, tuple[float, float, float, float]]]:
        """Ground truth: the items in view at ``media_t`` and their boxes (frame fractions)."""
        t = media_t % self.scene.duration_s if self._loop else media_t
        found = []
        for item in self.scene.items:
            box = item.box_at(t)
            if box is not None:
                found.append((item, box))
        return found

    def read(self) -> SourceFrame | None:
        """Render the next frame; ``None`` after one pass of a scene that does not loop."""
        if not self._backgrounds:
            raise RuntimeError("SyntheticSource.read before open")
        if not self._loop and self._index >= self._frames_per_pass:
            return None
        media_t = self._index / self._fps
        image = self._backgrounds[self._index % len(self._backgrounds)].copy()
        for item, box in self.boxes_at(media_t):
            self._draw(image, item, box)
        self._index += 1
        return SourceFrame(image, media_t)

    def _draw(
        self, image: Image, item: ScriptedItem, box: tuple[float, float, float, float]
    ) -> None:
        x, y, w, h = box
        x0, y0 = round(x * self._width), round(y * self._height)
        x1, y1 = round((x + w) * self._width), round((y + h) * self._height)
        cv2.rectangle(image, (x0, y0), (x1, y1), item.color, -1)
        cv2.rectangle(image, (x0, y0), (x1, y1), (20, 20, 20), 2)
        # A label band, so the box looks like a product and has texture for the recogniser.
        band_y0, band_y1 = y0 + (y1 - y0) // 3, y0 + (y1 - y0) // 2
        cv2.rectangle(image, (x0 + 4, band_y0), (x1 - 4, band_y1), (235, 235, 235), -1)

    def close(self) -> None:
        """Nothing to release; the background stays rendered for a reopen."""
