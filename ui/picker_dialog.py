"""The "Something else" product picker as a dialog: the shopper's, over their screens (the prompt
overlay steps aside while it shows), and staff's, over maintenance.

Thin, like :mod:`ui.screens`: it copies :class:`ui.viewmodels.picker.PickerView` into Kivy
properties (the rules in ``ui/kv/picker.kv`` bind to them) and forwards taps to the controller.
"""

from __future__ import annotations

from typing import Any

from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.modalview import ModalView

from ui.controller import CartUi
from ui.prompt_overlay import place_by_pos_hint
from ui.screens import ctl, row_height
from ui.viewmodels import formatting as fmt
from ui.viewmodels.picker import PickedItemView


class PickerDialog(ModalView):  # type: ignore[misc]
    """Search, pick up to two products with their amounts, confirm; opened and closed by the app
    as the controller says (``CartUi.picker_visible``)."""

    view = ObjectProperty(None, allownone=True)
    countdown = StringProperty("")
    results = ListProperty([])

    def __init__(self, **kwargs: Any) -> None:
        """Only its own buttons close it (a stray tap beside it must not lose the pick)."""
        super().__init__(**kwargs)
        self.auto_dismiss = False
        self._picked_key: list[tuple[str, str, bool, bool]] = []

    def _align_center(self, *_args: Any) -> None:
        """Placed by ``pos_hint``, like the question it stands in for (beside the developer
        panel while that is open)."""
        place_by_pos_hint(self)

    def show(self, ui: CartUi) -> None:
        """Open, update or close to match the picker's view."""
        view = ui.picker.view
        visible = ui.picker_visible
        if not visible:
            if self._window is not None:
                self.dismiss(animation=False)
            return
        self.view = view
        self.countdown = "" if view.staff else ui.prompt.countdown_text()
        rows = [
            {
                "sku": r.sku,
                "name": r.name,
                "price": r.price,
                "letters": r.tile,
                "source": r.thumb or "",
                "action": r.action,
                "can_pick": r.can_pick,
                "height": row_height(88),
            }
            for r in view.results
        ]
        if rows != self.results:
            self.results = rows
        self._show_picked(view.picked)
        if self._window is None:
            self.open(animation=False)

    def _show_picked(self, picked: tuple[PickedItemView, ...]) -> None:
        box = self.ids.picked
        key = [(p.sku, p.amount, p.can_less, p.can_more) for p in picked]
        if key == self._picked_key and len(box.children) == len(picked):
            return
        self._picked_key = key
        box.clear_widgets()
        for item in picked:
            box.add_widget(
                PickedRow(
                    index=item.index,
                    name=item.name,
                    amount=item.amount,
                    letters=item.tile,
                    source=item.thumb or "",
                    weighed=item.weighed,
                    quantity=item.quantity,
                    can_less=item.can_less,
                    can_more=item.can_more,
                    height=row_height(122),
                )
            )

    def key(self, value: str) -> None:
        """A key of the search keyboard."""
        query = self.view.query if self.view is not None else ""
        ctl().picker_search(fmt.typed(query, value))


class PickerResultRow(BoxLayout):  # type: ignore[misc]
    """A product found: picture or initials, name, price, "Pick" / "Add"."""

    sku = StringProperty("")
    name = StringProperty("")
    price = StringProperty("")
    letters = StringProperty("")
    source = StringProperty("")
    action = StringProperty("")
    can_pick = BooleanProperty(False)


class PickedRow(BoxLayout):  # type: ignore[misc]
    """A product picked for the answer: its amount (a − / + stepper, or "weighed by the cart")
    and "Remove"."""

    index = NumericProperty(0)
    name = StringProperty("")
    amount = StringProperty("")
    letters = StringProperty("")
    source = StringProperty("")
    weighed = BooleanProperty(False)
    quantity = NumericProperty(1)
    can_less = BooleanProperty(False)
    can_more = BooleanProperty(False)
