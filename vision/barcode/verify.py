"""Geometric checks on a read: is there a quiet zone where the symbology needs one?

The worst zbar/zxing misread is a *partial read*: a UPC-E (51 modules) or an EAN-8 (67) found
inside the bars of a longer symbol, with a check digit that happens to fit. A genuine symbol has
a blank quiet zone at each end (at least 7 modules for EAN/UPC); a partial read has more bars
there. This module measures the intensity profile across the bars just past each end of a read
and counts the edges found there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from vision.barcode.locate import Region, upright_crop

Gray = npt.NDArray[np.uint8]
Point = tuple[float, float]

MODULES = {"upce": 51, "ean8": 67, "ean13": 95, "upca": 95}
"""Symbol width in modules, guards included."""


def _scan_angle(gray: Gray, points: npt.NDArray[np.float64]) -> float | None:
    """Direction across the bars (radians) inside the read's bounding box."""
    h, w = gray.shape
    x0, y0 = np.floor(points.min(axis=0)).astype(int)
    x1, y1 = np.ceil(points.max(axis=0)).astype(int)
    pad = 4
    x0, y0 = max(0, x0 - pad), max(0, y0 - pad)
    x1, y1 = min(w, x1 + pad + 1), min(h, y1 + pad + 1)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    roi = gray[y0:y1, x0:x1].astype(np.float32)
    gx = cv2.Sobel(roi, cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(roi, cv2.CV_32F, 0, 1)
    jxx, jyy, jxy = float(np.sum(gx * gx)), float(np.sum(gy * gy)), float(np.sum(gx * gy))
    if jxx + jyy <= 0:
        return None
    return 0.5 * math.atan2(2 * jxy, jxx - jyy)


def _edges(profile: npt.NDArray[np.float64], threshold: float) -> int:
    """Edges in a 1-D profile: swings of at least ``threshold`` (hysteresis, so noise and
    slow shading do not count)."""
    if profile.size < 2:
        return 0
    count, state = 0, 0
    lo = hi = float(profile[0])
    for value in profile[1:]:
        v = float(value)
        if state == 0:
            hi, lo = max(hi, v), min(lo, v)
            if hi - v >= threshold:
                state, lo, count = -1, v, count + 1
            elif v - lo >= threshold:
                state, hi, count = 1, v, count + 1
        elif state == 1:
            if v > hi:
                hi = v
            elif hi - v >= threshold:
                state, lo, count = -1, v, count + 1
        elif v < lo:
            lo = v
        elif v - lo >= threshold:
            state, hi, count = 1, v, count + 1
    return count


def quiet_zone_edges(
    gray: Gray, points: Sequence[Point], modules: int, *, zone: float = 7.0, skip: float = 1.5
) -> tuple[int, int] | None:
    """Edges found in the quiet zones at each end of a read, or None when it cannot tell.

    ``points`` outline the read in ``gray``; ``modules`` is the symbol's width in modules. The
    zones run from ``skip`` to ``zone`` modules past each end (the skip absorbs the decoder's
    imprecision about where the symbol ends). A zone cut by the image border counts as quiet.
    """
    pts = np.asarray(points, dtype=np.float64)
    if pts.shape[0] < 2:
        return None
    theta = _scan_angle(gray, pts)
    if theta is None:
        return None
    c, s = math.cos(theta), math.sin(theta)
    u = pts[:, 0] * c + pts[:, 1] * s
    v = -pts[:, 0] * s + pts[:, 1] * c
    extent = float(u.max() - u.min())
    if extent < modules * 0.5:
        return None
    module = extent / modules
    height = max(float(v.max() - v.min()), 6 * module)
    uc, vc = float(u.max() + u.min()) / 2, float(v.max() + v.min()) / 2
    center = (uc * c - vc * s, uc * s + vc * c)
    region = Region(center, extent, height, math.degrees(theta), 0.0, 0.0)
    zoom = min(4.0, max(0.25, 3.0 / module))
    margin_modules = zone + 1.0
    crop, back = upright_crop(
        gray, region, zoom=zoom, margin=margin_modules / modules, min_margin_px=0.0
    )
    # Where the crop maps outside the image there is nothing to judge: treat as quiet.
    h, w = gray.shape
    xs = back[0, 0] * np.arange(crop.shape[1]) + back[0, 1] * (crop.shape[0] / 2) + back[0, 2]
    ys = back[1, 0] * np.arange(crop.shape[1]) + back[1, 1] * (crop.shape[0] / 2) + back[1, 2]
    inside = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
    rows = crop.shape[0]
    band = crop[rows * 3 // 8 : max(rows * 5 // 8, rows * 3 // 8 + 1)].astype(np.float64)
    profile = cv2.GaussianBlur(band.mean(axis=0).reshape(1, -1), (0, 0), 0.3 * zoom * module)
    profile = profile.reshape(-1)
    px_per_module = module * zoom
    start = margin_modules * px_per_module
    end = start + extent * zoom
    code = profile[int(start) : int(end)]
    if code.size < 4:
        return None
    threshold = 0.2 * float(np.percentile(code, 95) - np.percentile(code, 5))
    if threshold <= 2.0:
        return None

    def zone_edges(lo: float, hi: float) -> int:
        a, b = max(0, int(lo)), min(profile.size, int(hi))
        if b - a < 2 or not bool(np.all(inside[a:b])):
            return 0
        return _edges(profile[a:b], threshold)

    left = zone_edges(start - zone * px_per_module, start - skip * px_per_module)
    right = zone_edges(end + skip * px_per_module, end + zone * px_per_module)
    return left, right
