"""Recorded frames through the real vision worker: motion gate, tracker, recogniser, barcode reader.

The replay feeds each frame to :meth:`vision.worker.VisionWorker.process` at its recorded
time, on the replay's thread, so a camera's observations come out exactly when its frames
say. Two things are made independent of the machine, because a replay must give the same
receipt on any computer under any load:

- recognition runs without a time budget (the live budget only skips crops when a frame holds
  more than one, and the worker sends one);
- the barcode reader's time budget is counted in *views* (:class:`ViewClock`): each decoding
  attempt costs :data:`VIEW_COST_S` of a simulated clock, so a frame gets the same number of
  attempts however busy the machine is (``barcode_time_budget_s`` / ``VIEW_COST_S`` of them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from cart_app.config.schema import CartConfig
from cart_app.sessions.format import CameraFrames, ModelRef, SessionError, sha256_of
from vision.barcode.reader import BarcodeReader, ReaderSettings
from vision.capture import CameraCapture, CameraSettings
from vision.folder import ImageFolderSource
from vision.motion import MotionGate, MotionSettings
from vision.recognition.gallery import GalleryError
from vision.recognition.manifest import DEFAULT_MANIFEST, MODELS_DIR, Manifest, ModelError
from vision.recognition.service import ProductRecogniser
from vision.sources import as_image
from vision.tracking import ItemTracker, TrackerSettings
from vision.types import BarcodeRead, Candidate, ItemObservation
from vision.worker import VisionWorker

Image = npt.NDArray[np.uint8]

VIEW_COST_S = 0.01
"""Simulated cost of one barcode decoding view (a small frame costs 1–3 ms on the cart)."""

_RECOGNISERS: dict[tuple[str, str, float | None], ProductRecogniser] = {}
"""Loaded recognisers by (gallery checksum, threshold): a process replays many sessions that
share one gallery, and loading the model costs more than replaying a short trip."""


class ViewClock:
    """A clock for the barcode reader that advances by a fixed step each time it is read.

    The reader reads its clock once to set its deadline and once before every view, so its
    time budget becomes a budget of views.
    """

    def __init__(self, view_s: float = VIEW_COST_S) -> None:
        self._t = 0.0
        self._step = view_s

    def __call__(self) -> float:
        self._t += self._step
        return self._t


def reader_settings(budget_s: float) -> ReaderSettings:
    """The live reader's settings, for a budget counted in views.

    A budget of one view is the whole frame through the primary decoders, and nothing else
    can run in it; the reader would still prepare its later stages' views (upscaled, equalised
    copies of the frame) before finding its budget spent, so the replay leaves those stages
    out. Decoding is the same; only work whose result is never looked at is skipped.
    """
    if budget_s / VIEW_COST_S < 1.5:
        return ReaderSettings(time_budget_s=budget_s, stages=("full",))
    return ReaderSettings(time_budget_s=budget_s)


def current_manifest() -> Path:
    """The build's default recognition model, or the newest installed one when the default's
    files are not there (a checkout between model versions)."""
    if DEFAULT_MANIFEST.is_file():
        return DEFAULT_MANIFEST
    installed = sorted(MODELS_DIR.glob("*.json"), reverse=True)
    for path in installed:
        try:
            Manifest.load(path, verify=False)
        except ModelError:
            continue
        return path
    raise SessionError(f"no recognition model installed in {MODELS_DIR}")


def model_ref(manifest: Path) -> ModelRef:
    """What a session records of the model its gallery was made with."""
    return ModelRef(name=manifest.stem, sha256=Manifest.load(manifest, verify=False).sha256)


def _manifest_for(model: ModelRef | None) -> Path:
    if model is None:
        return current_manifest()
    path = MODELS_DIR / f"{model.name}.json"
    try:
        manifest = Manifest.load(path, verify=False)
    except ModelError as exc:
        raise SessionError(f"recognition model {model.name} is not installed: {exc}") from exc
    if manifest.sha256 != model.sha256:
        raise SessionError(
            f"{path}: model {model.name} here is not the one the session's gallery was made "
            f"with (sha256 {manifest.sha256[:12]}…, session says {model.sha256[:12]}…)"
        )
    return path


def open_recogniser(
    gallery: Path | None, model: ModelRef | None, config: CartConfig
) -> ProductRecogniser | None:
    """The session's model with its gallery (cached per process); None without a gallery."""
    if gallery is None:
        return None
    manifest = _manifest_for(model)
    key = (str(manifest), sha256_of(gallery), config.vision.unknown_threshold)
    if key not in _RECOGNISERS:
        try:
            _RECOGNISERS[key] = ProductRecogniser.open(
                gallery, manifest, unknown_threshold=config.vision.unknown_threshold
            )
        except (ModelError, GalleryError) as exc:
            raise SessionError(f"{gallery}: cannot recognise with this gallery: {exc}") from exc
    return _RECOGNISERS[key]


def _recognise_with(
    recogniser: ProductRecogniser, top_k: int
) -> Callable[[Image], Sequence[Candidate]]:
    def recognise(item: Image) -> Sequence[Candidate]:
        (result,) = recogniser.recognise([item], top_k=top_k).results
        return result if isinstance(result, tuple) else ()

    return recognise


@dataclass
class CameraReplay:
    """One camera's frames and its vision worker."""

    frames: CameraFrames
    worker: VisionWorker
    observations: list[ItemObservation]

    def stream(self) -> Iterator[tuple[float, Path]]:
        """(time, image path) of every frame, in order."""
        for path, t in self.frames.frames:
            yield t, path

    def process(self, path: Path, t: float) -> list[ItemObservation]:
        """Run one frame through the worker; the observations of tracks it ended."""
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise SessionError(f"{path}: not an image OpenCV can read (damaged frame)")
        return self.worker.process(as_image(image), t)

    def finish(self) -> list[ItemObservation]:
        """End the tracks still open (the recording ended)."""
        self.observations.clear()
        self.worker.stop()
        return list(self.observations)


def build_camera(
    frames: CameraFrames, config: CartConfig, recogniser: ProductRecogniser | None
) -> CameraReplay:
    """The worker a live camera of ``config`` would have, fed from ``frames``."""
    entry = frames.entry
    vision = config.vision
    folder = frames.frames[0][0].parent if frames.frames else Path(".")
    settings = CameraSettings(id=entry.id, source=f"folder:{folder}", roi=entry.roi)
    # The capture part is never started: the worker only needs its id and region of interest.
    capture = CameraCapture(settings, ImageFolderSource(folder, realtime=False))
    gate = MotionGate(
        MotionSettings(
            motion_threshold=vision.motion_threshold, motion_idle_s=vision.motion_idle_s
        ),
        entry.roi,
    )
    tracker = ItemTracker(
        entry.id,
        TrackerSettings(
            recognition_top_k=vision.recognition_top_k,
            barcode_agreement_frames=vision.barcode_agreement_frames,
        ),
    )
    reader = BarcodeReader(reader_settings(vision.barcode_time_budget_s), clock=ViewClock())

    def decode(image: Image) -> BarcodeRead | None:
        return reader.read_best(image)

    observations: list[ItemObservation] = []
    worker = VisionWorker(
        capture,
        gate,
        tracker,
        observations.append,
        recognise=(_recognise_with(recogniser, vision.recognition_top_k) if recogniser else None),
        decode=decode,
    )
    return CameraReplay(frames, worker, observations)
