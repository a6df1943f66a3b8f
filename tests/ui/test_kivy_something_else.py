""" "Something else…" in the real Kivy app under Xvfb: a milk and bananas put in together through
the simulated scale, fusion's question, the product picker (search, pick, stepper, a second
product sold by weight), confirm, and both lines in the basket; a screenshot of the picker.

Shares the session's app with the other Kivy modules (one Kivy window per process); it starts
from whatever state they left and leaves the cart idle on the welcome screen, in English, with
nothing on the simulated scale.
"""

from __future__ import annotations

from typing import Any

import pytest

from cart_app.session import SessionState
from tests.ui.conftest import KivyHarness

pytestmark = pytest.mark.ui

TOGETHER_G = 1702
"""A 1 060 g milk and 642 g of bananas, put in at once: no single product weighs that."""


def state(h: KivyHarness) -> SessionState:
    snap = h.ui.snapshot
    return snap.basket.state if snap else SessionState.IDLE


def current(h: KivyHarness) -> str:
    """The screen shown, once the switch to it has finished."""
    return h.shown()


def back_to_welcome(h: KivyHarness) -> None:
    """End whatever trip is open, as staff would, and wait for the welcome screen."""
    h.back_to_welcome()


def lines(h: KivyHarness) -> list[tuple[str, str]]:
    return [(str(row["name"]), str(row["detail"])) for row in h.screen("basket").lines]


def key(h: KivyHarness, keyboard: Any, name: str) -> None:
    h.tap(next(k for k in keyboard.walk() if getattr(k, "key_name", "") == name))


def type_in(h: KivyHarness, keyboard: Any, text: str) -> None:
    key(h, keyboard, "clear")
    for char in text:
        key(h, keyboard, char)


def result_button(h: KivyHarness, dialog: Any, name: str) -> Any:
    """The "Pick" / "Add" button of the search result showing ``name``."""
    rows = [
        w for w in dialog.ids.results.walk(restrict=True) if type(w).__name__ == "PickerResultRow"
    ]
    row = next(r for r in rows if r.name == name)
    return next(w for w in row.walk(restrict=True) if type(w).__name__ == "BigButton")


def test_something_else_picks_two_products(kivy_app: KivyHarness) -> None:
    h = kivy_app
    back_to_welcome(h)
    h.tap(h.screen("welcome").ids.start)
    h.wait(lambda: current(h) == "basket", "a new trip")
    assert h.ui.dev.available  # the laptop profile with the simulated scale
    # A milk and bananas go in together, with no barcode and no camera evidence.
    h.ui.dev_preset(TOGETHER_G)
    h.ui.dev_act("put")
    overlay = h.app.prompt
    h.wait(lambda: overlay.view is not None, "fusion's question", timeout=20)
    h.pump(5)
    other = next(c for c in overlay.ids.choices.children if c.kind == "other")
    assert other.label == "Something else…" and other.height >= 64
    h.shot("28-prompt-something-else-button")
    h.tap(other)

    dialog = h.app.picker_dialog
    h.wait(lambda: dialog._window is not None, "the product picker")
    assert overlay._window is None  # the question steps aside while the picker shows
    assert h.find(dialog, "Scan it", "BigButton").height >= 64  # never a dead end
    assert h.find(dialog, "Call staff", "BigButton").height >= 64
    assert dialog.ids.confirm.disabled  # nothing picked yet
    keyboard = dialog.ids.keyboard
    type_in(h, keyboard, "mjölk")
    h.wait(lambda: len(dialog.results) >= 2, "search results")
    assert dialog.results[0]["price"] == "17,95 kr"
    h.tap(result_button(h, dialog, "Standardmjölk 3 % 1 l"))
    h.wait(lambda: len(dialog.ids.picked.children) == 1, "the milk picked")
    milk = dialog.ids.picked.children[0]
    h.tap(milk.ids.more)  # the stepper: 2 milks …
    h.wait(lambda: dialog.view.answer == "D-MILK-STD*2", "two milks")
    h.tap(dialog.ids.picked.children[0].ids.less)  # … no, one
    h.wait(lambda: dialog.view.answer == "D-MILK-STD", "one milk")
    type_in(h, keyboard, "banan")
    h.wait(lambda: [r["name"] for r in dialog.results] == ["Bananer ekologiska"], "bananas")
    assert dialog.results[0]["action"] == "+ Add"
    h.tap(result_button(h, dialog, "Bananer ekologiska"))
    h.wait(lambda: len(dialog.ids.picked.children) == 2, "two products picked")
    bananas = dialog.ids.picked.children[0]  # the newest row is the last child added
    assert bananas.amount == "Sold by weight: the cart weighs it"
    assert bananas.ids.more.width == 0  # no stepper: the cart weighs them
    assert dialog.view.answer == "D-MILK-STD+FV-BANANA"
    assert not dialog.ids.confirm.disabled
    h.shot("29-prompt-something-else-picker")

    h.tap(dialog.ids.confirm)
    h.wait(lambda: dialog._window is None, "picker closed")
    h.wait(lambda: len(lines(h)) == 2, "the named products charged", timeout=15)
    names = [name for name, _detail in lines(h)]
    assert names == ["Standardmjölk 3 % 1 l", "Bananer ekologiska"]
    assert lines(h)[1][1].endswith("× 29,90 kr/kg")  # weighed: what the milk left of it
    h.wait(lambda: overlay.view is None and overlay._window is None, "no question left")

    # Take it all out again (the next module starts from an empty scale) and end the trip.
    h.ui.dev_act("take")
    h.wait(lambda: lines(h) == [], "both lines removed", timeout=20)
    back_to_welcome(h)
    assert state(h) is SessionState.IDLE and h.app.lang == "en"


