"""Barcode reading: EAN/UPC, GS1 DataBar (omni, limited, expanded) and QR, from camera frames.

- :class:`BarcodeReader` reads one image (escalating from the plain frame to rotated,
  upscaled and enhanced crops) and returns only codes with independent agreeing reads.
- :class:`BarcodeAgreement` accepts a code across video frames: seen in enough frames, or
  known to the catalog.
- :func:`normalise` and :class:`GS1Data` turn decoder output into GTIN-14s and GS1 fields.
"""

from __future__ import annotations

from vision.barcode.gs1 import GS1Data, InvalidElementString
from vision.barcode.normalise import (
    NormalisedCode,
    RejectedRead,
    Symbology,
    normalise,
    parse_gs1,
)
from vision.barcode.reader import BarcodeReader, ReaderSettings, to_gray

__all__ = [
    "BarcodeReader",
    "GS1Data",
    "InvalidElementString",
    "NormalisedCode",
    "ReaderSettings",
    "RejectedRead",
    "Symbology",
    "normalise",
    "parse_gs1",
    "to_gray",
]
