"""Cheap motion gating on the basket opening, so heavy vision runs only while something moves.

Per frame, the camera's region of interest is shrunk to a tiny image (80×60 by default),
blurred, and compared with a running background (``cv2.accumulateWeighted``). The fraction of
pixels that differ from the background wakes the gate; the gate sleeps again after
``motion_idle_s`` without such a frame. The cost is one area resize of the ROI plus a few
operations on 4,800 pixels, so an idle cart spends almost nothing here.

Two masks come out of each frame:

* **foreground**: differs from the background. It gives the item's silhouette (blobs) and the
  changed fraction that wakes the gate.
* **moving**: differs from the previous frame. It tells a moving item from things that merely
  differ from the background: an item resting in the basket that the background has not yet
  absorbed, or the empty spot an item was just lifted from. The tracker follows moving blobs.

The background learns with time constant ``background_tau_s`` (from frame timestamps, so the
behaviour does not depend on the frame rate): slowly under moving blobs, so a passing item
leaves little ghost, and at full rate elsewhere, so an item put down in view is absorbed within
about ``2–3 × background_tau_s`` and stops keeping the gate awake.

Everything is a function of the images and their timestamps: no wall clock, no randomness.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from vision.sources import Image, as_image

Roi = tuple[float, float, float, float]
"""``(x, y, w, h)`` as fractions of the frame, as ``[[cameras]] roi`` in the configuration."""

Box = tuple[float, float, float, float]
"""``(x, y, w, h)`` as fractions of the ROI."""


def check_roi(roi: Roi) -> None:
    """Raise ``ValueError`` unless ``roi`` is a non-empty box inside the frame."""
    x, y, w, h = roi
    if not (0.0 <= x < 1.0 and 0.0 <= y < 1.0 and w > 0.0 and h > 0.0):
        raise ValueError(f"roi {roi}: x and y must lie in [0, 1) and w, h be positive")
    if x + w > 1.0 + 1e-9 or y + h > 1.0 + 1e-9:
        raise ValueError(f"roi {roi}: reaches outside the frame (x + w and y + h must be <= 1)")


def roi_pixels(roi: Roi, width: int, height: int) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)``: pixel bounds of ``roi`` in a ``width × height`` frame, never empty."""
    x, y, w, h = roi
    x0 = min(width - 1, round(x * width))
    y0 = min(height - 1, round(y * height))
    x1 = max(x0 + 1, min(width, round((x + w) * width)))
    y1 = max(y0 + 1, min(height, round((y + h) * height)))
    return x0, y0, x1, y1


@dataclass(frozen=True, slots=True)
class MotionSettings:
    """Motion gate tuning; the first two mirror ``[vision]`` in the configuration."""

    motion_threshold: float = 0.02  # changed fraction of the ROI that wakes the gate
    motion_idle_s: float = 1.0  # asleep again after this long without such a frame
    work_width: int = 80
    work_height: int = 60
    blur_kernel: int = 5  # odd; smooths sensor noise and JPEG blocks before differencing
    pixel_threshold: int = 15  # levels (of 255) a pixel must differ by, in its most changed channel
    background_tau_s: float = 1.0
    moving_rate_factor: float = 0.1  # background learning rate where items move, relative
    moving_share: float = 0.05  # a blob with this share of pixels changed since last frame moves
    min_blob_fraction: float = 0.004  # smaller blobs (of the ROI) are noise

    def __post_init__(self) -> None:
        if not 0.0 < self.motion_threshold <= 1.0:
            raise ValueError("motion_threshold must lie in (0, 1]")
        if self.motion_idle_s <= 0 or self.background_tau_s <= 0:
            raise ValueError("motion_idle_s and background_tau_s must be positive")
        if self.blur_kernel < 1 or self.blur_kernel % 2 == 0:
            raise ValueError("blur_kernel must be odd and positive")
        if self.work_width < 8 or self.work_height < 8:
            raise ValueError("the work image must be at least 8×8")


@dataclass(frozen=True, slots=True)
class Blob:
    """One connected changed region, in ROI fractions.

    ``moving`` is the share of its pixels that changed since the previous frame: near 0 for a
    resting item or a background ghost, well above 0 for an item in a hand.
    """

    box: Box
    centroid: tuple[float, float]
    area: float
    moving: float


@dataclass(frozen=True, slots=True, eq=False)
class MotionResult:
    """The gate's verdict on one frame.

    ``awake`` is the gate's state after this frame; ``woke``/``slept`` mark the transitions.
    ``blobs`` (largest first) and ``mask`` (foreground, work size, 0/255) are filled only while
    awake: an asleep gate does no blob analysis.
    """

    t: float
    fraction: float
    awake: bool
    woke: bool = False
    slept: bool = False
    blobs: tuple[Blob, ...] = ()
    mask: npt.NDArray[np.uint8] | None = None


_KERNEL3 = np.ones((3, 3), dtype=np.uint8)


