"""Fixtures of the UI tests: an engine (with fusion) over the demo store, and a translator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cart_app.catalog import Catalog
from cart_app.clock import FakeClock
from cart_app.engine import CartSnapshot, Engine, EngineEvent, EngineSettings
from cart_app.events import Command
from cart_app.fusion import Fuser, FusionSettings
from cart_app.ledger import Ledger
from cart_app.pricing import PricingPolicy
from ui.i18n import Translator


@pytest.fixture
def tr() -> Translator:
    return Translator("en")


def build_engine(
    tmp_path: Path, catalog: Catalog, clock: FakeClock, *, budget_cap_cents: int | None = 10_000
) -> tuple[Engine, Ledger]:
    """An engine with fusion, like the app builds it (not started)."""
    ledger = Ledger.open(tmp_path / "ledger.sqlite3", clock)
    policy = PricingPolicy(
        tax_rates=catalog.tax_rates(), tax_included=catalog.store_info().tax_included
    )
    fuser = Fuser(catalog, FusionSettings(), clock)
    settings = EngineSettings(
        cart_id="cart-ui",
        prompt_timeout_s=30.0,
        inbox_poll_s=0.01,
        stop_timeout_s=5.0,
        budget_cap_cents=budget_cap_cents,
    )
    return Engine(ledger, catalog, policy, clock, settings, fuser=fuser), ledger


@pytest.fixture
def engine(tmp_path: Path, demo_catalog: Catalog, clock: FakeClock) -> Iterator[Engine]:
    eng, ledger = build_engine(tmp_path, demo_catalog, clock)
    yield eng
    eng.stop()
    ledger.close()


def run(engine: Engine, command: Command) -> CartSnapshot:
    """Apply ``command`` on a stopped engine (the test is its thread); it must succeed."""
    event: EngineEvent = engine.handle(command)
    assert isinstance(event, CartSnapshot), event
    return event


# -- the Kivy app (Kivy opens one window per process: only one test module may use it) ------------
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
"""Where the Kivy tests write a 1280×800 picture of every screen (git-ignored)."""


class KivyHarness:
    """Drives the real app: pumps Kivy's loop, taps widgets, waits, takes screenshots."""

    def __init__(self, app: Any, ui: Any, cart: Any) -> None:
        from ui.app import WINDOW_SIZE

        # Any: the Kivy app has no type information, and tests reach into all three freely.
        self.app: Any = app
        self.ui: Any = ui
        self.cart: Any = cart
        self.size = WINDOW_SIZE
        self.startup_message = ""

    def shown(self) -> str:
        """The screen shown, once the switch to it has finished (touches wait for that too)."""
        sm: Any = self.app.sm
        return "" if sm.transition.is_active else str(sm.current)

    def back_to_welcome(self) -> None:
        """End whatever trip is open, as staff would, and wait for the welcome screen."""
        from cart_app.session import SessionState

        if self.ui.staff.unlocked:
            self.ui.staff_lock()
        snap = self.ui.snapshot
        if snap is not None and snap.basket.state is not SessionState.IDLE:
            for command in self.ui.maintenance.end_session("test"):
                self.cart.engine.submit(command)
        self.wait(lambda: self.shown() == "welcome", "welcome screen")

    def pump(self, frames: int = 3) -> None:
        """Run ``frames`` turns of Kivy's loop (the bridge's trigger runs in them)."""
        import time

        from kivy.base import EventLoop

        for _ in range(frames):
            EventLoop.idle()
            time.sleep(0.002)

    def wait(self, condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
        """Pump until ``condition`` holds."""
        import time

        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                ui: Any = self.ui
                raise AssertionError(
                    f"timed out waiting for {what} (screen {ui.screen}, message {ui.message!r})"
                )
            self.pump(1)

    def tap(self, widget: Any) -> None:
        """A simulated finger: down and up at the widget's centre, in window coordinates."""
        from kivy.tests.common import UnitTestTouch

        assert widget.get_root_window() is not None, f"{widget} is not on screen"
        assert not getattr(widget, "disabled", False), f"{widget} is disabled"
        x, y = widget.to_window(*widget.center)
        touch = UnitTestTouch(x, y)
        touch.touch_down()
        self.pump(1)
        touch.touch_up()
        self.pump(2)

    def screen(self, name: str) -> Any:
        """A screen of the ScreenManager by name."""
        return self.app.sm.get_screen(name)

    def find(self, root: Any, text: str, cls: str = "") -> Any:
        """The first widget under ``root`` whose text contains ``text`` (and class name ``cls``)."""
        for widget in root.walk(restrict=True):
            label = getattr(widget, "text", None)
            if (
                isinstance(label, str)
                and text in label
                and (not cls or type(widget).__name__ == cls)
            ):
                return widget
        raise AssertionError(f"no widget with text {text!r} under {root}")

    def shot(self, name: str) -> Path:
        """Save the whole window (overlays included) as ``screenshots/<name>.png``."""
        from kivy.core.window import Window

        self.pump(4)
        SCREENSHOTS.mkdir(exist_ok=True)
        target = SCREENSHOTS / f"{name}.png"
        target.unlink(missing_ok=True)
        written = Window.screenshot(name=str(SCREENSHOTS / f"{name}.png"))
        assert written, "screenshot failed"
        Path(written).replace(target)
        return target


def enroller_for_tests(cart: Any, data_dir: Path) -> Any:
    """The cart's own enroller; when its recogniser is off (no model here), one over any model
    shipped in ``models/`` that opens, else None (the enrolment tab then says it is off)."""
    from ui.enroller import GalleryEnroller
    from ui.staff_audit import FILE_NAME, StaffAuditLog
    from vision.recognition.manifest import DEFAULT_MANIFEST, ModelError
    from vision.recognition.service import ProductRecogniser

    audit = StaffAuditLog(data_dir / FILE_NAME)
    recogniser = cart.cameras.recogniser
    if recogniser is None:
        for manifest in sorted(DEFAULT_MANIFEST.parent.glob("*.json")):
            try:
                recogniser = ProductRecogniser.open(data_dir / "gallery.npz", manifest)
                break
            except (ModelError, ValueError, OSError):
                continue
    return GalleryEnroller(recogniser, audit) if recogniser is not None else None


@pytest.fixture(scope="session")
def kivy_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KivyHarness]:
    """The real Kivy app over a real CartApp (embedded demo store, simulated scale).

    One per test session (Kivy opens one window per process): every Kivy test module shares
    it, each starting from whatever state the previous one left (they say what they need).
    The laptop's start-up note (no webcam here) is photographed as ``00-startup-note`` and
    closed, so that it covers no button the tests tap.
    """
    import os

    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        pytest.skip("no display: run the UI tests under Xvfb (./dev test uses xvfb-run)")
    from ui.app import WINDOW_SIZE, configure_kivy, create_app

    configure_kivy(size=WINDOW_SIZE)
    from kivy.base import runTouchApp, stopTouchApp
    from kivy.core.window import Window

    from tests.ui.cart import build_cart
    from ui.controller import CartUi
    from ui.wiring import build_deps

    data_dir = tmp_path_factory.mktemp("kivy") / "data"
    cart = build_cart(data_dir, scale="simulator")
    cart.start()
    deps = build_deps(cart)
    deps.enroller = enroller_for_tests(cart, data_dir)
    ui = CartUi(deps)
    app = create_app(ui)
    app._run_prepare()  # build() and on_start(), without blocking in the main loop
    runTouchApp(embedded=True)
    Window.size = WINDOW_SIZE
    harness = KivyHarness(app, ui, cart)
    harness.pump(10)
    harness.startup_message = ui.message
    if ui.message:
        harness.shot("00-startup-note")
        ui.dismiss_message()
        harness.pump(3)
    try:
        yield harness
    finally:
        app.stop()
        stopTouchApp()
        cart.stop()
