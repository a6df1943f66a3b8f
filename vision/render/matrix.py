"""QR codes (OpenCV's encoder) and GS1 DataBar symbols (zxing-cpp's writer, when installed)."""

from __future__ import annotations

import cv2

from vision.barcode.arrays import Gray, u8


class RenderUnavailable(RuntimeError):
    """The library that draws this symbology is not installed."""


def _scale(modules: Gray, module_px: int, quiet: int) -> Gray:
    img = cv2.resize(modules, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)
    q = quiet * module_px
    return u8(cv2.copyMakeBorder(img, q, q, q, q, cv2.BORDER_CONSTANT, value=255))


def render_qr(text: str, *, module_px: int = 4, quiet_modules: int = 4) -> Gray:
    """A QR code of ``text`` (byte mode, error correction M) with its quiet zone."""
    params = cv2.QRCodeEncoder.Params()
    params.correction_level = cv2.QRCodeEncoder_CORRECT_LEVEL_M
    encoder = cv2.QRCodeEncoder.create(params)
    symbol = u8(encoder.encode(text))
    return _scale(symbol, module_px, quiet_modules)


def render_databar(
    content: str, *, expanded: bool = False, module_px: int = 3, quiet_modules: int = 2
) -> Gray:
    """A GS1 DataBar (omnidirectional) or DataBar Expanded symbol drawn by zxing-cpp.

    ``content`` is the human-readable element string, e.g. ``(01)09501101530003`` or
    ``(01)98898765432106(3103)001750``. Raises :class:`RenderUnavailable` without zxing-cpp.
    """
    try:
        import zxingcpp
    except ImportError as exc:
        raise RenderUnavailable("drawing GS1 DataBar needs zxing-cpp") from exc
    fmt = zxingcpp.BarcodeFormat.DataBarExp if expanded else zxingcpp.BarcodeFormat.DataBar
    symbol = zxingcpp.create_barcode(content, fmt)
    image = u8(symbol.to_image(scale=1, add_quiet_zones=False))
    if image.ndim == 3:
        image = image[:, :, 0]
    # zxing-cpp draws one pixel per module and rows of the symbol's own height; make the bars
    # taller for omnidirectional reading, as printed labels are.
    if image.shape[0] < 34:
        image = u8(cv2.resize(image, (image.shape[1], 34), interpolation=cv2.INTER_NEAREST))
    return _scale(image, module_px, quiet_modules)
