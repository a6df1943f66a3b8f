"""The touchscreen during ``smartcart demo``: the window, the scripted trip, a screenshot per step.

Kivy owns the main thread (and allows one window per process), so the trip runs on a thread of
its own and the window is the ordinary touchscreen (:func:`ui.run_ui`): the shopper can tap
along, or take over. After each step the trip asks for a screenshot; it is taken on the Kivy
thread (``Clock.schedule_once``) a moment later, once the bridge has carried the step's snapshot
to the screens, and the trip waits until the file is written so that every picture shows its
own step.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ui import run_ui, stop_ui

if TYPE_CHECKING:
    from cart_app.app import CartApp
    from cart_app.demo_trip import Step, StepHook
    from cart_app.store.link import HandoffTicket
    from ui.controller import CartUi

log = logging.getLogger(__name__)

SETTLE_S = 0.7
"""Delay between a step and its screenshot: the bridge dispatches once per frame and screen
transitions animate for about half a second."""
SHOT_TIMEOUT_S = 15.0
START_DELAY_S = 0.5
HANDOFF_TIMEOUT_S = 30.0

HandOff = Callable[[], "HandoffTicket"]
Trip = Callable[["StepHook", threading.Event, HandOff], Any]
"""Plays the trip with a step hook, a cancel flag and the touchscreen's "Pay at the exit"; its
return value is handed back."""


class DemoError(RuntimeError):
    """The touchscreen did not do what the trip asked of it."""


@dataclass
class DemoWindowResult:
    """What happened while the window was open."""

    value: Any = None
    """The trip's return value, when it finished."""
    error: BaseException | None = None
    """Why the trip stopped early (a ``DemoCancelled`` when the window was closed)."""
    screenshots: list[Path] = field(default_factory=list)


def _screenshot(path: Path) -> Path | None:
    """Save the window (overlays included) as ``path``; Kivy thread only."""
    from kivy.core.window import Window

    path.unlink(missing_ok=True)
    # Kivy appends a counter to the name it is given; the file is renamed to ours.
    written = Window.screenshot(name=str(path))
    if not written:
        return None
    Path(written).replace(path)
    return path


def _stop_when_running(timeout_s: float = 30.0) -> None:
    """Close the window, waiting for it to exist first (a trip may fail before it opens)."""
    from kivy.app import App

    deadline = time.monotonic() + timeout_s
    while App.get_running_app() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    stop_ui()


def run_demo_window(
    app: CartApp,
    trip: Trip,
    screenshots: Path,
    *,
    close_when_done: bool,
    on_ready: Callable[[CartUi], None] | None = None,
) -> DemoWindowResult:
    """Open the touchscreen over a started ``app`` and play ``trip`` under it (main thread).

    Returns when the window closes: by itself after the trip when ``close_when_done``, else
    when the developer closes it. Closing it early cancels the trip.
    """
    screenshots.mkdir(parents=True, exist_ok=True)
    result = DemoWindowResult()
    cancelled = threading.Event()
    controllers: list[CartUi] = []

    def hand_off() -> HandoffTicket:
        """Tap "Pay at the exit" on the Kivy thread; the ticket the screen shows comes back."""
        from kivy.clock import Clock

        controller = controllers[0]
        Clock.schedule_once(lambda _dt: controller.pay(), 0)
        deadline = time.monotonic() + HANDOFF_TIMEOUT_S
        while time.monotonic() < deadline and not cancelled.is_set():
            ticket = controller.checkout.ticket
            if ticket is not None:
                return ticket
            time.sleep(0.05)
        raise DemoError("the touchscreen did not hand the basket off")

    def hook(step: Step) -> None:
        from kivy.clock import Clock

        done = threading.Event()
        path = screenshots / f"{step.name}.png"

        def shoot(_dt: float) -> None:
            try:
                written = _screenshot(path)
                if written is not None:
                    result.screenshots.append(written)
            except Exception:  # a failed picture must not stop the trip
                log.exception("screenshot %s failed", path)
            finally:
                done.set()

        Clock.schedule_once(shoot, SETTLE_S)
        deadline = time.monotonic() + SHOT_TIMEOUT_S
        while not done.wait(0.1):
            if cancelled.is_set() or time.monotonic() > deadline:
                log.warning("no screenshot of step %d (the window is not drawing)", step.index)
                return

    def play() -> None:
        try:
            result.value = trip(hook, cancelled, hand_off)
        except BaseException as exc:  # reported to the caller, who prints it
            result.error = exc
        finally:
            if close_when_done:
                _stop_when_running()

    worker = threading.Thread(target=play, name="demo-trip", daemon=True)

    def ready(controller: CartUi) -> None:
        from kivy.clock import Clock

        controllers.append(controller)
        if on_ready is not None:
            on_ready(controller)
        # Started from the first frames of the running window, not before it opens: the window's
        # start-up (GL, fonts, layouts) would otherwise compete with the trip's first items.
        Clock.schedule_once(lambda _dt: worker.start(), START_DELAY_S)

    try:
        run_ui(app, on_ready=ready)
    finally:
        cancelled.set()
        if worker.is_alive():
            worker.join(10.0)
        # The app froze its objects out of the collector's reach (ui.app, on_start); the window
        # is gone, so let them go: native extensions otherwise report them as leaked at exit.
        gc.unfreeze()
        gc.collect()
    return result
