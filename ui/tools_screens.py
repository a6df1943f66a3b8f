"""Kivy widgets of the tools: the budget dialog, the enrolment tab and the developer panel.

Thin, like :mod:`ui.screens`: each copies its view-model's frozen view into Kivy properties
(the rules in ``ui/kv/tools.kv`` bind to them) and forwards taps to the controller.
"""

from __future__ import annotations

from typing import Any

from kivy.graphics import Color, InstructionGroup, Line, Rectangle
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.modalview import ModalView
from kivy.uix.relativelayout import RelativeLayout

from ui.controller import CartUi
from ui.screens import ctl, row_height
from ui.viewmodels import formatting as fmt
from ui.viewmodels.devpanel import PRESETS_G
from ui.viewmodels.enrolment import Shot
from ui.viewmodels.keypad import BACK, DECIMAL, KEYS


def _key_label(key: str) -> str:
    if key == DECIMAL:
        return fmt.decimal_mark(ctl().deps.currency)  # "," for kronor, "." for dollars
    return "⌫" if key == BACK else key


class BudgetDialog(ModalView):  # type: ignore[misc]
    """The shopper's budget on a keypad; opened and closed by the app as the view says."""

    view = ObjectProperty(None, allownone=True)

    def __init__(self, **kwargs: Any) -> None:
        """Only its own buttons close it (a stray tap beside it must not lose the amount)."""
        super().__init__(**kwargs)
        self.auto_dismiss = False

    def on_kv_post(self, _base: Any) -> None:
        """The keypad's keys (built here: kv has no loops)."""
        from kivy.factory import Factory

        for key in KEYS:
            button = Factory.PadKey(text=_key_label(key))
            button.bind(on_release=lambda _b, k=key: ctl().budget_key(k))
            self.ids.pad.add_widget(button)

    def show(self, ui: CartUi) -> None:
        """Open, update or close to match ``ui.budget.view``."""
        view = ui.budget.view
        self.view = view
        if view.open and self._window is None:
            self.open(animation=False)
        elif not view.open and self._window is not None:
            self.dismiss(animation=False)


class ShotThumb(RelativeLayout):  # type: ignore[misc]
    """One captured view as a thumbnail, with a ✕ to drop it."""

    index = NumericProperty(0)
    shot = ObjectProperty(None, allownone=True)

    def __init__(self, **kwargs: Any) -> None:
        """Draw the crop when it is set and on resize."""
        super().__init__(**kwargs)
        self._texture: Texture | None = None
        # Own group inside canvas.before: RelativeLayout keeps its PushMatrix/Translate there,
        # which clearing canvas.before would remove.
        self._art = InstructionGroup()
        self.canvas.before.add(self._art)
        self.bind(shot=self._load, size=self._draw)
        self._load()

    def _load(self, *_: Any) -> None:
        shot: Shot | None = self.shot
        self._texture = None
        if shot is not None and shot.image.size:
            h, w = int(shot.image.shape[0]), int(shot.image.shape[1])
            texture = Texture.create(size=(w, h), colorfmt="bgr")
            texture.flip_vertical()
            texture.blit_buffer(shot.image.tobytes(), colorfmt="bgr", bufferfmt="ubyte")
            self._texture = texture
        self._draw()

    def _draw(self, *_: Any) -> None:
        art = self._art
        art.clear()
        art.add(Color(0.2, 0.2, 0.2, 1))
        art.add(Rectangle(pos=(0, 0), size=self.size))
        if self._texture is not None:
            tw, th = self._texture.size
            scale = min(self.width / tw, self.height / th)
            w, h = tw * scale, th * scale
            art.add(Color(1, 1, 1, 1))
            pos = ((self.width - w) / 2, (self.height - h) / 2)
            art.add(Rectangle(texture=self._texture, pos=pos, size=(w, h)))
        art.add(Color(0, 0, 0, 1))
        art.add(Line(rectangle=(0, 0, self.width, self.height), width=1))


class EnrolPanel(BoxLayout):  # type: ignore[misc]
    """Maintenance's enrolment tab: search, live preview, captured views, enrol."""

    view = ObjectProperty(None, allownone=True)
    results = ListProperty([])

    def refresh(self, ui: CartUi) -> None:
        """Copy the enrolment view; rebuild the thumbnails only when the views changed."""
        view = ui.enrol.view
        self.view = view
        self.results = [
            {
                "sku": row.sku,
                "name": row.name,
                "detail": row.detail,
                "selected": row.selected,
                "height": row_height(72),
            }
            for row in view.results
        ]
        grid = self.ids.shots
        shown = [c.shot for c in reversed(grid.children)]
        if len(shown) != len(view.shots) or any(
            a is not b for a, b in zip(shown, view.shots, strict=False)
        ):
            grid.clear_widgets()
            for index, shot in enumerate(view.shots):
                grid.add_widget(ShotThumb(index=index, shot=shot))

    def key(self, value: str) -> None:
        """A key of the search keyboard."""
        query = self.view.query if self.view is not None else ""
        ctl().enrol_search(fmt.typed(query, value))


class EnrolResultRow(BoxLayout):  # type: ignore[misc]
    """A product to pick for enrolment."""

    sku = ObjectProperty("")
    name = ObjectProperty("")
    detail = ObjectProperty("")
    selected = BooleanProperty(False)


class DevPanel(BoxLayout):  # type: ignore[misc]
    """The laptop's developer panel (added to the window above everything while open)."""

    view = ObjectProperty(None, allownone=True)

    def on_kv_post(self, _base: Any) -> None:
        """The grams keypad and the preset weights (built here: kv has no loops)."""
        from ui.widgets import KeyButton

        for key in ("1", "2", "3", "4", "5", "6", "7", "8", "9", "0", BACK):
            button = KeyButton(text=_key_label(key), key_name=key, base_font=18)
            button.bind(on_release=lambda _b, k=key: ctl().dev_key(k))
            self.ids.digits.add_widget(button)
        for grams in PRESETS_G:
            button = KeyButton(text=f"{grams} g", key_name=f"{grams}g", base_font=17)
            button.bind(on_release=lambda _b, g=grams: ctl().dev_preset(g))
            self.ids.presets.add_widget(button)

    def refresh(self, ui: CartUi) -> None:
        """Copy the panel's view."""
        self.view = ui.dev.view
