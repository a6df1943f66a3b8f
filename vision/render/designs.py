"""The demo store's pack designs: hand-made for its products, derived from the SKU for others.

Ranges share what real ranges share: the two "Gardsmjolk" milks differ only in their accent
colour and name, so the recogniser finds them alike (as it would real ones) and the barcode
decides; the four "Mejeriet" yoghurt tubs likewise.
"""

from __future__ import annotations

from typing import Protocol

import cv2
import numpy as np

from vision.render.pack_print import MOTIFS, PackDesign, Shape
from vision.render.paint import seed_of


class _Named(Protocol):
    @property
    def sku(self) -> str: ...
    @property
    def name(self) -> str: ...


# Hand-made designs for the demo store's packs; anything else gets one derived from its SKU.
_DESIGNS: dict[str, PackDesign] = {
    "D-MILK-STD": PackDesign(
        "carton", (230, 235, 240), (170, 90, 30), (90, 40, 20), "Gardsmjolk", "drop", (170, 90, 30)
    ),
    "D-MILK-MED": PackDesign(
        "carton", (230, 235, 240), (60, 150, 40), (30, 70, 20), "Gardsmjolk", "drop", (60, 150, 40)
    ),
    "D-MILK-LACTOSE": PackDesign(
        "carton", (240, 225, 215), (150, 60, 140), (90, 30, 80), "Laktosfri", "wave", (150, 60, 140)
    ),
    "D-MILK-ECO": PackDesign(
        "carton", (200, 235, 215), (40, 120, 40), (20, 70, 20), "Eko", "leaf", (40, 140, 60)
    ),
    "D-OAT-DRINK": PackDesign(
        "carton", (200, 225, 240), (30, 60, 120), (20, 40, 70), "Havrefint", "oats", (40, 120, 200)
    ),
    "D-SOY-DRINK": PackDesign(
        "carton",
        (70, 120, 40),
        (250, 250, 250),
        (30, 60, 30),
        "Sojagott",
        "leaf",
        (250, 250, 250),
    ),
    "D-OATGHURT": PackDesign(
        "tub", (215, 235, 245), (40, 70, 140), (30, 40, 80), "Havrefint", "oats", (50, 140, 220)
    ),
    "D-YOGHURT-NAT": PackDesign(
        "tub", (250, 250, 250), (150, 80, 20), (110, 50, 10), "Mejeriet", "wave", (200, 140, 60)
    ),
    "D-YOGHURT-STRAW": PackDesign(
        "tub", (210, 200, 250), (60, 40, 200), (40, 20, 120), "Mejeriet", "berries", (50, 40, 210)
    ),
    "D-YOGHURT-VAN": PackDesign(
        "tub", (90, 215, 250), (40, 120, 200), (20, 60, 110), "Mejeriet", "star", (30, 140, 220)
    ),
    "D-SOUR-CREAM": PackDesign(
        "tub", (235, 200, 160), (60, 110, 20), (40, 60, 10), "Mejeriet", "stripes", (60, 120, 30)
    ),
    "D-SOYGHURT-BLUE": PackDesign(
        "tub", (200, 170, 120), (140, 60, 60), (80, 30, 30), "Sojagott", "berries", (140, 60, 70)
    ),
    "J-APPLE-2L": PackDesign(
        "bottle", (90, 200, 120), (30, 120, 30), (20, 60, 20), "Pressat", "fruit", (40, 60, 210)
    ),
    "J-ORANGE-1L": PackDesign(
        "carton", (60, 215, 250), (30, 90, 220), (20, 50, 120), "God Morgon", "sun", (20, 120, 240)
    ),
    "J-TROP-APPLE": PackDesign(
        "carton", (80, 200, 150), (30, 40, 180), (20, 30, 90), "Tropisk", "fruit", (60, 200, 90)
    ),
    "J-TROP-MANDARIN": PackDesign(
        "carton", (30, 120, 240), (20, 40, 150), (20, 30, 90), "Tropisk", "sun", (60, 200, 250)
    ),
    "J-LAGER-50CL": PackDesign(
        "can", (40, 170, 210), (30, 30, 30), (20, 20, 20), "Ljus Lager", "star", (200, 200, 200)
    ),
    "S-CRISPBREAD": PackDesign(
        "box", (90, 150, 200), (30, 60, 120), (20, 30, 60), "Knacke", "oats", (150, 200, 230)
    ),
    "S-PEANUT-BUTTER": PackDesign(
        "jar", (80, 140, 190), (40, 40, 170), (30, 30, 80), "Nutty", "stripes", (30, 90, 160)
    ),
    "C-CHEESE-DELI": PackDesign(
        "wedge", (120, 215, 245), (200, 200, 200), (60, 60, 60), "Disken", "star", (60, 170, 230)
    ),
    "K-CHEWING-GUM": PackDesign(
        "pack", (220, 220, 120), (220, 150, 40), (90, 60, 20), "Mint", "leaf", (180, 120, 30)
    ),
}
_SHAPES: tuple[Shape, ...] = ("carton", "tub", "bottle", "box", "jar", "can")


def _hsv_bgr(h: float, s: float, v: float) -> tuple[float, float, float]:
    pixel = np.array([[[round(h * 179) % 180, round(s * 255), round(v * 255)]]], np.uint8)
    b, g, r = cv2.cvtColor(pixel, cv2.COLOR_HSV2BGR)[0, 0]
    return float(b), float(g), float(r)


def pack_design(product: _Named) -> PackDesign:
    """The design of a packaged product: hand-made for the demo store, else from its SKU."""
    if product.sku in _DESIGNS:
        return _DESIGNS[product.sku]
    rng = np.random.default_rng(seed_of("design", product.sku))
    hue = float(rng.uniform(0, 1))
    return PackDesign(
        _SHAPES[int(rng.integers(len(_SHAPES)))],
        _hsv_bgr(hue, float(rng.uniform(0.2, 0.7)), float(rng.uniform(0.75, 0.95))),
        _hsv_bgr((hue + 0.5) % 1, 0.8, 0.6),
        _hsv_bgr(hue, 0.8, 0.3),
        product.name.split()[0],
        MOTIFS[int(rng.integers(len(MOTIFS)))],
        _hsv_bgr((hue + 0.35) % 1, 0.7, 0.8),
    )
