"""The Kivy application: a ScreenManager of thin screens over :class:`ui.controller.CartUi`.

Threads. Everything here runs on the Kivy (main) thread. Engine, store link and job results
reach it only through the controller's :class:`ui.bridge.Bridge`, whose scheduler is a
``Clock.create_trigger``: however many events arrive in a frame, one dispatch runs.

Layouts are ``.kv`` files under ``ui/kv/``, loaded explicitly in :meth:`SmartCartApp.build` (not
by Kivy's name-based auto-loading), in a fixed order: the theme's widget rules first.
"""

from __future__ import annotations

import gc
import logging
import os
from functools import cache
from pathlib import Path
from typing import Any

from ui.controller import ALL_PARTS, CartUi, Part
from ui.covering import set_covered
from ui.theme import HIGH_CONTRAST, LARGE_TEXT_SCALE, NORMAL
from ui.viewmodels.session import Screen

log = logging.getLogger(__name__)

KV_DIR = Path(__file__).resolve().parent / "kv"
KV_FILES = (
    "theme.kv",
    "tools.kv",
    "welcome.kv",
    "basket.kv",
    "prompt.kv",
    "picker.kv",
    "map.kv",
    "checkout.kv",
    "maintenance.kv",
    "root.kv",
)
WINDOW_SIZE = (1280, 800)
HEALTH_POLL_S = 0.25
DEV_POLL_S = 0.25
PROMPT_SIZE = (1180, 700)
"""The prompt overlay's size, and the picker's (kept in step with ``prompt.kv``, ``picker.kv``)."""
PROMPT_BUTTONS = 6
"""Answer buttons built at start-up (a question rarely has more; more are built as needed)."""
DEV_PANEL_WIDTH = 470
"""The developer panel's width (kept in step with ``tools.kv``); it sits at the left edge."""
KEY_NAMES = {13: "enter", 271: "enter", **{282 + i: f"f{i + 1}" for i in range(12)}}
"""Kivy key codes of the keys the app uses: Enter ends a scanned code; F-keys are shortcuts."""


def configure_kivy(
    *, fullscreen: bool = False, size: tuple[int, int] = WINDOW_SIZE, multisamples: int = 0
) -> None:
    """Settings Kivy reads at import: call before the first ``kivy`` import of the process."""
    # Kivy must not parse the cart's command line, nor take over Python logging.
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    from kivy.config import Config

    Config.set("graphics", "width", str(size[0]))
    Config.set("graphics", "height", str(size[1]))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "resizable", "1")
    # Kivy asks for 2× multisampling by default. The screens are rectangles and text (text is
    # antialiased when rendered); only the map's route and markers have slanted edges. On
    # software OpenGL multisampling more than doubled every frame's swap (bench/ui_bench.py).
    Config.set("graphics", "multisamples", str(multisamples))
    # The cart is touch only: no red dots from the mouse's multitouch emulation.
    Config.set("input", "mouse", "mouse,multitouch_on_demand")
    Config.set("kivy", "exit_on_escape", "0")


def register_fonts() -> None:
    """DejaVu Sans for every label: it has the symbols the screens use (✓ ✕ ● ○ ⌫ ▲ ▼)."""
    from kivy.core.text import DEFAULT_FONT, LabelBase
    from kivy.resources import resource_find

    regular = resource_find("data/fonts/DejaVuSans.ttf")
    bold = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
    if regular:
        LabelBase.register(DEFAULT_FONT, regular, fn_bold=bold if Path(bold).exists() else regular)


