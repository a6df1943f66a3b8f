"""What is printed on the demo store's packs: designs, logo-like motifs, barcode symbols.

:func:`barcode_ink` draws a product's real EAN-13 / UPC-A / EAN-8 symbol (bar by bar, with
:func:`vision.render.ean.render_ean`) at a whole number of pixels a module; :func:`motif` draws
a brand's mark. :mod:`.packs` lays them out on a pack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from vision.render.ean import render_ean
from vision.render.paint import (
    Canvas,
    Colour,
    Floats,
    ellipse_points,
    poly_mask,
    seed_of,
    stroke,
)

Shape = Literal["carton", "tub", "bottle", "can", "box", "jar", "pack", "wedge"]
Motif = Literal["drop", "leaf", "sun", "wave", "fruit", "star", "oats", "berries", "stripes"]
MOTIFS: tuple[Motif, ...] = (
    "drop",
    "leaf",
    "sun",
    "wave",
    "fruit",
    "star",
    "oats",
    "berries",
    "stripes",
)

SUPERSAMPLE = 2
MODULE_PX = 1.5
"""Widest module of a printed barcode, in camera pixels."""


@dataclass(frozen=True, slots=True)
class PackDesign:
    """How one packaged product looks."""

    shape: Shape
    body: Colour
    accent: Colour
    ink: Colour
    brand: str
    motif: Motif
    motif_colour: Colour


def printed_symbol(gtin: str) -> tuple[str, str] | None:
    """(symbology, digits) a product code is printed as, or ``None`` when it is no EAN/UPC.

    Takes the code as a catalog lists it (8, 12 or 13 digits) or normalised to GTIN-14 as the
    core holds it (leading zeros): EAN-8 sits behind six zeros, UPC-A behind two, EAN-13 behind
    one. A true GTIN-14 (an outer case, printed as ITF-14) has no EAN/UPC symbol.
    """
    code = gtin.strip()
    if not code.isdigit():
        return None
    if len(code) == 14:
        if code.startswith("000000"):
            code = code[6:]
        elif code.startswith("00"):
            code = code[2:]
        elif code.startswith("0"):
            code = code[1:]
        else:
            return None
    kind = {8: "ean8", 12: "upca", 13: "ean13"}.get(len(code))
    return (kind, code) if kind else None


def brand_colour(brand: str) -> Colour:
    """The colour of a brand's band on the back of its packs: shared by the whole range."""
    rng = np.random.default_rng(seed_of("brand", brand))
    b, g, r = (float(v) for v in rng.integers(30, 140, size=3))
    return b, g, r


def motif(canvas: Canvas, design: PackDesign, box: tuple[float, float, float, float]) -> None:
    """The logo-like mark in ``box`` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, min(x1 - x0, y1 - y0) / 2
    size = canvas.size
    c = design.motif_colour
    m = design.motif
    if m == "drop":
        pts = [
            (cx + r * 0.7 * math.sin(t), cy + r * 0.3 - r * 0.7 * math.cos(t) * 0.9)
            for t in np.linspace(-math.pi * 0.75, math.pi * 0.75, 40)
        ]
        canvas.paint(c, poly_mask(size, [(cx, cy - r), *pts[::-1]]))
    elif m == "leaf":
        pts = [
            (cx + r * math.sin(t) * 0.55, cy - r * math.cos(t)) for t in np.linspace(0, math.pi, 30)
        ]
        pts += [
            (cx - r * math.sin(t) * 0.55, cy + r * math.cos(t)) for t in np.linspace(0, math.pi, 30)
        ]
        canvas.paint(c, poly_mask(size, pts))
        canvas.paint(design.body, stroke(size, [(cx, cy - r * 0.8), (cx, cy + r)], r * 0.08))
    elif m == "sun":
        canvas.paint(c, poly_mask(size, ellipse_points(cx, cy, r * 0.55, r * 0.55)))
        for k in range(12):
            a = k * math.pi / 6
            ray = [
                (cx + r * 0.68 * math.cos(a), cy + r * 0.68 * math.sin(a)),
                (cx + r * math.cos(a), cy + r * math.sin(a)),
            ]
            canvas.paint(c, stroke(size, ray, r * 0.12))
    elif m == "wave":
        for k in range(3):
            ys = [
                (x, cy + (k - 1) * r * 0.45 + r * 0.18 * math.sin((x - x0) / r * 4))
                for x in np.linspace(x0, x1, 40)
            ]
            canvas.paint(c, stroke(size, ys, r * 0.16))
    elif m == "fruit":
        canvas.paint(c, poly_mask(size, ellipse_points(cx, cy + r * 0.1, r * 0.8, r * 0.75)))
        canvas.paint(
            (60, 150, 60),
            poly_mask(size, ellipse_points(cx + r * 0.3, cy - r * 0.7, r * 0.35, r * 0.15, -30)),
        )
        canvas.paint(
            (250, 250, 250),
            poly_mask(size, ellipse_points(cx - r * 0.3, cy - r * 0.2, r * 0.15, r * 0.25, 30)),
        )
    elif m == "star":
        pts = [
            (
                cx + (r if k % 2 == 0 else r * 0.45) * math.sin(k * math.pi / 5),
                cy - (r if k % 2 == 0 else r * 0.45) * math.cos(k * math.pi / 5),
            )
            for k in range(10)
        ]
        canvas.paint(c, poly_mask(size, pts))
    elif m == "oats":
        for k in range(7):
            a = -math.pi / 2 + (k - 3) * 0.35
            gx, gy = cx + r * 0.75 * math.cos(a), cy + r * 0.2 + r * 0.75 * math.sin(a)
            canvas.paint(
                c, poly_mask(size, ellipse_points(gx, gy, r * 0.12, r * 0.25, math.degrees(a) + 90))
            )
        canvas.paint(c, stroke(size, [(cx, cy - r * 0.2), (cx, cy + r)], r * 0.08))
    elif m == "berries":
        for k, (dx, dy) in enumerate([(-0.4, 0.2), (0.35, 0.25), (0, -0.25), (-0.05, 0.55)]):
            f = 0.8 + 0.1 * k
            shade_c = (c[0] * f, c[1] * f, c[2] * f)
            canvas.paint(
                shade_c, poly_mask(size, ellipse_points(cx + dx * r, cy + dy * r, r * 0.4, r * 0.4))
            )
    else:  # stripes
        for k in range(4):
            y = y0 + (k + 0.5) * (y1 - y0) / 4
            canvas.paint(c, stroke(size, [(x0, y + r * 0.3), (x1, y - r * 0.3)], r * 0.18))


def barcode_ink(gtin: str, width_px: float, height_px: float) -> Floats | None:
    """The EAN/UPC symbol (1 = ink) within ``width_px`` × ``height_px``; ``None`` if none fits.

    Modules are a whole number of pixels (the widest that fits, at most 3 at drawing scale:
    1.5 camera pixels): resampling bars to a fractional width makes them uneven, which costs
    decoders far more than a smaller symbol does. Bars are shortened (down to 20 modules,
    from the standard's 69, as many real packs print them) to fit the height.
    """
    printed = printed_symbol(gtin)
    if printed is None:
        return None
    total = {"ean13": 113, "upca": 113, "ean8": 81}[printed[0]]
    module = min(MODULE_PX * SUPERSAMPLE, width_px // total)
    if module < 1:
        return None
    bars = int(min(35, height_px // module - 15))
    if bars < 20:
        return None
    symbol = render_ean(*printed, module_px=int(module), height_modules=bars)
    return 1.0 - symbol.astype(np.float32) / 255.0
