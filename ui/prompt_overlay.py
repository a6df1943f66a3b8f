"""Fusion's question over whatever screen shows: the overlay and its large answer buttons."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.modalview import ModalView

from ui.controller import CartUi
from ui.viewmodels.prompt import ChoiceView, PromptView


def ctl() -> CartUi:
    """The running app's controller."""
    controller: CartUi = App.get_running_app().ui
    return controller


class PromptOverlay(ModalView):  # type: ignore[misc]
    """Fusion's question over whatever screen is showing; never dismissed by a stray tap."""

    view = ObjectProperty(None, allownone=True)
    countdown = StringProperty("")
    fraction = NumericProperty(1.0)

    def __init__(self, **kwargs: Any) -> None:
        """Shown and hidden by the app as prompts open and close."""
        super().__init__(**kwargs)
        self.auto_dismiss = False
        self._total_s = 45.0
        self._spare: list[ChoiceButton] = []
        """Answer buttons not in use now, kept for the next question."""

    def _align_center(self, *_args: Any) -> None:
        """Placed by ``pos_hint`` (the app moves the question beside the developer panel).

        ModalView centres itself in the window whenever it moves or resizes, while the window
        places it by ``pos_hint``: which of the two ran last depended on how often the view
        had been opened before (ModalView binds its centring again on every opening). Both
        now place it by ``pos_hint``.
        """
        place_by_pos_hint(self)

    def prepare_buttons(self, count: int) -> None:
        """Build ``count`` answer buttons now (at start-up), so that the first questions of a
        trip reuse them instead of paying for building them (about 3 ms each)."""
        while len(self._spare) < count:
            self._spare.append(ChoiceButton())

    def show(self, view: PromptView | None, countdown: str, fraction: float) -> None:
        """Show ``view`` (open the overlay if needed); None closes it."""
        if view is None:
            if self._window is not None:
                self.dismiss(animation=False)
            self.view = None
            return
        self.view = view
        self.countdown = countdown
        self.fraction = fraction
        if self._window is None:
            self.open(animation=False)

    def on_view(self, _instance: Any, view: PromptView | None) -> None:
        """Bring the answer buttons in line with the choices (not on every countdown tick).

        The buttons are kept and given the new choices' texts rather than built again: building
        one from its kv rule cost about 3 ms of the Kivy thread's frame, four of them a stalled
        frame each time a question opened (``bench/ui_bench.py``). A label whose text did not
        change keeps its texture.
        """
        grid = self.ids.choices
        choices: list[ChoiceView] = list(view.choices) if view is not None else []
        shown: list[ChoiceButton] = list(reversed(grid.children))
        if [(b.answer, b.label) for b in shown] == [(c.answer, c.label) for c in choices]:
            return
        for button, choice in zip(shown, choices, strict=False):
            _fill(button, choice)
        for button in shown[len(choices) :]:
            grid.remove_widget(button)
            self._spare.append(button)
        for choice in choices[len(shown) :]:
            button = self._spare.pop() if self._spare else ChoiceButton()
            _fill(button, choice)
            grid.add_widget(button)


def place_by_pos_hint(view: ModalView) -> None:
    """Put an open ModalView where its ``pos_hint`` says (see ``PromptOverlay._align_center``)."""
    window = view._window
    if view._is_open and window is not None:
        window.update_childsize([view])


def _fill(button: ChoiceButton, choice: ChoiceView) -> None:
    button.answer = choice.answer
    button.kind = choice.kind
    button.label = choice.label
    button.detail = choice.detail
    button.letters = choice.tile
    button.source = choice.thumb or ""
    button.pressed = False


class ChoiceButton(BoxLayout):  # type: ignore[misc]
    """A large answer button: picture or symbol, label, detail."""

    answer = StringProperty("")
    kind = StringProperty("")
    label = StringProperty("")
    detail = StringProperty("")
    letters = StringProperty("")
    source = StringProperty("")
    __events__ = ("on_release",)

    def on_touch_down(self, touch: Any) -> bool:
        """Press feedback; the answer goes on release, like a button."""
        if self.collide_point(*touch.pos):
            touch.grab(self)
            self.pressed = True
            return True
        return bool(super().on_touch_down(touch))

    def on_touch_up(self, touch: Any) -> bool:
        """Release inside: answer."""
        if touch.grab_current is self:
            touch.ungrab(self)
            self.pressed = False
            if self.collide_point(*touch.pos):
                self.dispatch("on_release")
            return True
        return bool(super().on_touch_up(touch))

    pressed = BooleanProperty(False)

    def on_release(self) -> None:
        """Tell the controller."""
        ctl().answer(self.answer)
