"""Building the basket cameras from config: capture, motion gate, recognition, tracker.

Each camera gets a capture part and a vision worker; their item observations go into the
engine's inbox as :class:`Sensed` readings. A laptop without the configured webcam falls back
to the demo camera and says so.

Source ``demo`` is :class:`vision.demo_camera.DemoCamera`: the basket floor with product renders
moved through it on command. It is built here rather than by ``vision.sources.parse_source``
because whoever drives it (``smartcart demo``'s script, a developer panel) needs the object
itself: :attr:`CameraRig.demo_cameras` hands it out.
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
from vision.demo_camera import DemoCamera
from vision.motion import MotionGate, MotionSettings
from vision.recognition.gallery import Gallery, GalleryError
from vision.recognition.manifest import DEFAULT_MANIFEST, Manifest, ModelError
from vision.recognition.service import ProductRecogniser
from vision.tracking import ItemTracker, KnownCode, TrackerSettings
from vision.types import Candidate
from vision.worker import OnCrop, VisionWorker

log = logging.getLogger(__name__)

FALLBACK_SOURCE = "demo"
"""What a laptop without its webcam sees: an empty basket opening, until something is shown."""


def _source(spec: str, warnings: list[str]) -> str:
    webcam = re.fullmatch(r"webcam:(\d+)", spec)
    if webcam and not Path(f"/dev/video{webcam.group(1)}").exists():
        warnings.append(f"no webcam at /dev/video{webcam.group(1)}; using the demo camera")
        return FALLBACK_SOURCE
    return spec


def is_demo_source(spec: str) -> bool:
    """Whether a camera spec names the demo camera (``demo``, or ``demo:`` plus a seed)."""
    return spec == "demo" or spec.startswith("demo:")


def _demo_camera(spec: str, width: int, height: int, fps: float) -> DemoCamera:
    _, _, seed = spec.partition(":")
    if seed and not seed.isdigit():
        raise ValueError(f"camera source {spec!r}: demo:N takes a numeric seed")
    return DemoCamera(width=width, height=height, fps=fps, seed=int(seed or 0), name=spec)


def gallery_model(gallery_path: Path) -> Path | None:
    """The manifest, next to the default one, of the model ``gallery_path`` was enrolled with."""
    try:
        wanted = Gallery.load(gallery_path).model_sha256
    except GalleryError:
        return None
    for manifest_path in sorted(DEFAULT_MANIFEST.parent.glob("*.json")):
        try:
            if Manifest.load(manifest_path, verify=False).sha256 == wanted:
                return manifest_path
        except ModelError:
            continue
    return None


def open_recogniser(
    loaded: LoadedConfig, data_dir: Path, warnings: list[str]
) -> ProductRecogniser | None:
    """The shipped model with this cart's gallery, or ``None`` (recognition off) with a warning.

    When the default model cannot be loaded (not installed yet, corrupt) but the model the
    gallery was enrolled with is there, that one runs instead: a gallery only works with its
    own model, and recognising with it beats not recognising at all.
    """
    gallery = data_dir / "gallery.npz"
    threshold = loaded.config.vision.unknown_threshold
    try:
        return ProductRecogniser.open(gallery, unknown_threshold=threshold)
    except ModelError as exc:
        fallback = gallery_model(gallery)
        if fallback is None:
            warnings.append(f"recognition off: {exc}")
            return None
        try:
            recogniser = ProductRecogniser.open(gallery, fallback, unknown_threshold=threshold)
        except (ModelError, GalleryError) as second:
            warnings.append(f"recognition off: {exc}; {second}")
            return None
        warnings.append(f"{exc}; recognising with {fallback.name}, the gallery's model")
        return recogniser
    except GalleryError as exc:
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
    demo_cameras: tuple[DemoCamera, ...] = field(default=())
    """The cameras whose pictures a script draws (source ``demo``), in configuration order."""


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
    on_crop: OnCrop | None = None,
    *,
    known_code: KnownCode | None = None,
) -> CameraRig:
    """Capture parts and vision workers for every ``[[cameras]]`` entry, in start order.

    ``on_crop`` hears each observed item's basket-region crop (evidence keeping; None: off).
    ``known_code`` tells the trackers which GTINs the catalog sells: one clean read of such a
    code is accepted without a second frame."""
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
    demo_cameras: list[DemoCamera] = []
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
        source = None
        if is_demo_source(settings.source):
            source = _demo_camera(settings.source, camera.width, camera.height, camera.fps)
            demo_cameras.append(source)
        capture = CameraCapture(settings, source)
        gate = MotionGate(
            MotionSettings(
                motion_threshold=cfg.vision.motion_threshold,
                motion_idle_s=cfg.vision.motion_idle_s,
            ),
            settings.roi,
        )
        tracker = ItemTracker(
            camera.id,
            TrackerSettings(
                barcode_agreement_frames=cfg.vision.barcode_agreement_frames,
                recognition_top_k=cfg.vision.recognition_top_k,
            ),
            known_code=known_code,
        )
        worker = VisionWorker(
            capture,
            gate,
            tracker,
            lambda obs: submit(Sensed(obs)),
            recognise=recognise,
            decode=decode,
            on_crop=on_crop,
        )
        parts += [capture, worker]
    captures = tuple(p for p in parts if isinstance(p, CameraCapture))
    return CameraRig(tuple(parts), recogniser, reader, captures, tuple(demo_cameras))
