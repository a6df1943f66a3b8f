"""Put a rendered symbol into a camera-like scene: a label on a package, seen imperfectly.

:func:`compose` pastes the symbol (on its white label) onto a product-like background (a
coloured, shaded package with print on it), under a perspective view and rotation, then
degrades the frame as a cart camera does: defocus, motion blur, sensor noise, a specular glare
spot, faded ink and JPEG compression. Everything is drawn from a seeded generator, so a test
case is a (symbol, :class:`Augment`, seed) triple and always the same image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from vision.barcode.arrays import Gray, f32, u8

Bgr = npt.NDArray[np.uint8]
Quad = tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class Augment:
    """How the scene is seen. Zero values mean "not applied"."""

    angle_deg: float = 0.0
    """In-plane rotation of the label."""
    perspective: float = 0.0
    """Random shift of each label corner, as a fraction of the label size (0.15 is strong)."""
    scale: float = 1.0
    """Label size relative to its rendered size."""
    blur_sigma: float = 0.0
    """Gaussian defocus, in scene pixels."""
    motion_px: int = 0
    """Length of a motion blur, in scene pixels (``motion_angle_deg`` from horizontal)."""
    motion_angle_deg: float = 0.0
    noise_sigma: float = 0.0
    """Gaussian sensor noise, in grey levels."""
    glare: float = 0.0
    """Strength (0..1) of a specular highlight over part of the label."""
    contrast: float = 1.0
    """Ink darkness: 1 is black ink, 0.5 a faded print."""
    jpeg_quality: int = 0
    """JPEG round trip at this quality (0: none)."""


def _background(rng: np.random.Generator, width: int, height: int) -> Bgr:
    """A package: a shaded colour, some print (text, stripes, a logo) in other colours."""
    base = rng.integers(40, 230, size=3)
    tint = rng.integers(40, 230, size=3)
    ramp = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :, None]
    img = (base[None, None, :] * (1 - ramp) + tint[None, None, :] * ramp).astype(np.float32)
    img = np.repeat(img, height, axis=0)
    canvas = img.astype(np.uint8)
    for _ in range(int(rng.integers(3, 7))):
        colour = tuple(int(c) for c in rng.integers(0, 255, size=3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        words = "".join(chr(int(c)) for c in rng.integers(65, 91, size=int(rng.integers(4, 12))))
        cv2.putText(
            canvas,
            words,
            (x - width // 4, y),
            cv2.FONT_HERSHEY_SIMPLEX,
            float(rng.uniform(0.6, 2.0)),
            colour,
            int(rng.integers(1, 4)),
            cv2.LINE_AA,
        )
    colour = tuple(int(c) for c in rng.integers(0, 255, size=3))
    cv2.circle(
        canvas,
        (int(rng.integers(0, width)), int(rng.integers(0, height))),
        int(rng.integers(20, 80)),
        colour,
        -1,
        cv2.LINE_AA,
    )
    return canvas


def _label_quad(
    rng: np.random.Generator, label: tuple[float, float], aug: Augment, frame: tuple[int, int]
) -> npt.NDArray[np.float32]:
    """Where the label's corners land in the scene."""
    w, h = label
    width, height = frame
    # A label larger than the frame is shrunk to fit (cameras frame the item, not the label).
    fit = min(1.0, 0.9 * width / max(w, h), 0.9 * height / max(w, h))
    sw, sh = w * aug.scale * fit, h * aug.scale * fit
    theta = math.radians(aug.angle_deg)
    c, s = math.cos(theta), math.sin(theta)
    corners = np.array([[-sw / 2, -sh / 2], [sw / 2, -sh / 2], [sw / 2, sh / 2], [-sw / 2, sh / 2]])
    jitter = rng.uniform(-aug.perspective, aug.perspective, size=(4, 2)) * [sw, sh]
    corners = corners + jitter
    rotated = corners @ np.array([[c, s], [-s, c]])
    # Keep the label inside the frame, placed off-centre where there is room.
    span = rotated.max(axis=0) - rotated.min(axis=0)
    room_x = max(0.0, (width - span[0]) / 2 - 4)
    room_y = max(0.0, (height - span[1]) / 2 - 4)
    cx = width / 2 + rng.uniform(-room_x, room_x) * 0.8
    cy = height / 2 + rng.uniform(-room_y, room_y) * 0.8
    return f32(rotated + np.array([cx, cy]))


