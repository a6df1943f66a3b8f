"""Thin adapters over the barcode decoding libraries: a grayscale image in, raw reads out.

Each adapter only calls its library and reports what it said, with the symbol's outline in the
coordinates of the image it was given. Normalisation and every decision about trusting a read
live elsewhere (:mod:`vision.barcode.normalise`, :mod:`vision.barcode.reader`).

- :class:`ZbarDecoder` (pyzbar's ctypes binding to libzbar) is the first decoder. It is called
  through pyzbar's low-level wrapper rather than ``pyzbar.decode``: pyzbar reads only the first
  channel of a colour array (callers pass grayscale); it enables every symbology, and Code 128,
  Interleaved 2 of 5 and friends only add partial reads and false positives on packaging; it
  cannot set the scan density; and a fresh scanner per image is needed (see ``_scanner``).
- :class:`ZxingDecoder` (zxing-cpp) is the second decoder, used when ``zxingcpp`` imports.
- :class:`OpenCvDecoder` (``cv2.barcode``, EAN/UPC only) is the third vote, run by the reader
  on located regions only (docs/barcodes.md has the numbers behind each choice).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from ctypes import c_void_p, cast, string_at
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from pyzbar.pyzbar import ZBarSymbol, _image
from pyzbar.wrapper import (
    ZBarConfig,
    zbar_image_first_symbol,
    zbar_image_scanner_create,
    zbar_image_scanner_destroy,
    zbar_image_scanner_set_config,
    zbar_image_set_data,
    zbar_image_set_format,
    zbar_image_set_size,
    zbar_scan_image,
    zbar_symbol_get_data,
    zbar_symbol_get_data_length,
    zbar_symbol_get_loc_size,
    zbar_symbol_get_loc_x,
    zbar_symbol_get_loc_y,
    zbar_symbol_get_quality,
    zbar_symbol_next,
)

Gray = npt.NDArray[np.uint8]
Point = tuple[float, float]

_FOURCC_Y800 = 0x30303859
"""zbar's image format for 8-bit grayscale ('Y800')."""


@dataclass(frozen=True, slots=True)
class RawRead:
    """One decoder output before normalisation.

    ``symbology`` is the decoder's own name for it, ``text`` its decoded text, ``polygon`` the
    symbol's outline in the coordinates of the decoded image, ``scanlines`` how many of the
    decoder's scan passes agreed on it (zbar's quality; 1 for decoders that do not say).
    """

    decoder: str
    symbology: str
    text: str
    polygon: tuple[Point, ...]
    scanlines: int = 1


class Decoder(Protocol):
    """A barcode decoding library behind one call."""

    name: str

    def decode(self, gray: Gray) -> tuple[RawRead, ...]:
        """Decode a 2-D uint8 (grayscale) image."""
        ...


def _as_gray(image: Gray) -> Gray:
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError(f"expected a 2-D uint8 grayscale image, got {image.shape} {image.dtype}")
    return np.ascontiguousarray(image)


class ZbarDecoder:
    """zbar through pyzbar's wrapper, limited to the retail symbologies and QR.

    ``density`` is zbar's scan density: it scans every n-th row and column. 2 halves the time
    of a 640x480 frame (8.5 to 4.3 ms) and, measured on the benchmark photos, reads as many
    codes as 1 through the reader (a symbol spans many rows; the reader's region views rescan).
    """

    name = "zbar"

    def __init__(self, *, qr: bool = True, databar: bool = True, density: int = 2) -> None:
        symbols = [
            ZBarSymbol.EAN13,
            ZBarSymbol.EAN8,
            ZBarSymbol.UPCA,
            ZBarSymbol.UPCE,
            # ISBN-13 is reported as EAN-13 when ISBN13 is off; ISBN-10 stays off because its
            # text is not a GTIN (normalise maps it back anyway should it ever be reported).
        ]
        if databar:
            symbols += [ZBarSymbol.DATABAR, ZBarSymbol.DATABAR_EXP]
        if qr:
            symbols.append(ZBarSymbol.QRCODE)
        self._symbols = tuple(int(s) for s in symbols)
        self._density = density

    def _scanner(self) -> Any:
        # A fresh scanner per image: zbar's DataBar decoder keeps half-symbol segments between
        # scans to join them, and a reused scanner joins them with the *previous* image's
        # (measured: a rotated DataBar Expanded read as the one decoded before it).
        scanner = zbar_image_scanner_create()
        if not scanner:
            raise RuntimeError("zbar could not create an image scanner")
        zbar_image_scanner_set_config(scanner, 0, ZBarConfig.CFG_ENABLE, 0)
        for symbol in self._symbols:
            zbar_image_scanner_set_config(scanner, symbol, ZBarConfig.CFG_ENABLE, 1)
        zbar_image_scanner_set_config(scanner, 0, ZBarConfig.CFG_X_DENSITY, self._density)
        zbar_image_scanner_set_config(scanner, 0, ZBarConfig.CFG_Y_DENSITY, self._density)
        return scanner

    def decode(self, gray: Gray) -> tuple[RawRead, ...]:
        """Decode with zbar; outlines are zbar's scan-line end points."""
        gray = _as_gray(gray)
        scanner = self._scanner()
        out: list[RawRead] = []
        try:
            self._scan(scanner, gray, out)
        finally:
            zbar_image_scanner_destroy(scanner)
        return tuple(out)

    def _scan(self, scanner: Any, gray: Gray, out: list[RawRead]) -> None:
        height, width = gray.shape
        pixels = gray.tobytes()
        with _image() as img:
            zbar_image_set_format(img, _FOURCC_Y800)
            zbar_image_set_size(img, width, height)
            zbar_image_set_data(img, cast(pixels, c_void_p), len(pixels), None)  # type: ignore[arg-type]
            if zbar_scan_image(scanner, img) < 0:
                return
            symbol = zbar_image_first_symbol(img)
            while symbol:
                data = string_at(zbar_symbol_get_data(symbol), zbar_symbol_get_data_length(symbol))
                try:
                    name = ZBarSymbol(symbol.contents.type).name
                except ValueError:
                    name = f"zbar-{symbol.contents.type}"
                points = [
                    (
                        float(zbar_symbol_get_loc_x(symbol, i)),
                        float(zbar_symbol_get_loc_y(symbol, i)),
                    )
                    for i in range(zbar_symbol_get_loc_size(symbol))
                ]
                out.append(
                    RawRead(
                        self.name,
                        name,
                        # zbar hands QR text out as UTF-8; the linear codes are ASCII.
                        data.decode("utf-8", errors="replace"),
                        tuple(points),
                        int(zbar_symbol_get_quality(symbol)),
                    )
                )
                symbol = zbar_symbol_next(symbol)


