"""Packaged goods for the demo store: cartons, tubs, bottles, cans, boxes, jars, a gum pack.

Each pack is drawn from a :class:`PackDesign` (shape, colours, a brand word, a motif) with the
product's name printed on it and its real EAN-13 / UPC-A / EAN-8 symbol, drawn bar by bar by
:func:`vision.render.ean.render_ean`, on a white label. Packs are drawn at twice the camera's
scale and halved, which antialiases the print; the barcode's modules end up about 1.2-2 px
wide in a 640×480 frame, which the cart's reader decodes (it reads 1 px modules on clean
frames).
"""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np

from vision.render.pack_print import (
    MOTIFS,
    SUPERSAMPLE,
    PackDesign,
    Shape,
    barcode_ink,
    brand_colour,
    motif,
    printed_symbol,
)
from vision.render.paint import (
    Canvas,
    poly_mask,
    seed_of,
    shade,
    smooth_noise,
    stroke,
    text_mask,
    wrap_words,
)

SIZES: dict[Shape, tuple[int, int]] = {
    # (width, height) in camera pixels of a 640×480 basket camera: packs are drawn a little
    # wider than life so that the barcode across the front gets its pixels.
    "carton": (216, 300),
    "tub": (256, 200),
    "bottle": (216, 330),
    "can": (200, 260),
    "box": (280, 170),
    "jar": (206, 220),
    "pack": (210, 150),
    "wedge": (230, 150),
}


def _outline(shape: Shape, w: float, h: float) -> list[tuple[float, float]]:
    """The pack's silhouette in a ``w × h`` drawing box."""
    if shape == "carton":
        x0, x1 = 0.08 * w, 0.92 * w
        return [
            (x0, 0.2 * h),
            (0.3 * w, 0.08 * h),
            (0.3 * w, 0.02 * h),
            (0.7 * w, 0.02 * h),
            (0.7 * w, 0.08 * h),
            (x1, 0.2 * h),
            (x1, 0.98 * h),
            (x0, 0.98 * h),
        ]
    if shape == "tub":
        return [
            (0.03 * w, 0.1 * h),
            (0.97 * w, 0.1 * h),
            (0.86 * w, 0.98 * h),
            (0.14 * w, 0.98 * h),
        ]
    if shape == "bottle":
        pts = [(0.4 * w, 0.02 * h), (0.6 * w, 0.02 * h), (0.6 * w, 0.12 * h)]
        pts += [
            (0.6 * w + 0.32 * w * math.sin(t * math.pi / 2), 0.12 * h + 0.12 * h * t)
            for t in np.linspace(0, 1, 12)
        ]
        pts += [(0.92 * w, 0.97 * h), (0.08 * w, 0.97 * h)]
        pts += [
            (0.4 * w - 0.32 * w * math.sin(t * math.pi / 2), 0.12 * h + 0.12 * h * t)
            for t in np.linspace(1, 0, 12)
        ]
        pts += [(0.4 * w, 0.12 * h)]
        return pts
    if shape == "can":
        top = [
            (w / 2 - 0.45 * w * math.cos(t), 0.07 * h - 0.05 * h * math.sin(t))
            for t in np.linspace(0, math.pi, 24)
        ]
        bottom = [
            (w / 2 + 0.45 * w * math.cos(t), 0.93 * h + 0.05 * h * math.sin(t))
            for t in np.linspace(0, math.pi, 24)
        ]
        return top + bottom
    if shape == "jar":
        return [
            (0.12 * w, 0.02 * h),
            (0.88 * w, 0.02 * h),
            (0.88 * w, 0.14 * h),
            (0.95 * w, 0.22 * h),
            (0.95 * w, 0.96 * h),
            (0.9 * w, 0.99 * h),
            (0.1 * w, 0.99 * h),
            (0.05 * w, 0.96 * h),
            (0.05 * w, 0.22 * h),
            (0.12 * w, 0.14 * h),
        ]
    if shape == "wedge":
        return [
            (0.03 * w, 0.9 * h),
            (0.55 * w, 0.05 * h),
            (0.97 * w, 0.3 * h),
            (0.97 * w, 0.97 * h),
        ]
    return [(0.02 * w, 0.03 * h), (0.98 * w, 0.03 * h), (0.98 * w, 0.97 * h), (0.02 * w, 0.97 * h)]


