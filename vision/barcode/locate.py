"""Find barcode-like regions and cut them out upright: the reader's rotation and crop stage.

A 1-D barcode is a patch of dense, parallel edges. The structure tensor of the image gradient,
averaged over small cells, says per cell how much edge energy there is and how coherent its
orientation is (1 = all edges parallel). Cells with high energy and high coherence are grouped
into regions; each region's mean gradient orientation is the direction *across* the bars. The
region is then resampled with that direction horizontal (bars vertical), optionally upscaled, so
zbar and zxing-cpp see an upright symbol whatever its rotation in the frame. This costs about a
millisecond on a 640x480 frame, far less than decoding the frame at several rotations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from vision.barcode.arrays import Affine, Floats, Gray, f32, u8


@dataclass(frozen=True, slots=True)
class Region:
    """A barcode-like region: a rotated rectangle in image coordinates.

    ``center`` (x, y); ``length`` the extent across the bars (along ``angle``), ``height`` along
    the bars; ``angle`` the direction across the bars in degrees (0 = bars vertical);
    ``score`` edge energy times coherence summed over the region (larger is more barcode-like).
    """

    center: tuple[float, float]
    length: float
    height: float
    angle: float
    score: float
    coherence: float


@dataclass(frozen=True, slots=True)
class LocateSettings:
    """Tuning of :func:`find_regions` (defaults measured on the benchmark photos)."""

    cell_px: int = 6
    min_coherence: float = 0.75
    min_energy_ratio: float = 0.2
    min_cells: int = 6
    max_angle_spread_deg: float = 12.0
    max_regions: int = 4
    work_max_side: int = 800


def _tensor_cells(gray: Gray, cell: int) -> tuple[Floats, Floats, Floats]:
    img = gray.astype(np.float32)
    gx = cv2.Scharr(img, cv2.CV_32F, 1, 0)
    gy = cv2.Scharr(img, cv2.CV_32F, 0, 1)
    h, w = gray.shape
    size = (max(1, w // cell), max(1, h // cell))
    jxx = cv2.resize(gx * gx, size, interpolation=cv2.INTER_AREA)
    jyy = cv2.resize(gy * gy, size, interpolation=cv2.INTER_AREA)
    jxy = cv2.resize(gx * gy, size, interpolation=cv2.INTER_AREA)
    # Average over 3x3 cells: a window wide enough to span several bars of a small code.
    return f32(cv2.blur(jxx, (3, 3))), f32(cv2.blur(jyy, (3, 3))), f32(cv2.blur(jxy, (3, 3)))


def find_regions(gray: Gray, settings: LocateSettings | None = None) -> tuple[Region, ...]:
    """Barcode-like regions of a grayscale image, most barcode-like first."""
    s = settings or LocateSettings()
    h0, w0 = gray.shape
    scale = 1.0
    work = gray
    if max(h0, w0) > s.work_max_side:
        scale = s.work_max_side / max(h0, w0)
        work = u8(
            cv2.resize(gray, (round(w0 * scale), round(h0 * scale)), interpolation=cv2.INTER_AREA)
        )
    jxx, jyy, jxy = _tensor_cells(work, s.cell_px)
    energy = jxx + jyy
    diff = jxx - jyy
    anis = np.sqrt(diff * diff + 4.0 * jxy * jxy)
    coherence = anis / (energy + 1e-6)
    peak = float(np.percentile(energy, 99.5)) if energy.size else 0.0
    # Absolute floor: Scharr's squared response to a 20-grey-level step, so a flat or noisy
    # frame yields no region at all rather than its own strongest patches.
    floor = max(peak * s.min_energy_ratio, (20.0 * 16.0) ** 2 / 9.0)
    mask = u8((coherence > s.min_coherence) & (energy > floor))
    mask = u8(cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    regions: list[Region] = []
    cell = s.cell_px / scale
    angle = 0.5 * np.arctan2(2.0 * jxy, diff)
    for label in range(1, count):
        if stats[label, cv2.CC_STAT_AREA] < s.min_cells:
            continue
        ys, xs = np.nonzero(labels == label)
        # Mean orientation of the doubled angle, weighted by energy: the tensor's own average.
        theta = 0.5 * math.atan2(float(np.sum(2.0 * jxy[ys, xs])), float(np.sum(diff[ys, xs])))
        # Keep the cells whose edges run with the region's: text and package edges that touch
        # the code have other orientations and would drag its outline (and the crop) away.
        delta = np.abs(((angle[ys, xs] - theta) + math.pi / 2) % math.pi - math.pi / 2)
        keep = delta < math.radians(s.max_angle_spread_deg)
        if int(np.count_nonzero(keep)) < s.min_cells:
            continue
        ys, xs = ys[keep], xs[keep]
        weights = energy[ys, xs] * coherence[ys, xs]
        c, sn = math.cos(theta), math.sin(theta)
        px = (xs.astype(np.float64) + 0.5) * cell
        py = (ys.astype(np.float64) + 0.5) * cell
        u = px * c + py * sn
        v = -px * sn + py * c
        umin, umax = float(u.min()) - cell, float(u.max()) + cell
        vmin, vmax = float(v.min()) - cell, float(v.max()) + cell
        uc, vc = (umin + umax) / 2, (vmin + vmax) / 2
        center = (uc * c - vc * sn, uc * sn + vc * c)
        coh = float(np.sum(weights) / np.sum(energy[ys, xs]))
        regions.append(
            Region(
                center,
                umax - umin,
                vmax - vmin,
                math.degrees(theta),
                float(np.sum(weights)) * cell * cell,
                coh,
            )
        )
    regions.sort(key=lambda r: r.score, reverse=True)
    return tuple(regions[: s.max_regions])


def upright_crop(
    gray: Gray,
    region: Region,
    *,
    zoom: float = 1.0,
    margin: float = 0.12,
    min_margin_px: float = 12.0,
    max_side: int = 1600,
) -> tuple[Gray, Affine]:
    """Cut ``region`` out with its bars vertical, scaled by ``zoom``.

    The crop extends ``margin`` of the length (at least ``min_margin_px``) beyond each end,
    for the quiet zones and the guard bars the cell grid may have clipped. Returns the crop and
    the 2x3 affine that maps crop coordinates back to image coordinates.
    """
    pad_u = max(region.length * margin, min_margin_px)
    pad_v = max(region.height * 0.1, min_margin_px / 2)
    out_w = (region.length + 2 * pad_u) * zoom
    out_h = (region.height + 2 * pad_v) * zoom
    if max(out_w, out_h) > max_side:
        zoom *= max_side / max(out_w, out_h)
        out_w = (region.length + 2 * pad_u) * zoom
        out_h = (region.height + 2 * pad_v) * zoom
    theta = math.radians(region.angle)
    c, s = math.cos(theta), math.sin(theta)
    # crop (x, y) -> image: centre + R(theta) @ ((x - w/2, y - h/2) / zoom)
    back = np.array(
        [
            [c / zoom, -s / zoom, 0.0],
            [s / zoom, c / zoom, 0.0],
        ]
    )
    back[0, 2] = region.center[0] - back[0, 0] * out_w / 2 - back[0, 1] * out_h / 2
    back[1, 2] = region.center[1] - back[1, 0] * out_w / 2 - back[1, 1] * out_h / 2
    size = (max(8, round(out_w)), max(8, round(out_h)))
    interp = cv2.INTER_CUBIC if zoom > 1.2 else cv2.INTER_LINEAR
    crop = cv2.warpAffine(
        gray,
        back,
        size,
        flags=interp | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return u8(crop), back


def map_points(
    points: tuple[tuple[float, float], ...], affine: Affine
) -> tuple[tuple[float, float], ...]:
    """Apply a 2x3 affine to points."""
    return tuple(
        (
            float(affine[0, 0] * x + affine[0, 1] * y + affine[0, 2]),
            float(affine[1, 0] * x + affine[1, 1] * y + affine[1, 2]),
        )
        for x, y in points
    )