def zxing_available() -> bool:
    """Whether zxing-cpp imports here."""
    try:
        import zxingcpp  # noqa: F401
    except ImportError:
        return False
    return True


class ZxingDecoder:
    """zxing-cpp, with ``Plain`` text so GS1 strings keep their FNC1 separators."""

    name = "zxing"

    def __init__(
        self,
        *,
        qr: bool = True,
        databar: bool = True,
        try_rotate: bool = True,
        try_downscale: bool = True,
        try_invert: bool = False,
    ) -> None:
        import zxingcpp

        names = ["EAN13", "EAN8", "UPCA", "UPCE"]
        if databar:
            names += ["DataBar", "DataBarExpanded", "DataBarLimited"]
        if qr:
            names.append("QRCode")
        self._formats = zxingcpp.barcode_formats_from_str(",".join(names))
        self._text_mode = zxingcpp.TextMode.Plain
        self._try_rotate = try_rotate
        self._try_downscale = try_downscale
        self._try_invert = try_invert

    def decode(self, gray: Gray) -> tuple[RawRead, ...]:
        """Decode with zxing-cpp; outlines are its four corner points."""
        import zxingcpp

        results = zxingcpp.read_barcodes(
            _as_gray(gray),
            formats=self._formats,
            try_rotate=self._try_rotate,
            try_downscale=self._try_downscale,
            try_invert=self._try_invert,
            text_mode=self._text_mode,
        )
        out = []
        for r in results:
            pos = r.position
            corners = (pos.top_left, pos.top_right, pos.bottom_right, pos.bottom_left)
            name = str(r.format)
            text = r.text
            if name == "UPC-E":
                # zxing-cpp's text is the expansion; the 8 digits are in ``extra``.
                extra = r.extra if isinstance(r.extra, dict) else {}
                text = str(extra.get("UPCE", text))
            out.append(
                RawRead(self.name, name, text, tuple((float(p.x), float(p.y)) for p in corners))
            )
        return tuple(out)


class OpenCvDecoder:
    """OpenCV's ``cv2.barcode`` (EAN/UPC only), for the benchmark's comparison."""

    name = "opencv"

    def __init__(self) -> None:
        import cv2

        self._local = threading.local()
        self._cv2 = cv2

    def decode(self, gray: Gray) -> tuple[RawRead, ...]:
        """Detect and decode with ``cv2.barcode.BarcodeDetector``."""
        detector = getattr(self._local, "detector", None)
        if detector is None:
            detector = self._cv2.barcode.BarcodeDetector()
            self._local.detector = detector
        ok, texts, types, points = detector.detectAndDecodeWithType(_as_gray(gray))
        if not ok or points is None:
            return ()
        out = []
        for text, kind, quad in zip(texts, types, points, strict=False):
            if text:
                poly = tuple((float(x), float(y)) for x, y in np.asarray(quad).reshape(-1, 2))
                out.append(RawRead(self.name, str(kind), str(text), poly))
        return tuple(out)


def default_decoders(names: Sequence[str] = ("zbar", "zxing")) -> tuple[Decoder, ...]:
    """The named decoders that are available here (zxing-cpp is optional)."""
    out: list[Decoder] = []
    for name in names:
        if name == "zbar":
            out.append(ZbarDecoder())
        elif name == "zxing":
            if zxing_available():
                out.append(ZxingDecoder())
        elif name == "opencv":
            out.append(OpenCvDecoder())
        else:
            raise ValueError(f"unknown decoder {name!r}")
    return tuple(out)


@contextlib.contextmanager
def silence_native_stderr() -> Iterator[None]:
    """Silence C libraries' stderr while decoding (zbar prints assertion chatter, such as
    ``_zbar_decode_databar: Assertion "seg->finder >= 0" failed``, on some DataBar scans).

    For single-threaded tools only (the CLI, the benchmark): it redirects the process's file
    descriptor 2, which would hide other threads' messages too.
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
