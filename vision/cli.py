"""``smartcart decode`` and other vision commands (registered by the core's CLI).

``smartcart decode IMAGE_OR_DIR... [--json]`` reads the barcodes in images: a tool for store
staff (is this label readable?) and for benchmarks. Directories are walked recursively for
image files; each image gets one line: its codes, or why it could not be read. With ``--json``
each line is one JSON object ``{"file", "codes": [{"symbology", "text", "gtin"}]}`` (plus
``"error"`` when the file could not be loaded). The exit status is 1 when any file could not be
loaded, else 0 (finding no code is not an error).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Sequence
from pathlib import Path

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"}
)
"""Files a directory walk picks up (a file named on the command line is always tried)."""

EXIT_OK = 0
EXIT_LOAD_FAILED = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the vision commands to the CLI."""
    p = subparsers.add_parser(
        "decode",
        help="read barcodes in images",
        description="Read the barcodes (EAN/UPC, GS1 DataBar, QR) in images or folders of "
        "images. Exit status 1 when a file cannot be loaded.",
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="IMAGE_OR_DIR")
    p.add_argument("--json", action="store_true", help="one JSON object per image")
    p.set_defaults(func=cmd_decode)


def iter_images(paths: Sequence[Path]) -> Iterator[Path]:
    """Files named, and image files under directories named (sorted), in order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
            )
        else:
            yield path


def cmd_decode(args: argparse.Namespace) -> int:
    """Decode every image named or found under the directories named."""
    import cv2

    from vision.barcode import BarcodeReader
    from vision.barcode.arrays import u8
    from vision.barcode.decoders import silence_native_stderr

    reader = BarcodeReader()
    failed = False
    for path in iter_images(args.paths):
        record: dict[str, object] = {"file": str(path), "codes": []}
        image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
        if image is not None:
            image = u8(image)
        if image is None:
            failed = True
            reason = "no such file" if not path.exists() else "cannot load it as an image"
            record["error"] = reason
        else:
            with silence_native_stderr():
                reads = reader.read(image)
            record["codes"] = [
                {"symbology": r.symbology, "text": r.text, "gtin": r.gtin} for r in reads
            ]
        print(json.dumps(record) if args.json else _text_line(record), flush=True)
    return EXIT_LOAD_FAILED if failed else EXIT_OK


def _text_line(record: dict[str, object]) -> str:
    if "error" in record:
        return f"{record['file']}: ERROR {record['error']}"
    codes = record["codes"]
    assert isinstance(codes, list)
    if not codes:
        return f"{record['file']}: no code found"
    parts = []
    for code in codes:
        gtin = f" (GTIN {code['gtin']})" if code["gtin"] else ""
        parts.append(f"{code['symbology']} {code['text']}{gtin}")
    return f"{record['file']}: " + "; ".join(parts)
