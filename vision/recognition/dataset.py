"""Image lists in the Grocery Store Dataset's format, and where the shared data lives.

A split file has one ``path, fine_id, coarse_id`` line per image, the path relative to the
dataset root. ``classes.csv`` in the root, when present, names the fine classes; without it a
class is called ``class-<id>``.

The shared data is never part of the repository: code finds it at ``SMARTCART_SHARED_DATA`` when
that is set, else at ``../shared/data`` next to the repository, and callers skip with a clear
message when it is absent.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

SHARED_DATA_ENV = "SMARTCART_SHARED_DATA"


def shared_data_root() -> Path:
    """``$SMARTCART_SHARED_DATA`` or ``<repository>/../shared/data`` (may not exist)."""
    configured = os.environ.get(SHARED_DATA_ENV)
    if configured:
        return Path(configured)
    # vision/recognition/dataset.py → parents[2] is the repository root.
    return (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()


def grocery_root(shared: Path | None = None) -> Path:
    """The Grocery Store Dataset folder inside the shared data."""
    return (shared or shared_data_root()) / "grocery"


class DatasetError(Exception):
    """A split file or class list is missing or malformed."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One image of a split: absolute path, fine class id, coarse class id."""

    path: Path
    fine_id: int
    coarse_id: int


def read_split(split: Path, root: Path) -> tuple[Sample, ...]:
    """The samples listed in ``split`` (``path, fine_id, coarse_id`` per line)."""
    try:
        lines = split.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DatasetError(f"cannot read split file {split}: {exc}") from exc
    samples = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = [part.strip() for part in line.split(",")]
        if len(parts) != 3:
            raise DatasetError(f"{split}:{number}: expected 'path, fine_id, coarse_id'")
        try:
            fine, coarse = int(parts[1]), int(parts[2])
        except ValueError:
            raise DatasetError(f"{split}:{number}: class ids must be integers") from None
        samples.append(Sample(root / parts[0], fine, coarse))
    if not samples:
        raise DatasetError(f"{split}: lists no images")
    return tuple(samples)


def read_class_names(root: Path) -> dict[int, str]:
    """Fine class id → name from ``root/classes.csv`` (empty when the file is absent)."""
    path = root / "classes.csv"
    if not path.is_file():
        return {}
    names: dict[int, str] = {}
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            next(reader, None)  # header
            for row in reader:
                if len(row) >= 2 and row[1].strip().isdigit():
                    names[int(row[1])] = row[0].strip()
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc}") from exc
    return names


def label_of(fine_id: int, names: dict[int, str]) -> str:
    """The label a class is enrolled under: its name, or ``class-<id>``."""
    return names.get(fine_id, f"class-{fine_id}")
