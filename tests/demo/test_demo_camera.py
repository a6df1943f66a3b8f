"""The demo camera: product renders moved through the basket opening on command, seen by the
real motion gate, tracker and barcode reader."""

from __future__ import annotations

import numpy as np
import pytest

from vision.barcode import BarcodeReader
from vision.capture import CameraCapture, CameraSettings
from vision.demo_camera import DemoCamera, Pass
from vision.gtin import normalize_gtin
from vision.motion import MotionGate, MotionSettings
from vision.render.products import catalog_products
from vision.tracking import ItemTracker, TrackerSettings
from vision.types import Direction, ItemObservation
from vision.worker import VisionWorker

FPS = 15.0


class StepClock:
    """Advances one frame period per read: frames without waiting."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _camera() -> tuple[DemoCamera, StepClock]:
    clock = StepClock()
    camera = DemoCamera(fps=FPS, clock=clock, sleep=clock.sleep)
    camera.open()
    return camera, clock


def test_a_pass_slides_the_item_in_from_the_top_and_completes_its_future() -> None:
    camera, _ = _camera()
    floor = camera.read().image.astype(np.int16)
    done = camera.play(Pass("D-YOGHURT-NAT", Direction.INTO, duration_s=1.2))
    rows_with_item = []
    for _ in range(40):
        frame = camera.read()
        changed = np.abs(frame.image.astype(np.int16) - floor).max(axis=2) > 40
        if changed.any():
            rows_with_item.append(float(np.nonzero(changed.any(axis=1))[0].mean()))
        if done.done():
            break
    assert done.done() and not camera.busy
    best = done.result()
    assert best is not None and best.shape == (480, 640, 3)
    # Entering through the top edge: the item's rows move down the frame.
    assert rows_with_item[0] < rows_with_item[-1]


def test_an_unknown_product_fails_its_pass_not_the_camera() -> None:
    camera, _ = _camera()
    bad = camera.play(Pass("NO-SUCH-SKU", Direction.INTO))
    camera.read()
    assert isinstance(bad.exception(timeout=0), KeyError)
    good = camera.play(Pass("FV-LIME", Direction.HELD, duration_s=0.6))
    for _ in range(30):
        camera.read()
    assert good.done() and good.exception() is None


def test_pass_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        Pass("FV-LIME", Direction.UNKNOWN)
    with pytest.raises(ValueError):
        Pass("FV-LIME", Direction.INTO, count=0)


@pytest.mark.parametrize(
    ("sku", "direction"),
    [("D-MILK-MED", Direction.INTO), ("FV-ASPARAGUS", Direction.OUT_OF)],
)
def test_the_vision_pipeline_tracks_the_pass_and_reads_the_barcode(
    sku: str, direction: Direction
) -> None:
    camera, clock = _camera()
    capture = CameraCapture(CameraSettings("demo", source="demo"), camera)
    worker = VisionWorker(
        capture,
        MotionGate(MotionSettings(), capture.settings.roi),
        ItemTracker("demo", TrackerSettings()),
        lambda _obs: None,
        decode=BarcodeReader().read_best,
    )
    observations: list[ItemObservation] = []
    for _ in range(20):  # the gate learns the empty basket
        worker.process(camera.read().image, clock())
    camera.play(Pass(sku, direction, duration_s=1.6))
    for _ in range(70):
        observations += worker.process(camera.read().image, clock())
    assert len(observations) == 1, observations
    (seen,) = observations
    assert seen.direction is direction
    assert seen.barcode is not None
    product = next(p for p in catalog_products() if p.sku == sku)
    assert seen.barcode.gtin == normalize_gtin(product.gtins[0])
