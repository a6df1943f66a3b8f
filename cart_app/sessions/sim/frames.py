"""What the basket camera sees during a generated trip: product renders moving through the opening.

Geometry and motion are :class:`vision.synthetic.ScriptedItem`'s (the motion the gate and the
tracker are tested against); the pixels are :mod:`vision.render.products`' renders of the demo
store's products (packaging print, real EAN/UPC symbols, produce) at the camera's scale. A
camera at ``height`` pixels sees the 640×480 reference camera's field of view at
``height / 480`` of its resolution, so a 320×240 camera shows a milk carton 150 px tall.

Frames are rendered only around item passes (from a little before to after the tracker has
ended the track and the motion gate has gone back to sleep), so a trip of 40 items is a few
hundred small frames; between passes the basket opening is still and a live camera's frames
would only be gated.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from vision.render.products import (
    CatalogProduct,
    Cutout,
    Side,
    group_cutouts,
    paste,
    render_cutout,
)
from vision.synthetic import ScriptedItem, render_background
from vision.types import Direction

Bgr = npt.NDArray[np.uint8]

BAG = ":bag"
"""Product key of the shopper's own bag (drawn here: the store renders sell no bags)."""
LEAD_S = 0.4
"""Frames start this long before a pass, so the motion gate has a still background."""
TAIL_S = 1.4
"""… and go on this long after it: the track ends (0.4 s unseen) and the gate sleeps (1 s)."""


@dataclass(frozen=True, slots=True)
class PassSpec:
    """One item's (or a stack's) pass through the basket opening."""

    product: CatalogProduct
    direction: Direction
    start: float
    duration: float = 1.2
    count: int = 1
    side: Side = "front"
    x: float = 0.5
    view: int = 0

    @property
    def end(self) -> float:
        """When the item is out of the picture."""
        return self.start + self.duration


@functools.lru_cache(maxsize=512)
def _sprite(product: CatalogProduct, view: int, side: Side, count: int, scale: float) -> Cutout:
    cutout = _bag(view) if product.sku == BAG else render_cutout(product, view=view, side=side)
    cutout = group_cutouts(cutout, count, step=0.8)
    if scale == 1.0:
        return cutout
    bgr = cv2.resize(cutout.bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(cutout.alpha, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    return Cutout(np.asarray(bgr, np.uint8), np.asarray(alpha, np.float32))


def _bag(view: int) -> Cutout:
    """A folded reusable shopping bag: cloth of one colour with a seam and two handles."""
    rng = np.random.default_rng(7919 + view)
    w, h = 210, 230
    colour = tuple(int(c) for c in rng.integers(30, 200, size=3))
    mask = np.zeros((h, w), np.uint8)
    body = np.array([[15, 70], [w - 15, 70], [w - 5, h - 5], [5, h - 5]], np.int32)
    cv2.fillPoly(mask, [body], 255)
    for cx in (w // 3, 2 * w // 3):
        cv2.ellipse(mask, (cx, 70), (28, 60), 0, 180, 360, 255, 9)
    bgr = np.zeros((h, w, 3), np.uint8)
    bgr[:] = colour
    weave = rng.normal(0, 6, size=(h, w, 1))
    bgr = np.clip(bgr.astype(np.float32) + weave, 0, 255).astype(np.uint8)
    dark = tuple(max(0, c - 50) for c in colour)
    cv2.line(bgr, (20, 95), (w - 20, 95), dark, 3)
    alpha = cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (3, 3), 0)
    return Cutout(bgr, np.asarray(alpha, np.float32))


class CameraScene:
    """Renders one camera's frames for a list of passes."""

    def __init__(self, width: int, height: int, fps: float, seed: int) -> None:
        self.width, self.height, self.fps = width, height, fps
        self.scale = height / 480.0
        self._floors = render_background(width, height, seed)

    def windows(self, passes: Sequence[PassSpec]) -> list[tuple[float, float]]:
        """Merged time spans to render: each pass with its lead and tail."""
        spans = sorted((p.start - LEAD_S, p.end + TAIL_S) for p in passes)
        merged: list[tuple[float, float]] = []
        for start, end in spans:
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged

    def frames(self, passes: Sequence[PassSpec], origin: float) -> Iterator[tuple[float, Bgr]]:
        """(time, image) of every frame, on a fixed grid of ``1 / fps`` from ``origin``."""
        period = 1.0 / self.fps
        for start, end in self.windows(passes):
            k = math.ceil((start - origin) / period)
            while (t := origin + k * period) <= end:
                yield round(t, 6), self.render(passes, t, k)
                k += 1

    def render(self, passes: Sequence[PassSpec], t: float, index: int) -> Bgr:
        """The frame at ``t`` (``index`` picks the sensor-noise variant)."""
        image = self._floors[index % len(self._floors)].copy()
        for spec in passes:
            if not spec.start - 0.1 <= t <= spec.end + 0.1:
                continue
            sprite = _sprite(spec.product, spec.view, spec.side, spec.count, self.scale)
            h, w = sprite.alpha.shape
            item = ScriptedItem(
                spec.direction,
                spec.start,
                spec.duration,
                size=(w / self.width, h / self.height),
                x=spec.x,
            )
            box = item.box_at(t)
            if box is not None:
                paste(image, sprite, round(box[0] * self.width), round(box[1] * self.height))
        return image
