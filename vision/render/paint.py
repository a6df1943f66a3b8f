"""Drawing helpers for the demo store's product art: a canvas with coverage, shading, texture.

Products are drawn as *cut-outs*: a BGR image plus an alpha mask, so that the same drawing can
be laid on a basket floor for enrolment renders and pasted into camera frames by the demo
camera. Everything is float32 in 0..255 while drawing and randomness always comes from a
``numpy.random.Generator`` the caller seeds, so a drawing is a pure function of its inputs.

Shading is the one trick that makes flat polygons read as objects: :func:`shade` turns the
mask's distance transform into a height field (a dome over the shape), takes its surface
normals and lights them (Lambert plus a specular spot). It works for any outline, from an
apple to a cucumber, without modelling each one in 3-D.
"""

from __future__ import annotations

import math
import unicodedata
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

Bgr = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]
Colour = tuple[float, float, float]
"""A BGR colour, 0..255."""
Points = Sequence[tuple[float, float]]


def seed_of(*parts: object) -> int:
    """A stable seed from strings and numbers (``hash()`` is salted per process)."""
    return zlib.crc32("\x1f".join(str(p) for p in parts).encode("utf-8"))


def ascii_text(text: str) -> str:
    """``text`` without accents: OpenCV's Hershey fonts only draw ASCII (Äpple → Apple)."""
    folded = unicodedata.normalize("NFKD", text)
    return "".join(c for c in folded if c.isascii() and (c.isprintable() or c == " "))


@dataclass(slots=True)
class Canvas:
    """A drawing in progress: colour (float BGR) and coverage (alpha 0..1), same size."""

    bgr: Floats
    alpha: Floats

    @classmethod
    def blank(cls, width: int, height: int) -> Canvas:
        return cls(np.zeros((height, width, 3), np.float32), np.zeros((height, width), np.float32))

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.bgr.shape[1], self.bgr.shape[0]

    def layer(self, colour: Floats | Colour, mask: Floats) -> None:
        """Paint ``colour`` (a BGR triple or a per-pixel image) where ``mask`` covers (0..1)."""
        m = mask[:, :, None]
        paint = np.asarray(colour, np.float32)
        self.bgr[:] = self.bgr * (1 - m) + paint * m
        self.alpha[:] = np.maximum(self.alpha, mask)

    def paint(self, colour: Floats | Colour, mask: Floats) -> None:
        """Like :meth:`layer` but only where the canvas is already covered (print on a pack)."""
        self.layer(colour, mask * self.alpha)

    def to_u8(self) -> tuple[Bgr, Floats]:
        """(BGR uint8, alpha float32) for compositing."""
        return np.clip(self.bgr, 0, 255).astype(np.uint8), self.alpha.copy()


def poly_mask(size: tuple[int, int], points: Points, *, feather: float = 0.8) -> Floats:
    """Coverage of a filled polygon, antialiased (drawn 4x oversampled in fixed point)."""
    width, height = size
    mask = np.zeros((height, width), np.uint8)
    pts = np.round(np.asarray(points, np.float64) * 16).astype(np.int32)
    cv2.fillPoly(mask, [pts], 255, cv2.LINE_AA, shift=4)
    out = mask.astype(np.float32) / 255.0
    if feather > 0:
        out = np.asarray(cv2.GaussianBlur(out, (0, 0), feather), np.float32)
    return out


def ellipse_points(
    cx: float, cy: float, rx: float, ry: float, angle_deg: float = 0.0, *, n: int = 90
) -> list[tuple[float, float]]:
    """An ellipse outline as a polygon."""
    a = math.radians(angle_deg)
    out = []
    for i in range(n):
        t = 2 * math.pi * i / n
        x, y = rx * math.cos(t), ry * math.sin(t)
        out.append((cx + x * math.cos(a) - y * math.sin(a), cy + x * math.sin(a) + y * math.cos(a)))
    return out


def blob_points(
    cx: float,
    cy: float,
    radius: float,
    rng: np.random.Generator,
    *,
    wobble: float = 0.05,
    squash: float = 1.0,
    n: int = 120,
) -> list[tuple[float, float]]:
    """A lumpy round outline: a circle with a few random low harmonics (fruit, potatoes)."""
    harmonics = [(k, rng.uniform(0, wobble) / k, rng.uniform(0, 2 * math.pi)) for k in (2, 3, 4, 5)]
    out = []
    for i in range(n):
        t = 2 * math.pi * i / n
        r = radius * (1 + sum(amp * math.cos(k * t + ph) for k, amp, ph in harmonics))
        out.append((cx + r * math.cos(t), cy + r * math.sin(t) * squash))
    return out


def smooth_noise(
    rng: np.random.Generator, size: tuple[int, int], sigma: float, *, amount: float = 1.0
) -> Floats:
    """Zero-mean noise blurred to features of about ``sigma`` px, scaled to unit std × amount."""
    width, height = size
    raw = rng.standard_normal((height, width)).astype(np.float32)
    if sigma > 0:
        raw = np.asarray(cv2.GaussianBlur(raw, (0, 0), sigma), np.float32)
    std = float(raw.std()) or 1.0
    return np.asarray(raw / std * amount, np.float32)


