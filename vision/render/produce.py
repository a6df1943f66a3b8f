"""Fruit and vegetables for the demo store, drawn as shaded, textured cut-outs.

Each kind is a silhouette (lumpy circles, crescents, tapered rods, clusters), a skin colour that
varies across the surface (:func:`~vision.render.paint.mottle`), the kind's texture (lenticels
on apples, pores on citrus, eyes on potatoes, a net on a galia melon, scales on a pineapple)
and dome shading with a specular spot for waxy skins. The generator passed in decides every
random choice, so the same seed draws the same apple; a different seed draws a different apple
of the same variety, which is what enrolment wants.

Sizes are camera pixels of a 640×480 basket camera; drawings are made at twice that and halved.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import cv2
import numpy as np

from vision.render.pack_print import barcode_ink
from vision.render.paint import (
    Canvas,
    Colour,
    blob_points,
    ellipse_points,
    mottle,
    poly_mask,
    shade,
    smooth_noise,
    speckle,
    stroke,
)

S = 2  # supersampling factor
Rng = np.random.Generator


def _round_fruit(
    c: Canvas,
    rng: Rng,
    circle: tuple[float, float, float],
    skin: tuple[Colour, Colour],
    *,
    blush_bias: float = 0.0,
    squash: float = 0.95,
    gloss: float = 0.35,
    pores: Colour | None = None,
    pore_count: int = 0,
    wobble: float = 0.04,
) -> None:
    """A round fruit in ``circle`` (centre x, y, radius) with a skin mottled between two colours."""
    cx, cy, r = circle
    base, blush = skin
    mask = poly_mask(c.size, blob_points(cx, cy, r, rng, wobble=wobble, squash=squash), feather=1.2)
    c.layer(mottle(rng, mask, base, blush, sigma=r * 0.25, bias=blush_bias), mask)
    streaks = smooth_noise(rng, c.size, 1.5, amount=0.05)
    c.bgr[:] = c.bgr * (1 + streaks * mask)[:, :, None]
    if pores is not None:
        speckle(c, rng, mask, pores, count=pore_count, radius=(0.6 * S, 1.2 * S), opacity=0.5)
    shade(c, mask, gloss=gloss, gloss_size=18)


def _stem(c: Canvas, cx: float, top: float, length: float, colour: Colour = (30, 60, 90)) -> None:
    c.layer(
        colour, stroke(c.size, [(cx, top + length * 0.4), (cx + length * 0.3, top - length)], 3 * S)
    )


def apple(base: Colour, blush: Colour, bias: float) -> Callable[[Rng], Canvas]:
    def draw(rng: Rng) -> Canvas:
        c = Canvas.blank(150 * S, 150 * S)
        _round_fruit(
            c,
            rng,
            (75 * S, 80 * S, 62 * S),
            (base, blush),
            blush_bias=bias,
            pores=(200, 230, 235),
            pore_count=140,
        )
        _stem(c, 75 * S, 26 * S, 14 * S)
        return c

    return draw


def citrus(colour: Colour, radius: float, dark: Colour) -> Callable[[Rng], Canvas]:
    def draw(rng: Rng) -> Canvas:
        side = int(radius * 2.3) * S
        c = Canvas.blank(side, side)
        _round_fruit(
            c,
            rng,
            (side / 2, side / 2, radius * S),
            (colour, dark),
            blush_bias=-1.5,
            squash=0.97,
            gloss=0.3,
            pores=dark,
            pore_count=int(radius * 12),
            wobble=0.02,
        )
        c.layer(
            (40, 90, 60),
            poly_mask(
                c.size, ellipse_points(side / 2, side / 2 - radius * S * 0.95, 3 * S, 2.5 * S)
            ),
        )
        return c

    return draw


def banana(rng: Rng) -> Canvas:
    c = Canvas.blank(240 * S, 170 * S)
    for k in range(4):
        off = (k - 1.5) * 16 * S
        outer = [
            (30 * S + 200 * S * t, 40 * S + off + 95 * S * math.sin(math.pi * t) ** 0.9 * 0.9)
            for t in np.linspace(0.02, 0.98, 40)
        ]
        inner = [
            (x, y - (18 * S) * math.sin(math.pi * (x / S - 30) / 200) ** 0.5 - 3 * S)
            for x, y in outer
        ]
        mask = poly_mask(c.size, outer + inner[::-1], feather=1.2)
        c.layer(mottle(rng, mask, (40, 205, 235), (50, 190, 170), sigma=20 * S, bias=-1.0), mask)
        ridge = [(x, y - 9 * S) for x, y in outer]
        c.paint((30, 160, 190), stroke(c.size, ridge, 1.2 * S) * mask * 0.5)
        speckle(c, rng, mask, (30, 70, 110), count=18, radius=(0.8 * S, 1.8 * S), opacity=0.8)
        shade(c, mask, depth=0.7, gloss=0.1)
        tip = outer[-1]
        c.layer(
            (30, 50, 70), poly_mask(c.size, ellipse_points(tip[0], tip[1] - 5 * S, 4 * S, 6 * S))
        )
    c.layer((40, 110, 120), stroke(c.size, [(26 * S, 20 * S), (40 * S, 60 * S)], 9 * S))
    return c


def pear(rng: Rng) -> Canvas:
    c = Canvas.blank(150 * S, 200 * S)
    body = blob_points(75 * S, 135 * S, 58 * S, rng, wobble=0.03)
    neck = blob_points(75 * S, 70 * S, 36 * S, rng, wobble=0.03, squash=1.3)
    mask = np.maximum(poly_mask(c.size, body, feather=1.5), poly_mask(c.size, neck, feather=1.5))
    mask = np.asarray(cv2.GaussianBlur(mask, (0, 0), 6 * S), np.float32)
    mask = np.clip((mask - 0.5) * 4 + 0.5, 0, 1)
    c.layer(mottle(rng, mask, (60, 175, 160), (50, 120, 150), sigma=18 * S, bias=-0.6), mask)
    speckle(c, rng, mask, (40, 90, 120), count=260, radius=(0.5 * S, 1.2 * S), opacity=0.6)
    shade(c, mask, gloss=0.1)
    _stem(c, 75 * S, 30 * S, 16 * S, (30, 50, 70))
    return c


def onion(rng: Rng) -> Canvas:
    c = Canvas.blank(150 * S, 170 * S)
    pts = blob_points(75 * S, 100 * S, 58 * S, rng, wobble=0.03)
    pts = [
        (x, y - max(0.0, (100 * S - y)) * 0.35 * max(0.0, 1 - abs(x - 75 * S) / (40 * S)))
        for x, y in pts
    ]
    mask = poly_mask(c.size, pts, feather=1.2)
    c.layer(mottle(rng, mask, (40, 120, 190), (30, 80, 150), sigma=12 * S), mask)
    for k in range(-4, 5):
        line = [
            (75 * S + k * 13 * S * math.sin(t * math.pi), 30 * S + 128 * S * t)
            for t in np.linspace(0.05, 0.95, 30)
        ]
        c.paint((25, 70, 130), stroke(c.size, line, 1.2 * S) * 0.6)
    shade(c, mask, gloss=0.12)
    c.layer((60, 130, 170), stroke(c.size, [(75 * S, 28 * S), (70 * S, 8 * S)], 4 * S))
    return c


def potato(rng: Rng) -> Canvas:
    c = Canvas.blank(170 * S, 130 * S)
    mask = poly_mask(
        c.size, blob_points(85 * S, 65 * S, 68 * S, rng, wobble=0.1, squash=0.72), feather=1.5
    )
    c.layer(mottle(rng, mask, (110, 170, 200), (80, 130, 165), sigma=10 * S), mask)
    speckle(c, rng, mask, (60, 90, 120), count=220, radius=(0.5 * S, 1.0 * S), opacity=0.5)
    speckle(c, rng, mask, (50, 70, 100), count=7, radius=(2.0 * S, 3.0 * S), opacity=0.8)
    shade(c, mask, gloss=0.03)
    return c


def carrots(rng: Rng) -> Canvas:
    c = Canvas.blank(260 * S, 140 * S)
    for k in range(3):
        y = (40 + k * 30) * S + rng.uniform(-4, 4) * S
        pts = [
            (60 * S, y - 13 * S),
            (240 * S, y - 2 * S),
            (246 * S, y),
            (240 * S, y + 2 * S),
            (60 * S, y + 13 * S),
        ]
        mask = poly_mask(c.size, pts, feather=1.2)
        c.layer(mottle(rng, mask, (30, 120, 240), (20, 90, 220), sigma=8 * S), mask)
        for x in np.linspace(70, 230, 14):
            c.paint(
                (20, 80, 180),
                stroke(c.size, [(x * S, y - 11 * S), (x * S + 2 * S, y + 11 * S)], S) * mask * 0.5,
            )
        shade(c, mask, depth=0.8, gloss=0.12)
        for a in (-0.5, -0.2, 0.1, 0.4):
            c.layer(
                (40, 140, 60),
                stroke(
                    c.size,
                    [(62 * S, y), (62 * S - 50 * S * math.cos(a), y + 50 * S * math.sin(a))],
                    3 * S,
                ),
            )
    return c


def tomato(
    rng: Rng, cx: float = 75 * S, cy: float = 78 * S, r: float = 55 * S, c: Canvas | None = None
) -> Canvas:
    c = c or Canvas.blank(150 * S, 150 * S)
    _round_fruit(
        c,
        rng,
        (cx, cy, r),
        ((40, 45, 215), (40, 70, 200)),
        blush_bias=-1.2,
        squash=0.88,
        gloss=0.55,
    )
    for k in range(5):
        a = k * 2 * math.pi / 5 + rng.uniform(-0.2, 0.2)
        leaf = [
            (cx, cy - r * 0.82),
            (cx + r * 0.35 * math.cos(a), cy - r * 0.82 + r * 0.25 * math.sin(a)),
        ]
        c.layer((40, 120, 50), stroke(c.size, leaf, r * 0.1))
    return c


def vine_tomatoes(rng: Rng) -> Canvas:
    c = Canvas.blank(240 * S, 170 * S)
    vine = [(20 * S, 40 * S), (90 * S, 30 * S), (160 * S, 38 * S), (225 * S, 30 * S)]
    c.layer((50, 110, 60), stroke(c.size, vine, 5 * S))
    for i, (x, y) in enumerate([(55, 95), (115, 110), (175, 95), (85, 60), (150, 62)]):
        tomato(rng, x * S, y * S, (36 + 3 * (i % 2)) * S, c)
    return c


def avocado(rng: Rng) -> Canvas:
    c = Canvas.blank(140 * S, 190 * S)
    body = blob_points(70 * S, 120 * S, 55 * S, rng, wobble=0.03)
    neck = blob_points(70 * S, 65 * S, 34 * S, rng, wobble=0.03, squash=1.2)
    mask = np.maximum(poly_mask(c.size, body), poly_mask(c.size, neck))
    mask = np.clip(
        (np.asarray(cv2.GaussianBlur(mask, (0, 0), 5 * S), np.float32) - 0.5) * 4 + 0.5, 0, 1
    )
    c.layer(mottle(rng, mask, (35, 70, 40), (30, 45, 45), sigma=10 * S), mask)
    bumps = smooth_noise(rng, c.size, 1.6 * S, amount=0.12)
    c.bgr[:] = c.bgr * (1 + bumps * mask)[:, :, None]
    shade(c, mask, gloss=0.15)
    _stem(c, 70 * S, 30 * S, 6 * S, (40, 60, 70))
    return c


def pineapple(rng: Rng) -> Canvas:
    c = Canvas.blank(170 * S, 300 * S)
    mask = poly_mask(c.size, ellipse_points(85 * S, 200 * S, 68 * S, 92 * S), feather=1.5)
    c.layer(mottle(rng, mask, (40, 150, 200), (30, 100, 150), sigma=15 * S), mask)
    for k in range(-8, 9):
        c.paint(
            (25, 70, 110),
            stroke(
                c.size,
                [(85 * S + k * 22 * S - 120 * S, 90 * S), (85 * S + k * 22 * S + 120 * S, 310 * S)],
                2 * S,
            )
            * mask,
        )
        c.paint(
            (25, 70, 110),
            stroke(
                c.size,
                [(85 * S + k * 22 * S + 120 * S, 90 * S), (85 * S + k * 22 * S - 120 * S, 310 * S)],
                2 * S,
            )
            * mask,
        )
    speckle(c, rng, mask, (60, 180, 230), count=90, radius=(1.5 * S, 2.5 * S), opacity=0.6)
    shade(c, mask, gloss=0.05)
    for a in np.linspace(-0.7, 0.7, 9):
        length = (70 + 40 * math.cos(a * 2)) * S
        tip = (85 * S + length * math.sin(a), 112 * S - length * math.cos(a))
        leaf = poly_mask(c.size, [(85 * S - 7 * S, 115 * S), tip, (85 * S + 7 * S, 115 * S)])
        c.layer(mottle(rng, leaf, (70, 130, 50), (50, 100, 40), sigma=5 * S), leaf)
    return c


def melon(rng: Rng) -> Canvas:
    c = Canvas.blank(230 * S, 220 * S)
    mask = poly_mask(
        c.size, blob_points(115 * S, 110 * S, 100 * S, rng, wobble=0.02, squash=0.95), feather=1.5
    )
    c.layer(mottle(rng, mask, (80, 190, 190), (70, 160, 130), sigma=30 * S), mask)
    net = np.abs(smooth_noise(rng, c.size, 2.5 * S)) < 0.18
    c.paint((185, 215, 220), net.astype(np.float32) * mask * 0.7)
    shade(c, mask, gloss=0.05)
    return c


def cucumber(rng: Rng) -> Canvas:
    c = Canvas.blank(300 * S, 90 * S)
    mask = poly_mask(c.size, ellipse_points(150 * S, 45 * S, 140 * S, 33 * S), feather=1.5)
    c.layer(mottle(rng, mask, (40, 95, 30), (60, 125, 70), sigma=6 * S, bias=-0.8), mask)
    speckle(c, rng, mask, (120, 190, 160), count=160, radius=(0.7 * S, 1.4 * S), opacity=0.6)
    shade(c, mask, gloss=0.3, depth=1.2)
    # Shrink-wrapped: a faint film sheen over it all.
    c.paint((255, 255, 255), mask * 0.05)
    return c


def pepper(rng: Rng) -> Canvas:
    c = Canvas.blank(170 * S, 180 * S)
    mask = np.zeros((180 * S, 170 * S), np.float32)
    for dx in (-28, 0, 28):
        lobe = poly_mask(
            c.size, ellipse_points((85 + dx) * S, 100 * S, 40 * S, 68 * S), feather=1.2
        )
        mask = np.maximum(mask, lobe)
    c.layer(mottle(rng, mask, (30, 30, 200), (40, 20, 160), sigma=20 * S), mask)
    for dx in (-14, 14):
        c.paint(
            (20, 20, 120),
            stroke(c.size, [((85 + dx) * S, 45 * S), ((85 + dx) * S, 160 * S)], 3 * S) * mask * 0.4,
        )
    shade(c, mask, gloss=0.7, gloss_size=25)
    c.layer((40, 110, 50), stroke(c.size, [(85 * S, 38 * S), (92 * S, 12 * S)], 8 * S))
    return c


def asparagus(gtin: str | None) -> Callable[[Rng], Canvas]:
    def draw(rng: Rng) -> Canvas:
        c = Canvas.blank(300 * S, 170 * S)
        for k in range(9):
            y = (35 + k * 12) * S + rng.uniform(-2, 2) * S
            mask = poly_mask(
                c.size,
                [
                    (20 * S, y - 5 * S),
                    (270 * S, y - 6 * S),
                    (290 * S, y),
                    (270 * S, y + 6 * S),
                    (20 * S, y + 5 * S),
                ],
            )
            c.layer(mottle(rng, mask, (60, 140, 70), (90, 170, 120), sigma=10 * S), mask)
            tip = poly_mask(c.size, ellipse_points(272 * S, y, 16 * S, 7 * S))
            c.layer(mottle(rng, tip, (90, 80, 110), (70, 110, 70), sigma=3 * S), tip)
            shade(c, np.maximum(mask, tip), depth=0.8, gloss=0.2)
        ink = barcode_ink(gtin, 175 * S, 70 * S) if gtin else None
        if ink is not None:
            # The band around the bundle carries the barcode.
            ih, iw = ink.shape
            x0, y0 = 70 * S, int(85 * S - ih / 2)
            band = np.zeros(c.alpha.shape, np.float32)
            band[y0 - 6 : y0 + ih + 6, x0 - 8 : x0 + iw + 8] = 1.0
            c.layer((245, 245, 245), band)
            bars = np.zeros_like(band)
            bars[y0 : y0 + ih, x0 : x0 + iw] = ink
            c.paint((20, 20, 20), bars)
        return c

    return draw


KINDS: dict[str, Callable[[Rng], Canvas]] = {
    "banana": banana,
    "granny-smith": apple((60, 190, 120), (80, 210, 170), -1.0),
    "pink-lady": apple((80, 190, 200), (110, 90, 230), 0.4),
    "royal-gala": apple((60, 170, 220), (40, 40, 190), 0.8),
    "orange": citrus((30, 140, 250), 62, (20, 110, 220)),
    "lime": citrus((50, 190, 110), 42, (30, 140, 70)),
    "conference": pear,
    "yellow-onion": onion,
    "floury-potato": potato,
    "carrots": carrots,
    "regular-tomato": tomato,
    "vine-tomato": vine_tomatoes,
    "avocado": avocado,
    "pineapple": pineapple,
    "galia-melon": melon,
    "cucumber": cucumber,
    "red-bell-pepper": pepper,
}
"""Drawings by the product's recognition label, lower-cased."""


def draw_produce(kind: str, gtin: str | None, rng: Rng) -> Canvas:
    """A produce cut-out at camera scale; ``kind`` is a key of :data:`KINDS` or 'asparagus'."""
    c = asparagus(gtin)(rng) if kind == "asparagus" else KINDS[kind](rng)
    w, h = c.size
    return Canvas(
        np.asarray(cv2.resize(c.bgr, (w // S, h // S), interpolation=cv2.INTER_AREA), np.float32),
        np.asarray(cv2.resize(c.alpha, (w // S, h // S), interpolation=cv2.INTER_AREA), np.float32),
    )
