"""The per-camera vision worker on the project's own synthetic scenes."""

from __future__ import annotations

import numpy as np

from vision.capture import CameraCapture, CameraSettings
from vision.motion import MotionGate
from vision.synthetic import SyntheticSource, scene
from vision.tracking import ItemTracker
from vision.types import Candidate, Direction, ItemObservation
from vision.worker import VisionWorker, crop

W, H = 320, 240


def run_scene(name: str) -> tuple[list[ItemObservation], VisionWorker, list[tuple[int, int]]]:
    source = SyntheticSource(scene(name), width=W, height=H, loop=False, seed=1)
    capture = CameraCapture(CameraSettings(id="cam", width=W, height=H), source)
    crops: list[tuple[int, int]] = []

    def recognise(item: np.ndarray) -> tuple[Candidate, ...]:
        crops.append(item.shape[:2])
        return (Candidate("red-box", 0.9),)

    observations: list[ItemObservation] = []
    worker = VisionWorker(
        capture, MotionGate(), ItemTracker("cam"), observations.append, recognise=recognise
    )
    source.open()
    while (raw := source.read()) is not None:
        assert raw.media_t is not None
        observations += worker.process(raw.image, raw.media_t)
    worker.stop()  # flushes open tracks
    return observations, worker, crops


def test_an_item_going_in_is_observed_with_its_recognition() -> None:
    observations, worker, crops = run_scene("into")
    assert [o.direction for o in observations] == [Direction.INTO]
    assert observations[0].candidates[0].label == "red-box"
    assert crops and all(h > 0 and w > 0 for h, w in crops)
    # Gating: only frames with motion were analysed.
    assert 0 < worker.frames_analysed < worker.frames_seen


def test_an_idle_basket_costs_no_recognition() -> None:
    observations, worker, crops = run_scene("idle")
    assert observations == []
    assert crops == []
    assert worker.frames_analysed == 0 and worker.frames_seen > 0


def test_crop_maps_roi_fractions_to_pixels() -> None:
    image = np.zeros((100, 200, 3), dtype=np.uint8)
    part = crop(image, (0.5, 0.0, 0.5, 1.0), (0.5, 0.5, 0.5, 0.5))
    assert part.shape[:2] == (50, 50)
