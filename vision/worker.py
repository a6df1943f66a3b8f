"""One camera's vision worker: latest frame → motion gate → recognition and barcode → tracker.

It runs on its own thread and costs almost nothing while the basket opening is still: frames
are only gated. While something moves it crops the tracked item, recognises it and reads
barcodes, and when the item's track ends it hands an :class:`ItemObservation` to its listener
(the core puts it in the engine's inbox). Recognition and decoding are collaborators passed in,
so the worker is tested with the real ones or without them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from vision.capture import CameraCapture
from vision.motion import MotionGate
from vision.tracking import ItemTracker
from vision.types import BarcodeRead, Candidate, ItemCrop, ItemObservation

log = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]
Recognise = Callable[[Image], Sequence[Candidate]]
"""Candidates for one crop of an item (empty when it is unknown)."""
Decode = Callable[[Image], BarcodeRead | None]
"""The barcode in a frame, if one is read."""
OnCrop = Callable[[ItemCrop], object]
"""Hears the last crop of each tracked item that became an observation (evidence keeping)."""


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """How long the worker waits for a frame before checking whether it should stop."""

    frame_wait_s: float = 0.2
    stop_timeout_s: float = 3.0


def crop(image: Image, roi: tuple[float, float, float, float], box: tuple[float, ...]) -> Image:
    """The pixels of ``box`` (fractions of the ROI) inside ``roi`` (fractions of the frame)."""
    height, width = image.shape[:2]
    rx, ry, rw, rh = roi
    bx, by, bw, bh = box[:4]
    x0 = int((rx + bx * rw) * width)
    y0 = int((ry + by * rh) * height)
    x1 = max(x0 + 1, int((rx + (bx + bw) * rw) * width))
    y1 = max(y0 + 1, int((ry + (by + bh) * rh) * height))
    return image[max(y0, 0) : min(y1, height), max(x0, 0) : min(x1, width)]


class VisionWorker:
    """Processes one camera's frames; a part with ``start``/``stop``."""

    def __init__(
        self,
        capture: CameraCapture,
        gate: MotionGate,
        tracker: ItemTracker,
        on_observation: Callable[[ItemObservation], None],
        *,
        recognise: Recognise | None = None,
        decode: Decode | None = None,
        settings: WorkerSettings | None = None,
        on_crop: OnCrop | None = None,
    ) -> None:
        self.capture = capture
        self.name = f"vision:{capture.settings.id}"
        self._gate = gate
        self._tracker = tracker
        self._emit = on_observation
        self._recognise = recognise
        self._decode = decode
        self._settings = settings or WorkerSettings()
        self.on_crop = on_crop
        """Where item crops go (None: crops are not even copied); public so that the
        composition root's wiring can be checked."""
        self._last_crop: tuple[Image, tuple[int, ...]] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.frames_seen = 0
        self.frames_analysed = 0

    def start(self) -> None:
        """Start the worker thread (the capture part is started before it)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread; tracks still open are reported first."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self._settings.stop_timeout_s)
            self._thread = None
        for observation in self._tracker.flush():
            self._emit(observation)

    def process(self, image: Image, t: float) -> list[ItemObservation]:
        """One frame through the gate, recognition, decoding and the tracker."""
        self.frames_seen += 1
        motion = self._gate.update(image, t)
        candidates: Sequence[Candidate] = ()
        barcode = None
        if motion.awake:
            self.frames_analysed += 1
            box = self._tracker.primary_box()
            if box is not None and (self._recognise is not None or self.on_crop is not None):
                item = crop(image, self.capture.settings.roi, box)
                if item.size and self._recognise is not None:
                    candidates = self._recognise(item)
                if item.size and self.on_crop is not None:
                    # A copy: the crop is a view of a frame the capture reuses.
                    self._last_crop = (item.copy(), image.shape)
            if self._decode is not None:
                barcode = self._decode(image)
        observations = self._tracker.update(motion, candidates, barcode)
        if observations and self.on_crop is not None:
            self._hand_crops(observations)
        return observations

    def _hand_crops(self, observations: list[ItemObservation]) -> None:
        """The item's last crop goes with its observation; it is dropped after either way, so
        no frame data outlives the track it came from."""
        last, self._last_crop = self._last_crop, None
        if last is None or self.on_crop is None:
            return
        item, shape = last
        for observation in observations:
            try:
                obs = observation
                self.on_crop(ItemCrop(obs.camera_id, obs.t, obs.track_id, item, shape))
            except Exception:  # keeping evidence must never cost the cart an observation
                log.exception("%s: evidence crop hook failed", self.name)

    def _run(self) -> None:
        while not self._stop.is_set():
            frame = self.capture.slot.get(timeout=self._settings.frame_wait_s)
            if frame is None:
                continue
            try:
                observations = self.process(frame.image, frame.t)
            except Exception:  # one bad frame must not blind the cart
                log.exception("%s: frame %s failed", self.name, frame.seq)
                continue
            for observation in observations:
                self._emit(observation)