def mottle(
    rng: np.random.Generator, mask: Floats, a: Colour, b: Colour, *, sigma: float, bias: float = 0.0
) -> Floats:
    """A per-pixel colour between ``a`` and ``b`` following smooth noise (skins, peel, wax)."""
    h, w = mask.shape
    t = 1 / (1 + np.exp(-(smooth_noise(rng, (w, h), sigma) * 1.6 + bias)))
    ca, cb = np.asarray(a, np.float32), np.asarray(b, np.float32)
    return np.asarray(ca * (1 - t[:, :, None]) + cb * t[:, :, None], np.float32)


def shade(
    canvas: Canvas,
    mask: Floats,
    *,
    light: tuple[float, float] = (-0.5, -0.7),
    depth: float = 1.0,
    ambient: float = 0.45,
    gloss: float = 0.0,
    gloss_size: float = 12.0,
) -> None:
    """Light the painted region ``mask`` as a dome (see the module docstring).

    ``light`` is the direction the light comes from in image coordinates (up-left by default);
    ``depth`` how round the object is; ``gloss`` the strength of a white specular spot.
    """
    binary = (mask > 0.5).astype(np.uint8)
    if not binary.any():
        return
    dist = cv2.distanceTransform(binary, cv2.DIST_L2, 5).astype(np.float32)
    peak = max(float(dist.max()), 1.0)
    d = np.clip(dist / peak, 0, 1)
    height = np.sqrt(np.clip(1 - (1 - d) ** 2, 0, 1)) * peak * depth
    height = np.asarray(cv2.GaussianBlur(height, (0, 0), max(1.0, peak * 0.08)), np.float32)
    gy, gx = np.gradient(height)
    nz = np.ones_like(gx)
    norm = np.sqrt(gx**2 + gy**2 + nz**2)
    lx, ly = light
    lz = 1.0
    ln = math.sqrt(lx * lx + ly * ly + lz * lz)
    lambert = np.clip((-gx * lx - gy * ly + nz * lz) / (norm * ln), 0, 1)
    factor = ambient + (1 - ambient) * lambert * 1.25
    m = mask[:, :, None]
    canvas.bgr[:] = canvas.bgr * (1 - m) + canvas.bgr * factor[:, :, None] * m
    if gloss > 0:
        spec = np.clip(lambert, 0, 1) ** gloss_size * gloss * 255.0
        canvas.bgr[:] = canvas.bgr + (spec * mask)[:, :, None]


def speckle(
    canvas: Canvas,
    rng: np.random.Generator,
    mask: Floats,
    colour: Colour,
    *,
    count: int,
    radius: tuple[float, float] = (0.6, 1.6),
    opacity: float = 0.7,
) -> None:
    """Small dots inside ``mask`` (lenticels, pores, seeds, eyes of a potato)."""
    h, w = mask.shape
    ys, xs = np.nonzero(mask > 0.6)
    if len(xs) == 0:
        return
    dots = np.zeros((h, w), np.uint8)
    picks = rng.integers(0, len(xs), size=count)
    for i in picks:
        r = float(rng.uniform(*radius))
        cv2.circle(dots, (int(xs[i]), int(ys[i])), max(1, round(r)), 255, -1, cv2.LINE_AA)
    canvas.paint(colour, dots.astype(np.float32) / 255.0 * opacity * mask)


def stroke(size: tuple[int, int], points: Points, width: float, *, closed: bool = False) -> Floats:
    """Coverage of a polyline of ``width`` px, antialiased."""
    w, h = size
    mask = np.zeros((h, w), np.uint8)
    pts = np.round(np.asarray(points, np.float64) * 16).astype(np.int32)
    cv2.polylines(mask, [pts], closed, 255, max(1, round(width)), cv2.LINE_AA, shift=4)
    return mask.astype(np.float32) / 255.0


def text_mask(
    size: tuple[int, int],
    text: str,
    centre: tuple[float, float],
    *,
    max_width: float,
    height_px: float,
    thickness: int = 2,
    font: int = cv2.FONT_HERSHEY_DUPLEX,
) -> Floats:
    """Coverage of one line of ``text`` centred at ``centre``, shrunk to ``max_width``."""
    w, h = size
    text = ascii_text(text)
    mask = np.zeros((h, w), np.uint8)
    if not text.strip():
        return mask.astype(np.float32)
    (tw, th), _ = cv2.getTextSize(text, font, 1.0, thickness)
    scale = min(height_px / max(th, 1), max_width / max(tw, 1))
    (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
    org = (round(centre[0] - tw / 2), round(centre[1] + th / 2))
    cv2.putText(mask, text, org, font, scale, 255, thickness, cv2.LINE_AA)
    return mask.astype(np.float32) / 255.0


def wrap_words(text: str, per_line: int) -> list[str]:
    """Greedy word wrap to at most ``per_line`` characters a line."""
    lines: list[str] = []
    for word in ascii_text(text).split():
        if lines and len(lines[-1]) + 1 + len(word) <= per_line:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines
