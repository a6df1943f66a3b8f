"""The tools through the controller on a real CartApp, headless: scanned codes on every screen,
enrolment off the Kivy thread, the developer panel's simulator, the gallery enroller."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from cart_app.app import CartApp
from cart_app.devices import SimulatorPart
from cart_app.domain import Product
from cart_app.events import Ask, Lock
from cart_app.session import SessionState
from tests.ui.cart import TEST_PIN, build_cart, wait_until
from tests.ui.test_tools_vm import FakeEnroller, FakeFeed, frame
from ui.controller import CartUi, ScannedText
from ui.enroller import GalleryEnroller
from ui.staff_audit import StaffAuditLog
from ui.viewmodels.enrolment import MIN_SHOTS, Image
from ui.viewmodels.session import Screen
from ui.wiring import build_deps, dev_simulator


@pytest.fixture
def cart(tmp_path: Path) -> Iterator[CartApp]:
    app = build_cart(tmp_path / "data")
    app.start()
    yield app
    app.stop()


@pytest.fixture
def ui(cart: CartApp) -> Iterator[CartUi]:
    deps = build_deps(cart)
    deps.camera_feeds = (FakeFeed("top", frame()),)
    deps.enroller = FakeEnroller()
    controller = CartUi(deps)
    controller.bridge.set_scheduler(lambda: None)  # the test pumps dispatch itself
    controller.attach()
    wait_until(lambda: controller.snapshot is not None, controller.bridge.dispatch)
    controller.dismiss_message()
    yield controller
    controller.detach()


def state(ui: CartUi) -> SessionState:
    return ui.snapshot.basket.state if ui.snapshot else SessionState.IDLE


def typed(ui: CartUi, code: str) -> None:
    """What the window does with a USB scanner's keys."""
    ui.text_typed(code)
    assert ui.key_pressed("enter")


def test_scanned_codes_on_each_screen(ui: CartUi, cart: CartApp) -> None:
    pump = ui.bridge.dispatch
    typed(ui, "4711")  # a loyalty card number (not a product this store sells) starts a trip
    wait_until(lambda: state(ui) is SessionState.SHOPPING, pump, what="trip from a card")
    typed(ui, "hello there")
    assert ui.message == "That code is not a product in this store: hello there"
    # A prompt waits for a scan: the scanned code goes to fusion as a reading.
    cart.engine.submit(Ask("ambiguous_item", ("D-MILK-STD", ":scan")))
    wait_until(lambda: ui.prompt.view is not None, pump, what="prompt")
    submitted: list[object] = []
    engine: Any = cart.engine
    real = engine.submit

    def spy(command: object) -> None:
        submitted.append(command)
        real(command)

    engine.submit = spy
    try:
        typed(ui, "7350999000103")
    finally:
        engine.submit = real
    (sensed,) = submitted
    reading = cast(Any, sensed).reading
    assert (reading.text, reading.gtin, reading.symbology) == (
        "7350999000103",
        "07350999000103",
        "keyboard",
    )
    # From another thread (a serial scanner) through the bridge: the same path.
    ui.dismiss_message()
    worker = threading.Thread(target=lambda: ui.bridge.post(ScannedText("no code")))
    worker.start()
    worker.join()
    pump()
    assert ui.message == "That code is not a product in this store: no code"
    cart.engine.submit(Lock("tamper"))
    wait_until(lambda: state(ui) is SessionState.LOCKED, pump, what="locked")
    assert ui.code_scanned("7350999000103") == set()  # a locked cart takes staff codes only


def test_a_product_scanned_at_the_welcome_screen_starts_the_trip(ui: CartUi) -> None:
    typed(ui, "7350999000103")
    wait_until(lambda: ui.screen is Screen.BASKET, ui.bridge.dispatch, what="basket")


def test_enrolment_runs_off_the_kivy_thread(ui: CartUi) -> None:
    pump = ui.bridge.dispatch
    ui.open_staff_login()
    for key in (*TEST_PIN, "ok"):
        ui.staff_key(key)
    wait_until(lambda: ui.screen is Screen.MAINTENANCE, pump, what="maintenance")
    ui.staff_tab_shown("enrol")
    typed(ui, "7350999000127")  # in the enrolment tab a scan picks the product
    assert ui.enrol.view.product == "Mellanmjölk 1,5 % 1 l"
    kivy_thread = threading.get_ident()
    ran_on: list[int] = []
    feed = ui.deps.camera_feeds[0]
    latest = feed.latest

    def watched() -> tuple[Image, tuple[float, float, float, float]] | None:
        ran_on.append(threading.get_ident())
        return latest()

    feed.latest = watched  # type: ignore[method-assign]
    for n in range(1, MIN_SHOTS + 1):
        ui.enrol_capture()
        assert ui.enrol.view.busy
        wait_until(lambda: len(ui.enrol.view.shots) >= n, pump, what=f"{n} views")  # noqa: B023
    assert ran_on and kivy_thread not in ran_on
    ui.enrol_run()
    wait_until(lambda: ui.enrol.view.message.startswith("✓"), pump, what="enrolled")
    enroller = cast(FakeEnroller, ui.deps.enroller)
    assert enroller.enrolled == [("D-MILK-MED", "Arla-Medium-Fat-Milk", MIN_SHOTS, "pin")]
    ui.staff_tab_shown("session")
    assert ui.code_scanned("7350999000103") == set()  # other tabs ignore product codes


def test_no_developer_panel_without_the_simulator(ui: CartUi) -> None:
    assert not ui.dev.available
    assert not ui.key_pressed("f12") and not ui.key_pressed("f5")


def test_the_laptop_panel_drives_the_real_simulator(tmp_path: Path) -> None:
    cart = build_cart(tmp_path / "data", scale="simulator")
    sim = dev_simulator(cart)
    assert isinstance(sim, SimulatorPart)
    cart.start()
    try:
        ui = CartUi(build_deps(cart))
        ui.bridge.set_scheduler(lambda: None)
        ui.attach()
        assert ui.key_pressed("f12") and ui.dev.visible
        ui.dev_preset(250)
        assert ui.key_pressed("f5")
        wait_until(lambda: "put in" in ui.dev.view.last, ui.bridge.dispatch, what="put")
        deadline = time.monotonic() + 10
        while (reading := sim.reading()) is None or reading.items_g != 250.0:
            assert time.monotonic() < deadline, "the simulated basket never held 250 g"
            time.sleep(0.02)
        ui.dev_preset(100)
        ui.dev_act("take")  # nothing of 100 g in the basket: the simulator says so
        wait_until(lambda: ui.dev.view.last.startswith("✕"), ui.bridge.dispatch, what="refusal")
        assert "no item of 100 g" in ui.dev.view.last
        for action in ("lean", "push"):
            assert getattr(sim, action)().result(5)
        ui.detach()
    finally:
        cart.stop()
    assert sim.reading() is None
    with pytest.raises(RuntimeError, match="not running"):
        sim.put(100).result(1)
    assert dev_simulator(build_cart(tmp_path / "other", scale="none")) is None


# -- the gallery enroller --------------------------------------------------------------------------
class FakeGallery:
    def __init__(self) -> None:
        self.labels: list[str] = []

    def count(self, label: str) -> int:
        return self.labels.count(label)


class FakeRecogniser:
    """``ProductRecogniser``'s public enrolment API, recorded."""

    def __init__(self) -> None:
        self.gallery = FakeGallery()
        self.saved = 0

    def enroll(self, label: str, images: Sequence[Image]) -> int:
        self.gallery.labels += [label] * (4 * len(images))
        return 4 * len(images)

    def save(self) -> Path:
        self.saved += 1
        return Path("/data/gallery.npz")


def test_gallery_enroller_saves_and_audits(tmp_path: Path, demo_catalog: Any) -> None:
    recogniser = FakeRecogniser()
    audit = StaffAuditLog(tmp_path / "audit.jsonl")
    enroller = GalleryEnroller(cast(Any, recogniser), audit)
    product: Product = demo_catalog.by_sku("D-MILK-MED")
    outcome = enroller.enrol(product, "Arla-Medium-Fat-Milk", [frame()] * 3, "badge-7")
    assert (outcome.views, outcome.references, recogniser.saved) == (12, 12, 1)
    (entry,) = audit.entries()
    assert (entry.staff, entry.action, entry.details["photos"]) == ("badge-7", "enrol", 3)
    assert enroller.references("Arla-Medium-Fat-Milk") == 12


def test_gallery_enroller_with_a_real_model(tmp_path: Path, demo_catalog: Any) -> None:
    """The real recogniser's enrolment API, when a model ships on this machine."""
    from vision.recognition.manifest import DEFAULT_MANIFEST, ModelError
    from vision.recognition.service import ProductRecogniser

    recogniser = None
    for manifest in sorted(DEFAULT_MANIFEST.parent.glob("*.json")):
        try:
            recogniser = ProductRecogniser.open(tmp_path / "gallery.npz", manifest)
            break
        except (ModelError, ValueError, OSError):
            continue
    if recogniser is None:
        pytest.skip("no recognition model on this machine")
    enroller = GalleryEnroller(recogniser, StaffAuditLog(tmp_path / "audit.jsonl"))
    rng = np.random.default_rng(1)
    views = [rng.integers(0, 255, (96, 96, 3), dtype=np.uint8) for _ in range(MIN_SHOTS)]
    outcome = enroller.enrol(demo_catalog.by_sku("D-MILK-MED"), "Arla-Medium-Fat-Milk", views, "s")
    assert outcome.references == outcome.views > 0
    assert (tmp_path / "gallery.npz").exists()
    reopened = ProductRecogniser.open(tmp_path / "gallery.npz", manifest)
    assert reopened.gallery.count("Arla-Medium-Fat-Milk") == outcome.references
