"""The cart's touchscreen: the only package that imports Kivy.

Layers, from the core outwards:

- :mod:`ui.viewmodels`: plain Python turning engine snapshots into display-ready views;
- :mod:`ui.bridge`: the one bridge that carries events from the cart's threads to Kivy's;
- :mod:`ui.controller`: view-models plus the shopper's and staff's actions (no Kivy);
- :mod:`ui.app`, :mod:`ui.screens`, :mod:`ui.widgets`, ``ui/kv/*.kv``: the Kivy layer, which only
  copies views into widgets and forwards taps.

Importing :mod:`ui` does not import Kivy; :func:`run_ui` does.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from cart_app.app import CartApp
    from ui.controller import CartUi


def has_display() -> bool:
    """Whether a window can be opened (X11 or Wayland on Linux; always on macOS and Windows)."""
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def run_ui(app: CartApp, on_ready: Callable[[CartUi], None] | None = None) -> int:
    """Run the touchscreen over a started ``app`` until its window closes; returns 0.

    Must be called on the main thread (Kivy's). Reads ``[ui]`` (fullscreen, language, large
    text, multisampling) and ``[maintenance]`` from the app's configuration. A USB barcode
    scanner needs no wiring: it types its code and Enter into the window, and the window's keys
    go to :meth:`ui.controller.CartUi.code_scanned`. ``on_ready`` gets the controller before the
    window opens, to connect more sources to its bridge, e.g. a serial scanner:
    ``ui.bridge.post(ScannedText(code))`` from any thread reaches the same method.
    """
    from ui.app import configure_kivy, create_app
    from ui.controller import CartUi
    from ui.wiring import build_deps

    settings = app.loaded.config.ui
    configure_kivy(fullscreen=settings.fullscreen, multisamples=settings.multisamples)
    controller = CartUi(build_deps(app))
    controller.large_text = settings.large_text
    if on_ready is not None:
        on_ready(controller)
    create_app(controller).run()
    return 0


def stop_ui() -> None:
    """Close the window from a signal handler or another thread (on the Kivy clock)."""
    from kivy.app import App
    from kivy.clock import Clock

    app = App.get_running_app()
    if app is not None:
        Clock.schedule_once(lambda _dt: app.stop(), 0)
