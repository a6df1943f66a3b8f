"""The project's own barcode images: symbols drawn from their specifications, and scenes.

Tests and tools use these instead of photos they cannot redistribute: every EAN/UPC symbol is
drawn from the encoding tables (:mod:`.ean`), QR codes by OpenCV and GS1 DataBar by zxing-cpp
(:mod:`.matrix`), and :func:`compose` puts any of them on a package under perspective, blur,
noise and glare (:mod:`.augment`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vision.render.augment import Augment, compose
from vision.render.ean import render_ean
from vision.render.matrix import RenderUnavailable, render_databar, render_qr

Gray = npt.NDArray[np.uint8]

__all__ = [
    "Augment",
    "RenderUnavailable",
    "compose",
    "render_databar",
    "render_ean",
    "render_qr",
    "render_symbol",
]


def render_symbol(symbology: str, content: str, *, module_px: int = 3) -> Gray:
    """Any supported symbology by its :class:`~vision.barcode.Symbology` value."""
    if symbology in ("ean13", "upca", "ean8", "upce"):
        return render_ean(symbology, content, module_px=module_px)
    if symbology == "qr":
        return render_qr(content, module_px=max(2, module_px + 1))
    if symbology in ("databar", "databar-expanded"):
        return render_databar(
            content, expanded=symbology == "databar-expanded", module_px=module_px
        )
    raise ValueError(f"cannot render {symbology!r}")
