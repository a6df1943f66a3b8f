"""Typed outputs of the vision package. ``vision`` is a leaf: it never imports ``cart_app``."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """One camera image. ``t`` is the capture time on the monotonic clock, in seconds."""

    camera_id: str
    t: float
    image: npt.NDArray[np.uint8]
    seq: int = 0


class Direction(enum.StrEnum):
    """Which way an item crossed the basket opening."""

    INTO = "into"
    OUT_OF = "out_of"
    HELD = "held"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A recognition hypothesis: a label with its calibrated probability."""

    label: str
    probability: float


@dataclass(frozen=True, slots=True)
class BarcodeRead:
    """A decoded barcode: symbology, raw text, normalised GTIN-14 when it is a product code.

    ``location`` is the symbol's outline in image pixels (four corners (x, y) of its rotated
    box, empty when unknown); ``quality`` is in 0..1 (see ``vision.barcode.reader``).
    """

    symbology: str
    text: str
    gtin: str | None
    quality: float = 0.0
    location: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True, slots=True)
class ItemObservation:
    """What the cameras saw of one item crossing the basket opening."""

    camera_id: str
    direction: Direction
    candidates: tuple[Candidate, ...]
    barcode: BarcodeRead | None
    t: float
    track_id: int = 0


@dataclass(frozen=True, slots=True, eq=False)
class ItemCrop:
    """The crop of a tracked item that became an observation: the basket-region pixels the
    worker recognised, never the whole frame (evidence for a disputed line, kept on the cart).

    ``frame_shape`` is the shape of the frame it was cut from, so a keeper can check that it is
    a crop. ``track_id`` and ``t`` match the :class:`ItemObservation` it belongs to.
    """

    camera_id: str
    t: float
    track_id: int
    image: npt.NDArray[np.uint8]
    frame_shape: tuple[int, ...]