class MotionGate:
    """The motion gate of one camera. Feed it every frame, in time order, from one thread."""

    def __init__(self, settings: MotionSettings | None = None, roi: Roi = (0, 0, 1, 1)) -> None:
        check_roi(roi)
        self.settings = settings or MotionSettings()
        self.roi = roi
        self._background: npt.NDArray[np.float32] | None = None
        self._previous: Image | None = None
        self._last_t: float | None = None
        self._last_motion_t: float | None = None
        self._awake = False

    @property
    def awake(self) -> bool:
        """Whether the gate currently lets frames through to recognition."""
        return self._awake

    def reset(self) -> None:
        """Forget the background and go to sleep (a new camera, a reconnect, a replay)."""
        self._background = None
        self._previous = None
        self._last_t = None
        self._last_motion_t = None
        self._awake = False

    def prepare(self, image: Image) -> Image:
        """The ROI as a small, blurred colour image: everything else works on this.

        Colour is kept on purpose: a red pack and a gray basket can have the same brightness,
        and a gray-only difference would not see the pack at all. On 80×60 pixels the three
        channels cost next to nothing.
        """
        s = self.settings
        height, width = image.shape[:2]
        x0, y0, x1, y1 = roi_pixels(self.roi, width, height)
        # Two steps: a bilinear shrink to twice the work size (it averages 2×2 samples and
        # costs a twentieth of the next step at full size), then an area average of 2×2 blocks.
        # Each work pixel still averages 16 camera pixels, which smooths sensor noise and JPEG
        # blocks; a single INTER_AREA shrink averages all 64 but costs five times as much, and
        # this resize is most of what an idle cart spends on vision.
        half = cv2.resize(
            image[y0:y1, x0:x1],
            (2 * s.work_width, 2 * s.work_height),
            interpolation=cv2.INTER_LINEAR,
        )
        small = cv2.resize(half, (s.work_width, s.work_height), interpolation=cv2.INTER_AREA)
        return as_image(cv2.GaussianBlur(small, (s.blur_kernel, s.blur_kernel), 0))

    def update(self, image: Image, t: float) -> MotionResult:
        """Judge one frame taken at ``t`` (seconds, any origin, non-decreasing)."""
        s = self.settings
        small = self.prepare(image)
        if self._background is None or self._previous is None or self._last_t is None:
            self._background = small.astype(np.float32)
            self._previous, self._last_t = small, t
            return MotionResult(t, 0.0, self._awake)
        dt = min(max(t - self._last_t, 0.0), 1.0)
        background = self._background
        foreground = _threshold(cv2.absdiff(small, as_image(cv2.convertScaleAbs(background))), s)
        moving = _threshold(cv2.absdiff(small, self._previous), s)
        fraction = cv2.countNonZero(foreground) / foreground.size

        woke = slept = False
        if fraction > s.motion_threshold:
            self._last_motion_t = t
            if not self._awake:
                self._awake = woke = True
        elif self._awake and (
            self._last_motion_t is None or t - self._last_motion_t >= s.motion_idle_s
        ):
            self._awake, slept = False, True

        blobs: tuple[Blob, ...] = ()
        protect = cv2.dilate(moving, _KERNEL3)
        if self._awake:
            blobs, moving_items = self._blobs(foreground, moving)
            protect = cv2.bitwise_or(protect, moving_items)
        rate = 1.0 - math.exp(-dt / s.background_tau_s)
        if rate > 0.0:
            # Slow where an item is moving (its whole silhouette, not only the edges that changed
            # since the last frame: a uniform pack's middle looks still), full rate elsewhere.
            cv2.accumulateWeighted(small, background, rate, mask=cv2.bitwise_not(protect))
            cv2.accumulateWeighted(small, background, rate * s.moving_rate_factor, mask=protect)
        self._previous, self._last_t = small, t

        if not self._awake:
            return MotionResult(t, fraction, False, woke, slept)
        return MotionResult(t, fraction, True, woke, slept, blobs, foreground)

    def _blobs(self, foreground: Image, moving: Image) -> tuple[tuple[Blob, ...], Image]:
        """Blobs, largest first, and a mask of the blobs that are moving."""
        s = self.settings
        # Open removes single-pixel speckle; close joins the pieces of one item (a label that
        # happens to match the basket would otherwise split it in two).
        cleaned = cv2.morphologyEx(foreground, cv2.MORPH_OPEN, _KERNEL3)
        cleaned = cv2.morphologyEx(cleaned, cv2.MORPH_CLOSE, _KERNEL3, iterations=2)
        count, labels, stats, centroids = cv2.connectedComponentsWithStats(cleaned, connectivity=8)
        width, height = s.work_width, s.work_height
        total = width * height
        blobs = []
        moving_labels = []
        for label in range(1, count):
            x, y, w, h, area = (int(v) for v in stats[label])
            if area < s.min_blob_fraction * total:
                continue
            inside = labels[y : y + h, x : x + w] == label
            moving_share = float(np.count_nonzero(moving[y : y + h, x : x + w][inside])) / area
            if moving_share >= s.moving_share:
                moving_labels.append(label)
            cx, cy = (float(v) for v in centroids[label])
            blobs.append(
                Blob(
                    box=(x / width, y / height, w / width, h / height),
                    centroid=((cx + 0.5) / width, (cy + 0.5) / height),
                    area=area / total,
                    moving=moving_share,
                )
            )
        blobs.sort(key=lambda blob: blob.area, reverse=True)
        moving_items = np.isin(labels, moving_labels).astype(np.uint8) * 255
        return tuple(blobs), as_image(moving_items)


def _threshold(diff: object, settings: MotionSettings) -> Image:
    """0/255 mask of pixels whose largest channel difference exceeds the pixel threshold."""
    largest = as_image(diff)
    if largest.ndim == 3:
        # Pairwise maxima: ``max(axis=2)`` over a 3-wide axis is twenty times slower.
        largest = np.maximum(np.maximum(largest[..., 0], largest[..., 1]), largest[..., 2])
    _, mask = cv2.threshold(largest, settings.pixel_threshold, 255, cv2.THRESH_BINARY)
    return as_image(mask)