def _face(shape: Shape, w: float, h: float) -> tuple[float, float, float, float]:
    """The printable front panel (x0, y0, x1, y1) inside the silhouette."""
    faces: dict[Shape, tuple[float, float, float, float]] = {
        "carton": (0.1, 0.22, 0.9, 0.96),
        "tub": (0.16, 0.22, 0.84, 0.95),
        "bottle": (0.1, 0.3, 0.9, 0.95),
        "can": (0.07, 0.14, 0.93, 0.9),
        "box": (0.05, 0.08, 0.95, 0.93),
        "jar": (0.08, 0.3, 0.92, 0.94),
        "pack": (0.05, 0.08, 0.95, 0.92),
        "wedge": (0.45, 0.45, 0.95, 0.93),
    }
    x0, y0, x1, y1 = faces[shape]
    return x0 * w, y0 * h, x1 * w, y1 * h


def _print_barcode(canvas: Canvas, gtin: str, face: tuple[float, float, float, float]) -> float:
    """A white label holding the symbol across the bottom of ``face``; returns its top edge.

    As wide as the face allows up to :data:`MODULE_PX` camera pixels a module: the cart's
    reader needs about 1.2 px a module once the pack is shaded and slightly turned.
    """
    x0, y0, x1, y1 = face
    fw, fh = x1 - x0, y1 - y0
    printed = printed_symbol(gtin)
    if printed is None:
        return y1
    ink = barcode_ink(gtin, fw * 0.99, fh * 0.5)
    if ink is None:
        return y1
    ih, iw = ink.shape
    pad = 2 * SUPERSAMPLE
    lx, ly = int(x0 + (fw - iw) / 2 - pad), int(y1 - ih - pad * 2)
    label = np.zeros(canvas.alpha.shape, np.float32)
    label[ly : ly + ih + 2 * pad, lx : lx + iw + 2 * pad] = 1.0
    canvas.paint((250, 250, 250), label)
    bars = np.zeros_like(label)
    bars[ly + pad : ly + pad + ih, lx + pad : lx + pad + iw] = ink
    canvas.paint((20, 20, 20), bars)
    return float(ly)


def _back(canvas: Canvas, design: PackDesign, face: tuple[float, float, float, float]) -> None:
    """The back panel: the brand, a nutrition table and a recycling mark, no product print.

    Two products of one range (the same brand and pack) look the same from the back, as
    real ones do: the demo uses it for an item the cameras cannot tell apart.
    """
    x0, y0, x1, y1 = face
    fw, fh = x1 - x0, y1 - y0
    w, h = canvas.size
    band = [(x0 - 4, y0), (x1 + 4, y0), (x1 + 4, y0 + fh * 0.14), (x0 - 4, y0 + fh * 0.14)]
    canvas.paint(brand_colour(design.brand), poly_mask((w, h), band))
    canvas.paint(
        (245, 245, 245),
        text_mask(
            (w, h),
            design.brand.upper(),
            ((x0 + x1) / 2, y0 + fh * 0.07),
            max_width=fw * 0.8,
            height_px=fh * 0.06,
            thickness=2 * SUPERSAMPLE,
        ),
    )
    # The range's emblem, big: what makes a brand's packs recognisable from behind.
    emblem = replace(
        design,
        motif=MOTIFS[seed_of("emblem", design.brand) % len(MOTIFS)],
        motif_colour=brand_colour(design.brand),
    )
    side = min(fw * 0.5, fh * 0.3)
    motif(
        canvas,
        emblem,
        (x1 - side - fw * 0.05, y0 + fh * 0.62, x1 - fw * 0.05, y0 + fh * 0.62 + side),
    )
    table_top, rows = y0 + fh * 0.22, 6
    for i in range(rows):
        y = table_top + i * fh * 0.06
        canvas.paint(
            (60, 60, 60), stroke((w, h), [(x0 + fw * 0.1, y), (x1 - fw * 0.1, y)], SUPERSAMPLE)
        )
        canvas.paint(
            (90, 90, 90),
            stroke(
                (w, h),
                [
                    (x0 + fw * 0.12, y + fh * 0.03),
                    (x0 + fw * (0.3 + 0.05 * (i % 3)), y + fh * 0.03),
                ],
                2 * SUPERSAMPLE,
            ),
        )
    cx, cy, r = x0 + fw * 0.2, y0 + fh * 0.8, min(fw, fh) * 0.1
    for k in range(3):
        a0 = k * 2 * math.pi / 3
        arc = [
            (cx + r * math.cos(a0 + t), cy + r * math.sin(a0 + t))
            for t in np.linspace(0.2, 1.8, 12)
        ]
        canvas.paint((60, 120, 60), stroke((w, h), arc, 2 * SUPERSAMPLE))


