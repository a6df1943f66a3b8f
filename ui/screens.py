"""The screens: thin Kivy classes whose layouts live in ``ui/kv/*.kv``.

Each screen holds the frozen views it shows in Kivy properties (``kv`` rules bind to them) and
forwards taps to :class:`ui.controller.CartUi`. No screen decides anything.
"""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    ObjectProperty,
    StringProperty,
)
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.recycleboxlayout import RecycleBoxLayout  # noqa: F401  (used by kv rules)
from kivy.uix.recycleview import RecycleView  # noqa: F401  (used by kv rules)
from kivy.uix.screenmanager import Screen

from ui.controller import CartUi
from ui.prompt_overlay import ChoiceButton, PromptOverlay
from ui.viewmodels import formatting as fmt


def row_height(base: float) -> int:
    """A list row's height at the current text size (rows have fixed heights, given with the
    data, so that a RecycleView never lays out rows that resize themselves)."""
    app = App.get_running_app()
    scale = app.fs if app is not None else 1.0
    return int(base * scale)


def ctl() -> CartUi:
    """The running app's controller."""
    controller: CartUi = App.get_running_app().ui
    return controller


class CartScreen(Screen):  # type: ignore[misc]
    """Base: every screen can copy the controller's views into its properties."""

    def refresh(self, ui: CartUi) -> None:
        """Copy the views this screen shows (override)."""


class WelcomeScreen(CartScreen):
    """Start, own bags, language, scan hint."""

    view = ObjectProperty(None, allownone=True)

    def refresh(self, ui: CartUi) -> None:
        """The welcome view; one button per shipped language, the current one ticked."""
        from ui.widgets import ToggleText

        view = ui.session.view
        self.view = view
        box = self.ids.languages
        if len(box.children) != len(view.languages):
            box.clear_widgets()
            for code, _name, _selected in view.languages:
                button = ToggleText(size_hint_x=None, width=240)
                button.lang_code = code
                button.bind(on_release=lambda b: ctl().set_language(b.lang_code))
                box.add_widget(button)
        for button, (_code, name, selected) in zip(
            reversed(box.children), view.languages, strict=True
        ):
            button.label = name
            button.active = selected


class BasketScreen(CartScreen):
    """Lines, total, savings, budget, the last item added, navigation and checkout."""

    view = ObjectProperty(None, allownone=True)
    lines = ListProperty([])
    guidance = StringProperty("")

    def refresh(self, ui: CartUi) -> None:
        """The basket view; the line list goes to the RecycleView as dicts."""
        view = ui.basket.view
        self.view = view
        self.guidance = ui.guidance
        rows = [
            {
                "line_id": line.line_id,
                "name": line.name,
                "detail": line.detail,
                "price": line.price,
                "saving": line.saving,
                "age_note": line.age_note,
                "highlighted": line.highlighted,
                "letters": line.tile,
                "source": line.thumb or "",
                "height": row_height(
                    112 + (26 if line.saving else 0) + (26 if line.age_note else 0)
                ),
            }
            for line in view.lines
        ]
        if rows != self.lines:
            self.lines = rows


class LineRow(BoxLayout):  # type: ignore[misc]
    """One basket line in the RecycleView."""

    line_id = NumericProperty(0)
    name = StringProperty("")
    detail = StringProperty("")
    price = StringProperty("")
    saving = StringProperty("")
    age_note = StringProperty("")
    highlighted = BooleanProperty(False)
    letters = StringProperty("")
    source = StringProperty("")


class MapScreen(CartScreen):
    """The store map with the route, and the shopping list."""

    view = ObjectProperty(None, allownone=True)
    items = ListProperty([])
    basket_total = StringProperty("")

    def refresh(self, ui: CartUi) -> None:
        """The map view, and the running total on the way back to the basket."""
        view = ui.map.view
        self.view = view
        self.basket_total = ui.basket.view.total
        self.items = [
            {
                "sku": item.sku,
                "name": item.name,
                "icon": item.icon,
                "status": item.status,
                "where": item.where,
                "found": item.found,
                "is_next": item.is_next,
                "height": row_height(84),
            }
            for item in view.items
        ]


class ListRow(BoxLayout):  # type: ignore[misc]
    """A shopping-list row."""

    sku = StringProperty("")
    name = StringProperty("")
    icon = StringProperty("")
    status = StringProperty("")
    where = StringProperty("")
    found = BooleanProperty(False)
    is_next = BooleanProperty(False)


