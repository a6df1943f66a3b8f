"""Camera lost mid-stream and back: the capture reconnects by itself, the cart's health shows
the fallback (``barcode_and_weight``) while it is gone, a scanned item confirmed by its weight
still goes in the basket, nothing else changes, and the mode returns to normal on its own.

The camera is the app's own (a ``[[cameras]]`` entry; its capture reads from a camera whose
cable the test pulls), the health the app's (``CartApp.health``, polled by its own part), and
the banner is read from the touchscreen's controller built by ``ui.wiring``."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from cart_app.domain import PricingMode
from cart_app.events import Sensed, StartSession
from cart_app.health import BANNERS, Level, Mode
from scale.types import WeightChange
from tests.reliability.helpers import build_app, wait_until
from ui.controller import CartUi
from ui.wiring import build_deps
from vision.capture import CaptureState
from vision.gtin import normalize_gtin
from vision.sources import SourceError, SourceFrame
from vision.types import BarcodeRead

pytestmark = [pytest.mark.fault, pytest.mark.timeout(120)]


class PluggableCamera:
    """A live camera whose cable the test pulls: reads and opens fail while it is out."""

    description = "test-camera"
    live = True
    realtime = True
    nominal_fps = 30.0

    def __init__(self) -> None:
        self.plugged = threading.Event()
        self.plugged.set()
        self.opens = 0

    def open(self) -> None:
        self.opens += 1
        if not self.plugged.is_set():
            raise SourceError("/dev/video-test: no such device (unplugged?)")

    def read(self) -> SourceFrame | None:
        time.sleep(1 / 30)
        if not self.plugged.is_set():
            raise SourceError("/dev/video-test: read failed: device gone")
        return SourceFrame(np.zeros((48, 64, 3), dtype=np.uint8), None)

    def close(self) -> None:
        pass


CAMERA = """
[scale]
driver = 'none'
[[cameras]]
id = 'cam0'
source = 'demo'
reconnect_backoff_max_s = 0.5
"""


def _banner(ui: CartUi) -> str:
    ui.bridge.dispatch()  # the test's thread plays the Kivy thread
    return ui.health_banner


def test_camera_lost_mid_stream_and_back(tmp_path: Path, figures: dict[str, object]) -> None:
    app = build_app(tmp_path, CAMERA)
    (capture,) = app.cameras.captures
    camera = PluggableCamera()
    capture.source = camera  # the configured camera, behind a cable the test can pull
    health = app.health
    assert health is not None, "the composition root builds the cart's health"
    ui = CartUi(build_deps(app))
    product = next(
        p for p in app.catalog.products() if p.pricing_mode is PricingMode.PER_UNIT and p.gtins
    )
    with app:
        ui.attach()
        try:
            wait_until(lambda: capture.state is CaptureState.RUNNING, "camera running")
            assert health.poll().mode is Mode.NORMAL
            app.engine.call(StartSession("camera-faults"), timeout=10)
            frames_before = capture.stats().frames

            camera.plugged.clear()  # the cable is pulled mid-stream
            wait_until(lambda: health.poll().mode is Mode.BARCODE_AND_WEIGHT, "fallback mode")
            state = health.state
            assert state.level is Level.DEGRADED and state.banner
            # Polled by the app itself, and shown on the touchscreen through the bridge.
            banner = BANNERS[Mode.BARCODE_AND_WEIGHT]
            wait_until(lambda: _banner(ui) == banner, "camera banner on the screen")
            component = state.component("camera cam0")
            assert component is not None and "reconnecting" in component.reason
            assert not app.engine.snapshot.basket.lines

            # The fallback works: a scan and its settled weight make a line without a camera.
            code = product.gtins[0]
            now = app.clock.monotonic()
            app.engine.call(
                Sensed(BarcodeRead("ean13", code, normalize_gtin(code), quality=1.0)), timeout=10
            )
            grams = product.nominal_weight_g
            app.engine.call(Sensed(WeightChange(grams, 0.0, grams, now, now + 0.5)), timeout=10)
            wait_until(lambda: len(app.engine.snapshot.basket.lines) == 1, "scanned item added")
            assert app.engine.snapshot.basket.lines[0].sku == product.sku

            camera.plugged.set()  # back
            wait_until(lambda: health.poll().mode is Mode.NORMAL, "normal again")
            wait_until(lambda: capture.stats().frames > frames_before + 5, "frames again")
            assert capture.stats().reconnects >= 1
            assert health.state.level is Level.OK
            wait_until(lambda: _banner(ui) == "", "banner gone by itself")
            assert not health.state.staff_check_due  # the scale was there all along
        finally:
            ui.detach()
    figures["camera_faults"] = (
        f"camera lost and back: survived, {capture.stats().reconnects} reconnects, "
        "scan-and-weight fallback added the item, lost baskets 0"
    )