def draw_pack(
    design: PackDesign,
    name: str,
    gtin: str | None,
    rng: np.random.Generator,
    *,
    back: bool = False,
) -> Canvas:
    """A pack cut-out at camera scale (see :data:`SIZES`), barcode included when ``gtin``.

    ``back``: the back panel instead of the front (no name, no motif, no barcode).
    """
    cw, ch = SIZES[design.shape]
    w, h = cw * SUPERSAMPLE, ch * SUPERSAMPLE
    canvas = Canvas.blank(w, h)
    outline = poly_mask((w, h), _outline(design.shape, w, h), feather=1.0)
    grain = 1.0 + smooth_noise(rng, (w, h), 4.0, amount=0.012)
    canvas.layer(np.asarray(design.body, np.float32) * grain[:, :, None], outline)
    face = _face(design.shape, w, h)
    x0, y0, x1, y1 = face
    fw, fh = x1 - x0, y1 - y0
    tall = fh > fw * 1.3
    if back:
        _back(canvas, design, face)
        return _finish(canvas, design, (cw, ch))
    # Accent band across the upper part of the face, tilted to make the design less boxy.
    tilt = fh * 0.05
    band = [
        (x0 - 4, y0 + fh * 0.02),
        (x1 + 4, y0 + fh * 0.02 - tilt),
        (x1 + 4, y0 + fh * 0.2 - tilt),
        (x0 - 4, y0 + fh * 0.24),
    ]
    canvas.paint(design.accent, poly_mask((w, h), band))
    canvas.paint(
        design.ink if sum(design.accent) > 380 else (250, 250, 250),
        text_mask(
            (w, h),
            design.brand.upper(),
            ((x0 + x1) / 2, y0 + fh * 0.11 - tilt / 2),
            max_width=fw * 0.85,
            height_px=fh * 0.09,
            thickness=3 * SUPERSAMPLE,
        ),
    )
    motif_h = fh * (0.26 if tall else 0.34)
    if tall:
        motif_box = (x0 + fw * 0.2, y0 + fh * 0.27, x1 - fw * 0.2, y0 + fh * 0.27 + motif_h)
    else:
        motif_box = (
            x0 + fw * 0.04,
            y0 + fh * 0.28,
            x0 + fw * 0.04 + motif_h,
            y0 + fh * 0.28 + motif_h,
        )
    motif(canvas, design, motif_box)
    label_top = _print_barcode(canvas, gtin, face) if gtin else y1
    # The name in the room left between the motif and the barcode label.
    text_top = motif_box[3] + fh * 0.02 if tall else y0 + fh * 0.3
    text_x0 = x0 if tall else motif_box[2]
    lines = wrap_words(name, 14 if tall else 20)[:3]
    line_h = min(fh * 0.075, (label_top - text_top) / max(len(lines), 1))
    for i, line in enumerate(lines):
        canvas.paint(
            design.ink,
            text_mask(
                (w, h),
                line,
                ((text_x0 + x1) / 2, text_top + line_h * (i + 0.5)),
                max_width=(x1 - text_x0) * 0.9,
                height_px=line_h * 0.6,
                thickness=SUPERSAMPLE,
            ),
        )
    return _finish(canvas, design, (cw, ch))


def _finish(canvas: Canvas, design: PackDesign, size: tuple[int, int]) -> Canvas:
    """Lid or cap, shading, and the halving to camera scale."""
    w, h = canvas.size
    cw, ch = size
    if design.shape in ("tub", "jar"):  # a lid
        lid = (0.0, 0.02, 1.0, 0.12) if design.shape == "tub" else (0.1, 0.0, 0.9, 0.14)
        canvas.layer(
            design.accent,
            poly_mask(
                (w, h),
                [
                    (lid[0] * w, lid[1] * h),
                    (lid[2] * w, lid[1] * h),
                    (lid[2] * w, lid[3] * h),
                    (lid[0] * w, lid[3] * h),
                ],
            ),
        )
    if design.shape == "bottle":  # the cap
        canvas.layer(
            design.accent,
            poly_mask(
                (w, h),
                [(0.38 * w, 0.0), (0.62 * w, 0.0), (0.62 * w, 0.07 * h), (0.38 * w, 0.07 * h)],
            ),
        )
    glossy = design.shape in ("bottle", "can", "jar", "tub")
    shade(
        canvas,
        canvas.alpha,
        depth=0.35 if design.shape in ("box", "pack", "carton") else 1.0,
        ambient=0.6,
        gloss=0.25 if glossy else 0.08,
        gloss_size=30,
    )
    small = Canvas(
        np.asarray(cv2.resize(canvas.bgr, (cw, ch), interpolation=cv2.INTER_AREA), np.float32),
        np.asarray(cv2.resize(canvas.alpha, (cw, ch), interpolation=cv2.INTER_AREA), np.float32),
    )
    return small