class SearchScreen(CartScreen):
    """Product search by name or code, with an on-screen keyboard."""

    text = StringProperty("")
    results = ListProperty([])
    searched = BooleanProperty(False)
    basket_total = StringProperty("")

    def refresh(self, ui: CartUi) -> None:
        """The results of the current search, and the running total on the way back."""
        self.basket_total = ui.basket.view.total
        self.text = ui.search_text
        self.searched = bool(ui.search_text.strip())
        self.results = [
            {
                "sku": r.sku,
                "name": r.name,
                "price": r.price,
                "where": r.where,
                "on_list": r.on_list,
                "height": row_height(176),
            }
            for r in ui.search_results
        ]

    def key(self, value: str) -> None:
        """A key of the on-screen keyboard."""
        ctl().search(fmt.typed(self.text, value))


class ResultRow(BoxLayout):  # type: ignore[misc]
    """A search result."""

    sku = StringProperty("")
    name = StringProperty("")
    price = StringProperty("")
    where = StringProperty("")
    on_list = BooleanProperty(False)


class CheckoutScreen(CartScreen):
    """The summary before the handoff."""

    view = ObjectProperty(None, allownone=True)
    lines = ListProperty([])

    def refresh(self, ui: CartUi) -> None:
        """The summary view."""
        view = ui.checkout.summary
        self.view = view
        self.lines = [
            {"text": line.text, "price": line.price, "height": row_height(56)}
            for line in view.lines
        ]


class SummaryRow(BoxLayout):  # type: ignore[misc]
    """A checkout summary line."""

    text = StringProperty("")
    price = StringProperty("")


class HandoffScreen(CartScreen):
    """The QR code, the exit lane, the payment status and the offline case."""

    view = ObjectProperty(None, allownone=True)
    expired = BooleanProperty(False)

    def refresh(self, ui: CartUi) -> None:
        """The handoff view."""
        self.view = ui.checkout.handoff
        self.expired = ui.checkout.token_expired()


class LockedScreen(CartScreen):
    """A locked cart waits for staff."""


class StaffLoginScreen(CartScreen):
    """The PIN pad."""

    view = ObjectProperty(None, allownone=True)

    def refresh(self, ui: CartUi) -> None:
        """The staff login view."""
        self.view = ui.staff.view


class MaintenanceScreen(CartScreen):
    """Staff: session actions, device health, camera, calibration, audit log."""

    view = ObjectProperty(None, allownone=True)
    health = ObjectProperty(None, allownone=True)
    audit = ListProperty([])
    staff = StringProperty("")
    tab = StringProperty("session")
    cal = ObjectProperty(None, allownone=True)

    def refresh(self, ui: CartUi) -> None:
        """Session, health, calibration and audit views."""
        self.view = ui.maintenance.view
        self.staff = ui.staff.staff_id
        self.health = ui.health.view if ui.health is not None else None
        self.cal = ui.calibration.view
        self.ids.enrol.refresh(ui)
        self.audit = [
            {
                "time": r.time,
                "what": r.what,
                "evidence": r.evidence,
                "height": row_height(64 if r.evidence else 44),
            }
            for r in ui.audit[:200]
        ]

    def select(self, tab: str) -> None:
        """Show one of the maintenance tabs."""
        ctl().staff_tab_shown(tab)
        self.tab = tab
        self.ids.tabs.current = tab
        if tab == "audit":
            ctl().load_audit()

    def show_frame(self, frame: tuple[Any, tuple[float, float, float, float]] | None) -> None:
        """The camera preview's newest frame (the app polls while the camera tab shows)."""
        if frame is None:
            return
        image, roi = frame
        preview = self.ids.enrol.ids.preview if self.tab == "enrol" else self.ids.preview
        preview.roi = list(roi)
        preview.show(image)

    def on_touch_down(self, touch: Any) -> bool:
        """Any touch keeps maintenance open (the auto-lock counts idle time)."""
        if self.collide_point(*touch.pos):
            ctl().staff_touch()
        return bool(super().on_touch_down(touch))


class AuditRowView(BoxLayout):  # type: ignore[misc]
    """One audit log row."""

    time = StringProperty("")
    what = StringProperty("")
    evidence = StringProperty("")


__all__ = ["ChoiceButton", "PromptOverlay"]  # they lived here; the app still finds them here


def schedule(callback: Any, delay: float = 0) -> None:
    """``Clock.schedule_once`` for kv handlers that must run after the current touch."""
    Clock.schedule_once(callback, delay)