def _glare(
    rng: np.random.Generator,
    img: npt.NDArray[np.float32],
    quad: npt.NDArray[np.float32],
    strength: float,
) -> None:
    """A soft white ellipse over part of the label (a reflection on glossy film)."""
    h, w = img.shape[:2]
    centre = quad.mean(axis=0) + rng.uniform(-0.3, 0.3, size=2) * (
        quad.max(axis=0) - quad.min(axis=0)
    )
    size = (quad.max(axis=0) - quad.min(axis=0)) * rng.uniform(0.15, 0.3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, math.pi)
    dx, dy = xx - centre[0], yy - centre[1]
    u = dx * math.cos(angle) + dy * math.sin(angle)
    v = -dx * math.sin(angle) + dy * math.cos(angle)
    blob = np.exp(-0.5 * ((u / max(size[0], 1)) ** 2 + (v / max(size[1] / 2, 1)) ** 2))
    img += (255.0 * strength * blob)[:, :, None]


def compose(
    symbol: Gray,
    augment: Augment | None = None,
    *,
    size: tuple[int, int] = (640, 480),
    seed: int = 0,
) -> tuple[Bgr, Quad]:
    """A BGR scene of ``size`` (width, height) holding ``symbol``, and the symbol's corners.

    The symbol keeps its white margin (its quiet zones) as the label it is printed on.
    """
    aug = augment or Augment()
    rng = np.random.default_rng(seed)
    width, height = size
    scene = _background(rng, width, height).astype(np.float32)
    ink = 255.0 - (255.0 - symbol.astype(np.float32)) * aug.contrast
    h, w = symbol.shape
    quad = _label_quad(rng, (float(w), float(h)), aug, (width, height))
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    homography = cv2.getPerspectiveTransform(src, quad)
    label = cv2.warpPerspective(
        ink,
        homography,
        (width, height),
        flags=cv2.INTER_AREA if aug.scale < 1 else cv2.INTER_LINEAR,
    )
    mask = cv2.warpPerspective(
        np.ones((h, w), np.float32), homography, (width, height), flags=cv2.INTER_LINEAR
    )
    scene = scene * (1 - mask[:, :, None]) + label[:, :, None] * mask[:, :, None]
    if aug.glare > 0:
        _glare(rng, scene, quad, aug.glare)
    if aug.blur_sigma > 0:
        scene = f32(cv2.GaussianBlur(scene, (0, 0), aug.blur_sigma))
    if aug.motion_px > 1:
        kernel = np.zeros((aug.motion_px, aug.motion_px), np.float32)
        kernel[aug.motion_px // 2, :] = 1.0 / aug.motion_px
        rot = cv2.getRotationMatrix2D(
            ((aug.motion_px - 1) / 2, (aug.motion_px - 1) / 2), aug.motion_angle_deg, 1.0
        )
        kernel = f32(cv2.warpAffine(kernel, rot, kernel.shape[::-1]))
        kernel /= max(float(kernel.sum()), 1e-6)
        scene = f32(cv2.filter2D(scene, -1, kernel))
    if aug.noise_sigma > 0:
        scene = scene + rng.normal(0.0, aug.noise_sigma, size=scene.shape).astype(np.float32)
    out: Bgr = np.clip(scene, 0, 255).astype(np.uint8)
    if aug.jpeg_quality > 0:
        ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, aug.jpeg_quality])
        if ok:
            out = u8(cv2.imdecode(data, cv2.IMREAD_COLOR))
    # The symbol's own corners (inside the label's white margin) in the scene.
    corners = cv2.perspectiveTransform(src.reshape(1, 4, 2), homography).reshape(4, 2)
    return out, tuple((float(x), float(y)) for x, y in corners)
