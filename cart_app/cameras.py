"""Building the basket cameras from config: capture, motion gate, recognition, tracker.

Each camera gets a capture part and a vision worker; their item observations go into the
engine's inbox as :class:`Sensed` readings. A laptop without the configured webcam falls back
to the synthetic demo camera and says so.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from cart_app.config import LoadedConfig
from cart_app.events import Sensed
from vision.barcode import BarcodeReader, ReaderSettings
from vision.capture import CameraCapture, CameraSettings
from vision.motion import MotionGate, MotionSettings
from vision.recognition.gallery import GalleryError
from vision.recognition.manifest import ModelError
from vision.recognition.service import ProductRecogniser
from vision.tracking import ItemTracker, TrackerSettings
from vision.types import Candidate
from vision.worker import VisionWorker

log = logging.getLogger(__name__)

FALLBACK_SOURCE = "synthetic:idle"
"""What a laptop without its webcam sees: an empty basket opening."""


def _source(spec: str, warnings: list[str]) -> str:
    webcam = re.fullmatch(r"webcam:(\d+)", spec)
    if webcam and not Path(f"/dev/video{webcam.group(1)}").exists():
        warnings.append(
            f"no webcam at /dev/video{webcam.group(1)}; using the synthetic demo camera"
        )
        return FALLBACK_SOURCE
    return spec


def open_recogniser(
    loaded: LoadedConfig, data_dir: Path, warnings: list[str]
) -> ProductRecogniser | None:
    """The shipped model with this cart's gallery, or ``None`` (recognition off) with a warning."""
    try:
        return ProductRecogniser.open(
            data_dir / "gallery.npz", unknown_threshold=loaded.config.vision.unknown_threshold
        )
    except (ModelError, GalleryError) as exc:
        warnings.append(f"recognition off: {exc}")
        return None


def _recognise_with(
    recogniser: ProductRecogniser, top_k: int, budget_s: float
) -> Callable[[npt.NDArray[np.uint8]], Sequence[Candidate]]:
    def recognise(item: npt.NDArray[np.uint8]) -> Sequence[Candidate]:
        (result,) = recogniser.recognise([item], top_k=top_k, budget_s=budget_s).results
        return result if isinstance(result, tuple) else ()

    return recognise


@dataclass(frozen=True, slots=True)
class CameraRig:
    """The basket cameras' parts in start order, and the models they share.

    The recogniser is exposed so that maintenance can enrol products from the cart's own
    cameras into the same gallery the workers recognise from.
    """

    parts: tuple[CameraCapture | VisionWorker, ...] = ()
    recogniser: ProductRecogniser | None = None
    barcode_reader: BarcodeReader | None = None
    captures: tuple[CameraCapture, ...] = field(default=())


def open_barcode_reader(loaded: LoadedConfig, warnings: list[str]) -> BarcodeReader | None:
    """The barcode reader for live frames, or ``None`` (barcodes off) with a warning."""
    vision = loaded.config.vision
    try:
        return BarcodeReader(ReaderSettings(time_budget_s=vision.barcode_time_budget_s))
    except ValueError as exc:  # no decoder library at all (libzbar missing)
        warnings.append(f"barcode reading off: {exc}")
        return None


def build_cameras(
    loaded: LoadedConfig,
    data_dir: Path,
    submit: Callable[[Sensed], None],
    warnings: list[str],
) -> CameraRig:
    """Capture parts and vision workers for every ``[[cameras]]`` entry, in start order."""
    cfg = loaded.config
    if not cfg.cameras:
        return CameraRig()
    # Vision workers run one per camera; OpenCV's own thread pool only adds contention.
    cv2.setNumThreads(1)
    recogniser = open_recogniser(loaded, data_dir, warnings)
    recognise = (
        _recognise_with(recogniser, cfg.vision.recognition_top_k, cfg.vision.frame_budget_s)
        if recogniser is not None
        else None
    )
    # One reader serves every worker (decoders keep per-thread state). The tracker votes its
    # reads over the frames of one item pass, so a single-frame misread never reaches fusion.
    reader = open_barcode_reader(loaded, warnings)
    decode = reader.read_best if reader is not None else None
    parts: list[CameraCapture | VisionWorker] = []
    for camera in cfg.cameras:
        settings = CameraSettings(
            id=camera.id,
            source=_source(camera.source, warnings),
            width=camera.width,
            height=camera.height,
            fps=camera.fps,
            roi=camera.roi,
            reconnect_backoff_max_s=camera.reconnect_backoff_max_s,
        )
        capture = CameraCapture(settings)
        gate = MotionGate(
            MotionSettings(
                motion_threshold=cfg.vision.motion_threshold,
                motion_idle_s=cfg.vision.motion_idle_s,
            ),
            settings.roi,
        )
        tracker = ItemTracker(camera.id, TrackerSettings())
        worker = VisionWorker(
            capture,
            gate,
            tracker,
            lambda obs: submit(Sensed(obs)),
            recognise=recognise,
            decode=decode,
        )
        parts += [capture, worker]
    captures = tuple(p for p in parts if isinstance(p, CameraCapture))
    return CameraRig(tuple(parts), recogniser, reader, captures)