def _kivy_app_class() -> type:
    """Define the App class on first use, so importing :mod:`ui.app` does not load Kivy."""
    from kivy.app import App
    from kivy.base import EventLoop
    from kivy.clock import Clock
    from kivy.lang import Builder
    from kivy.properties import DictProperty, ListProperty, NumericProperty, StringProperty

    from ui import (
        clipping,
        map_widget,
        picker_dialog,
        priming,
        rows,
        screens,
        text_cache,
        tools_screens,
        widgets,
    )

    class SmartCartApp(App):  # type: ignore[misc]
        """The cart's touchscreen."""

        title = "smartcart"
        lang = StringProperty("en")
        fs = NumericProperty(1.0)
        theme_name = StringProperty("normal")
        theme_colours = DictProperty({})
        c_bg = ListProperty(list(NORMAL.bg))
        c_panel = ListProperty(list(NORMAL.panel))
        c_fg = ListProperty(list(NORMAL.fg))
        c_muted = ListProperty(list(NORMAL.muted))
        c_accent = ListProperty(list(NORMAL.accent))
        c_accent_fg = ListProperty(list(NORMAL.accent_fg))
        c_secondary = ListProperty(list(NORMAL.secondary))
        c_secondary_fg = ListProperty(list(NORMAL.secondary_fg))
        c_highlight = ListProperty(list(NORMAL.highlight))
        c_border = ListProperty(list(NORMAL.border))
        c_ok = ListProperty(list(NORMAL.ok))
        c_warn = ListProperty(list(NORMAL.warn))
        c_bad = ListProperty(list(NORMAL.bad))
        c_disabled = ListProperty(list(NORMAL.disabled))
        c_disabled_fg = ListProperty(list(NORMAL.disabled_fg))
        c_bar = ListProperty(list(NORMAL.bar))
        c_bar_fg = ListProperty(list(NORMAL.bar_fg))
        message = StringProperty("")
        health_banner = StringProperty("")
        map_key = StringProperty("")

        def __init__(self, ui: CartUi, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.ui = ui
            self.lang = ui.tr.language
            self.sm: Any = None
            self.prompt: Any = None
            self._health_event: Any = None
            self._preview_event: Any = None
            self._dev_event: Any = None
            self.budget_dialog: Any = None
            self.picker_dialog: Any = None
            self.dev_panel: Any = None
            self._apply_theme()

        # -- text and theme ------------------------------------------------------------------
        def t(self, key: str, *_: Any, **values: Any) -> str:
            """Translated text; kv passes ``app.lang`` so the text follows language changes."""
            return self.ui.tr(key, **values)

        def _apply_theme(self) -> None:
            theme = HIGH_CONTRAST if self.ui.high_contrast else NORMAL
            self.theme_name = "contrast" if self.ui.high_contrast else "normal"
            self.theme_colours = theme.as_dict()
            for name, colour in theme.as_dict().items():
                setattr(self, f"c_{name}", list(colour))
            # The background is the window's clear colour, not a rectangle drawn over it.
            from kivy.core.window import Window

            Window.clearcolor = tuple(theme.bg)
            self.fs = LARGE_TEXT_SCALE if self.ui.large_text else 1.0
            self.map_key = f"{self.theme_name}-{self.fs}-{self.lang}"

        def load_kv(self, filename: str | None = None) -> bool:
            """No name-based auto-loading: :meth:`build` loads the kv files explicitly."""
            return True

        # -- building ------------------------------------------------------------------------
        def build(self) -> Any:
            # Before any label exists: each label takes its texture_update when it is built.
            text_cache.install(text_cache.TextCache())
            for name in KV_FILES:
                Builder.load_file(str(KV_DIR / name))
            root = screens_root()
            self.sm = root.ids.sm
            self.prompt = screens.PromptOverlay()
            # Build the answer buttons now: the first prompt would otherwise pay for compiling
            # their rules and fonts (a 100 ms stall) at the moment the shopper needs them.
            self.prompt.prepare_buttons(PROMPT_BUTTONS)
            self.budget_dialog = tools_screens.BudgetDialog()
            self.picker_dialog = picker_dialog.PickerDialog()
            self.dev_panel = tools_screens.DevPanel(pos=(8, 8))
            # The basket's USB scanner types like a keyboard: every key goes to the controller.
            from kivy.core.window import Window

            Window.bind(on_textinput=self._on_text, on_key_down=self._on_key_down)
            self.ui.bridge.set_scheduler(Clock.create_trigger(self.ui.bridge.dispatch, 0))
            self.ui.observe(self.on_ui_change)
            Clock.schedule_interval(self._tick, 1.0)
            return root

        def on_start(self) -> None:
            self.ui.attach()
            self.on_ui_change(ALL_PARTS)
            self._prime_screens()
            # Everything built so far lives as long as the app. Freezing it keeps the garbage
            # collector's full passes from walking it: such a pass over Kivy's widget graph
            # stalled the Kivy thread for about 130 ms in the benchmark (bench/ui_bench.py).
            gc.collect()
            gc.freeze()

        def on_stop(self) -> None:
            self.ui.detach()

        def _prime_screens(self) -> priming.ScreenPrimer:
            """Refresh and draw (unseen) the screens a trip visits, from start-up
            (:mod:`ui.priming`): their first visit then costs no more than the next ones."""
            from kivy.core.window import Window

            def refresh(name: str) -> None:
                self.sm.get_screen(name).refresh(self.ui)

            primer = priming.ScreenPrimer(self.sm, Window, refresh, priming.PRIMED_SCREENS)
            primer.start()
            return primer

        # -- the controller says something changed --------------------------------------------
        def on_ui_change(self, parts: frozenset[Part]) -> None:
            ui = self.ui
            if parts & {Part.LANGUAGE, Part.WELCOME} or self.lang != ui.tr.language:
                self.lang = ui.tr.language
            theme_name = "contrast" if ui.high_contrast else "normal"
            if theme_name != self.theme_name or self.fs != (
                LARGE_TEXT_SCALE if ui.large_text else 1.0
            ):
                self._apply_theme()
            self.map_key = f"{self.theme_name}-{self.fs}-{self.lang}"
            self.message = ui.message
            self.health_banner = ui.health_banner
            # Only the screen on show is brought up to date; a hidden one is refreshed as it
            # comes on screen. Rebuilding hidden screens would cost frames for nothing.
            target = ui.screen.value
            self.sm.get_screen(target).refresh(ui)
            if self.sm.current != target:
                self.sm.current = target
            self._maintenance_polling(ui.screen is Screen.MAINTENANCE)
            # The shopper's product picker ("Something else…") takes the question's place.
            picking = ui.picker_visible
            show_prompt = (
                ui.prompt.view is not None
                and ui.screen not in (Screen.MAINTENANCE, Screen.STAFF_LOGIN)
                and not picking
            )
            self._place_prompt(ui.dev.visible)
            set_covered(self.root, self.root.ids.content, show_prompt or picking)
            self.prompt.show(
                ui.prompt.view if show_prompt else None,
                ui.prompt.countdown_text(),
                ui.prompt.countdown_fraction(),
            )

            self.budget_dialog.show(ui)
            self.picker_dialog.show(ui)
            self._show_dev_panel()

        def _place_prompt(self, beside_dev_panel: bool) -> None:
            """The question is centred, or beside the developer panel while that is open.

            The panel stays usable during a prompt (take the item out again, push the cart),
            so the prompt moves right of it rather than under it: a covered choice would take
            the developer's tap to the panel instead.
            """
            for dialog in (self.prompt, self.picker_dialog):
                if beside_dev_panel:
                    width = WINDOW_SIZE[0] - DEV_PANEL_WIDTH - 24
                    dialog.size = (width, PROMPT_SIZE[1])
                    dialog.pos_hint = {"right": 0.995, "center_y": 0.5}
                else:
                    dialog.size = PROMPT_SIZE
                    dialog.pos_hint = {"center_x": 0.5, "center_y": 0.5}

        def _show_dev_panel(self) -> None:
            """The developer panel sits on the window itself, above the screens and above the
            prompt overlay (re-added after it opens), so its buttons stay usable."""
            from kivy.core.window import Window

            panel = self.dev_panel
            visible = self.ui.dev.visible
            panel.refresh(self.ui)
            on_window = panel.parent is not None
            if visible and (not on_window or Window.children[0] is not panel):
                if on_window:
                    Window.remove_widget(panel)
                Window.add_widget(panel)
            elif not visible and on_window:
                Window.remove_widget(panel)
            if visible and self._dev_event is None:
                self._dev_event = Clock.schedule_interval(
                    lambda _dt: self.ui.dev_poll(), DEV_POLL_S
                )
            elif not visible and self._dev_event is not None:
                self._dev_event.cancel()
                self._dev_event = None

        def _poll_dev(self, _dt: float) -> None:
            # Only the panel shows the simulated weight: refresh it alone, not the screens.
            self.ui.dev.poll()
            self.dev_panel.refresh(self.ui)

        # -- the keyboard: the barcode scanner and the developer's shortcuts -----------------
        def _on_text(self, _window: Any, text: str) -> None:
            self.ui.text_typed(text)

        def _on_key_down(
            self, _window: Any, key: int, _scancode: int, _codepoint: Any, _modifiers: Any
        ) -> bool:
            name = KEY_NAMES.get(key)
            return bool(name and self.ui.key_pressed(name))

        def _tick(self, _dt: float) -> None:
            self.ui.tick()

        def _poll_maintenance(self, _dt: float = 0.0) -> None:
            self.ui.poll_health()
            screen = self.sm.get_screen("maintenance")
            frame = self.ui.deps.camera_frame
            if screen.tab in ("camera", "enrol") and frame is not None:
                screen.show_frame(frame())

        def _maintenance_polling(self, on: bool) -> None:
            if on and self._health_event is None:
                self._health_event = Clock.schedule_interval(self._poll_maintenance, HEALTH_POLL_S)
                self._poll_maintenance()
            elif not on and self._health_event is not None:
                self._health_event.cancel()
                self._health_event = None

    def screens_root() -> Any:
        from kivy.factory import Factory

        return Factory.CartRoot()

    # widgets, map_widget, clipping, rows: register the custom classes the kv rules use
    _ = (EventLoop, widgets, map_widget, clipping, rows)
    return SmartCartApp


@cache
def app_class() -> type:
    """The Kivy App class (Kivy is imported on the first call)."""
    return _kivy_app_class()


def create_app(ui: CartUi) -> Any:
    """A SmartCartApp over ``ui`` (Kivy must be configured first: :func:`configure_kivy`)."""
    register_fonts()
    return app_class()(ui)