def test_staff_name_the_product_from_maintenance(kivy_app: KivyHarness) -> None:
    h = kivy_app
    from cart_app.events import Ask
    from tests.ui.cart import TEST_PIN

    h.tap(h.screen("welcome").ids.start)
    h.wait(lambda: current(h) == "basket", "a new trip")
    # A question that waited for staff (asked directly: only an item too light to weigh fits).
    h.cart.engine.submit(Ask("staff_needed", (":scan", ":none", ":other"), prompt_id="gum"))
    h.wait(lambda: h.app.prompt.view is not None, "the question")
    # The question covers the top bar's staff key (staff badge in, as at a real cart).
    h.ui.open_staff_login()
    h.wait(lambda: current(h) == "staff_login", "PIN pad")
    pad = h.screen("staff_login").ids.pad
    for digit in TEST_PIN:
        h.tap(h.find(pad, digit, "PinKey"))
    h.tap(h.screen("staff_login").ids.ok)
    h.wait(lambda: current(h) == "maintenance", "maintenance")
    m = h.screen("maintenance")
    h.wait(lambda: m.view is not None and bool(m.view.prompts), "the flagged prompt")
    h.tap(h.find(m.ids.staff_prompts, "Pick product", "BigButton"))
    dialog = h.app.picker_dialog
    h.wait(lambda: dialog._window is not None, "the staff picker")
    assert dialog.view.staff and dialog.ids.heading.text.endswith("Staff answer: pick the product")
    assert dialog.ids.scan.height == 0 and dialog.ids.call_staff.height == 0  # staff are here
    type_in(h, dialog.ids.keyboard, "tugg")
    h.wait(lambda: len(dialog.results) == 1, "chewing gum")
    h.tap(result_button(h, dialog, "Tuggummi pepparmint 10 st"))
    h.wait(lambda: len(dialog.ids.picked.children) == 1, "picked")
    h.tap(dialog.ids.picked.children[0].ids.more)
    h.wait(lambda: dialog.view.answer == "K-CHEWING-GUM*2", "two packs")
    h.shot("30-maintenance-something-else")
    h.tap(dialog.ids.confirm)
    h.wait(lambda: dialog._window is None, "picker closed")
    h.wait(lambda: not m.view.prompts and len(m.view.lines) == 1, "resolved by staff")
    assert "2 × Tuggummi" in m.view.lines[0].text
    h.tap(m.ids.tab_audit)
    h.wait(
        lambda: any("K-CHEWING-GUM" in r["what"] or "Tuggummi" in r["what"] for r in m.audit),
        "audit",
    )
    h.tap(m.ids.tab_session)
    h.wait(lambda: m.tab == "session", "session tab")
    back_to_welcome(h)
