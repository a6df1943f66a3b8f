"""The tools in the real Kivy app under Xvfb: the barcode scanner typing into the window, the
laptop's developer panel driving the simulated scale, the shopper's budget keypad, product
enrolment from the cart's camera, and the Swedish device health; screenshots of each.

Shares the session's app with ``test_kivy_trip.py`` (one Kivy window per process); the tests
run in file order, each from the state the previous one left, and the module leaves the cart
idle on the welcome screen, in English, with the panel closed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cart_app.session import SessionState
from tests.ui.cart import TEST_PIN
from tests.ui.conftest import SCREENSHOTS, KivyHarness
from ui.viewmodels.enrolment import MIN_SHOTS

pytestmark = pytest.mark.ui

MILK_STD = "7350999000103"
MILK_MED = "7350999000127"
ENTER = 13
F6, F7, F8, F12 = 287, 288, 289, 293


def state(h: KivyHarness) -> SessionState:
    snap = h.ui.snapshot
    return snap.basket.state if snap else SessionState.IDLE


def current(h: KivyHarness) -> str:
    """The screen shown, once the switch to it has finished."""
    return h.shown()


def window() -> Any:
    from kivy.core.window import Window

    return Window


def key(h: KivyHarness, code: int) -> None:
    """A key press as the window delivers it (Kivy key code)."""
    window().dispatch("on_key_down", code, 0, None, [])
    h.pump(2)


def scan(h: KivyHarness, code: str) -> None:
    """The USB scanner types ``code`` and Enter into the window, as a keyboard does."""
    for char in code:
        window().dispatch("on_textinput", char)
    key(h, ENTER)


def back_to_welcome(h: KivyHarness) -> None:
    """End whatever trip is open, as staff would, and wait for the welcome screen."""
    h.back_to_welcome()


def line_names(h: KivyHarness) -> list[str]:
    return [str(row["name"]) for row in h.screen("basket").lines]


def test_01_the_start_up_note_is_on_screen(kivy_app: KivyHarness) -> None:
    h = kivy_app
    if Path("/dev/video0").exists():
        pytest.skip("this machine has a webcam: no fallback note to show")
    assert "no webcam at /dev/video0" in h.startup_message
    assert (SCREENSHOTS / "00-startup-note.png").exists()  # the banner, photographed at start
    assert h.app.message == ""  # and closed, so that it covers no button the tests tap


def test_02_scan_then_put_it_in_with_the_dev_panel(kivy_app: KivyHarness) -> None:
    h = kivy_app
    back_to_welcome(h)
    scan(h, "<not a code>")  # at the welcome screen: said so, nothing starts
    h.wait(lambda: bool(h.screen("welcome").view.message), "bad code message")
    assert state(h) is SessionState.IDLE
    scan(h, MILK_STD)  # a product code at the welcome screen starts the trip
    h.wait(lambda: current(h) == "basket", "basket after the scan")
    assert state(h) is SessionState.SHOPPING and h.ui.wedge.pending == ""
    assert h.ui.dev.available  # the laptop profile with the simulated scale
    topbar = h.app.root.ids.topbar
    assert topbar.ids.dev.width > 0 and topbar.ids.dev.opacity == 1
    key(h, F12)
    panel = h.app.dev_panel
    h.wait(lambda: panel.parent is window(), "developer panel on the window")
    if h.startup_message:
        assert "no webcam" in panel.ids.warnings.text  # the fallback is said on the panel too
    for digit in "1060":
        h.tap(next(k for k in panel.ids.digits.children if k.key_name == digit))
    assert panel.ids.grams.text == "1 060 g"
    h.wait(lambda: "Scale:" in panel.ids.reading.text, "the simulated scale's reading")
    h.tap(panel.ids.put)  # the scanned milk goes in: barcode and weight agree
    h.wait(lambda: line_names(h) == ["Standardmjölk 3 % 1 l"], "the scanned item's line", 20)
    assert panel.ids.last.text.startswith("✓ 1 060 g put in")
    evidence = h.screen("basket").view.last_added
    assert evidence is not None and evidence.barcode == "Barcode 07350999000103"
    h.shot("21-dev-panel-basket")


def test_03_a_prompt_answered_by_scanning(kivy_app: KivyHarness) -> None:
    h = kivy_app
    panel = h.app.dev_panel
    h.tap(panel.ids.put)  # the same weight again, with no barcode and no camera evidence
    h.wait(lambda: h.app.prompt.view is not None, "unseen item prompt", timeout=20)
    h.pump(5)
    assert window().children[0] is panel  # the panel stays above the question
    h.shot("22-dev-panel-prompt")
    scan(h, MILK_MED)  # answering the prompt by scanning the item
    h.wait(lambda: h.app.prompt.view is None, "prompt answered by the scan", timeout=15)
    h.wait(lambda: len(line_names(h)) == 2, "the scanned item's line")
    assert line_names(h)[-1] == "Mellanmjölk 1,5 % 1 l"
    key(h, F6)  # take 1 060 g out: two lines weigh that, so the cart asks which
    h.wait(lambda: h.app.prompt.view is not None, "which item prompt", timeout=20)
    choice = next(c for c in h.app.prompt.ids.choices.children if "Mellanmjölk" in c.label)
    h.tap(choice)
    h.wait(lambda: line_names(h) == ["Standardmjölk 3 % 1 l"], "line removed", timeout=20)
    for shortcut, words in ((F7, "leaned"), (F8, "pushed")):
        key(h, shortcut)
        h.wait(lambda: words in panel.ids.last.text, f"{words} reported")  # noqa: B023
    # The lean and the push pass; the basket's items weigh what they did.
    h.wait(lambda: "items 1 060 g (settled)" in panel.ids.reading.text, "scale settled", 20)
    h.pump(20)
    assert line_names(h) == ["Standardmjölk 3 % 1 l"] and h.app.prompt.view is None
    key(h, F12)
    h.wait(lambda: panel.parent is None, "panel hidden")


def test_04_budget_on_the_keypad(kivy_app: KivyHarness) -> None:
    h = kivy_app
    basket = h.screen("basket")
    assert line_names(h) == ["Standardmjölk 3 % 1 l"]
    h.tap(basket.ids.budget)
    dialog = h.app.budget_dialog
    h.wait(lambda: dialog._window is not None, "budget dialog")
    for digit in "19":
        h.tap(h.find(dialog.ids.pad, digit, "PadKey"))
    assert dialog.ids.amount.text == "19,00 kr"
    h.shot("23-budget-keypad")
    h.tap(dialog.ids.ok)
    h.wait(lambda: dialog._window is None, "dialog closed")
    h.wait(lambda: basket.view.budget.visible, "budget shown")
    assert basket.view.budget.text == "Close to your budget: 1,05 kr left of 19,00 kr"
    assert basket.view.budget.icon == "!"
    h.shot("24-basket-budget")
    # "No budget" takes it away again.
    h.tap(basket.ids.budget)
    h.wait(lambda: dialog._window is not None, "budget dialog again")
    h.tap(dialog.ids.none)
    h.wait(lambda: not basket.view.budget.visible, "no budget")


def test_05_enrolment_from_the_camera(kivy_app: KivyHarness) -> None:
    h = kivy_app
    h.tap(h.app.root.ids.topbar.ids.staff_key)
    h.wait(lambda: current(h) == "staff_login", "PIN pad")
    pad = h.screen("staff_login").ids.pad
    for digit in TEST_PIN:
        h.tap(h.find(pad, digit, "PinKey"))
    h.tap(h.screen("staff_login").ids.ok)
    h.wait(lambda: current(h) == "maintenance", "maintenance")
    m = h.screen("maintenance")
    h.tap(m.ids.tab_enrol)
    h.wait(lambda: m.tab == "enrol", "enrolment tab")
    panel = m.ids.enrol
    if not h.ui.enrol.available:
        assert "off" in panel.ids.note.text or "No camera" in panel.ids.note.text
        pytest.skip("no recognition model on this machine: enrolment is off, as the tab says")
    for char in "mjölk":
        h.tap(next(k for k in panel.ids.keyboard.walk() if getattr(k, "key_name", "") == char))
    h.wait(lambda: len(panel.results) >= 2, "search results")
    h.tap(h.find(panel.ids.results, "Pick", "BigButton"))
    h.wait(lambda: bool(panel.view.product), "product picked")
    # A scanned barcode picks its product too.
    scan(h, MILK_MED)
    h.wait(lambda: panel.view.product == "Mellanmjölk 1,5 % 1 l", "product picked by scan")
    assert "Label Arla-Medium-Fat-Milk" in panel.ids.note.text
    h.wait(lambda: panel.ids.preview.has_frame, "live camera preview")
    for n in range(1, MIN_SHOTS + 1):
        h.tap(panel.ids.capture)
        h.wait(lambda: len(panel.ids.shots.children) == n, f"{n} views captured")  # noqa: B023
    h.tap(panel.ids.shots.children[0].children[0])  # the last view's ✕
    h.wait(lambda: len(panel.ids.shots.children) == MIN_SHOTS - 1, "one view dropped")
    h.tap(panel.ids.capture)
    h.wait(lambda: len(panel.ids.shots.children) == MIN_SHOTS, "captured again")
    h.shot("25-maintenance-enrol")
    enroller = h.ui.deps.enroller
    before = enroller.references("Arla-Medium-Fat-Milk")
    h.tap(panel.ids.enrol)
    h.wait(lambda: panel.view.message.startswith("✓"), "enrolled", timeout=60)
    assert enroller.references("Arla-Medium-Fat-Milk") > before
    assert panel.ids.shots.children == []
    h.shot("26-maintenance-enrolled")
    h.tap(m.ids.tab_audit)
    h.wait(lambda: any("enrolled Mellanmjölk" in r["what"] for r in m.audit), "audit row")


def test_06_device_health_in_swedish(kivy_app: KivyHarness) -> None:
    h = kivy_app
    m = h.screen("maintenance")
    h.tap(m.ids.tab_health)
    h.wait(lambda: m.tab == "health" and m.health is not None and m.health.rows, "devices")
    h.tap(h.app.root.ids.topbar.ids.language)
    h.wait(lambda: h.app.lang == "sv", "Swedish")
    h.ui.poll_health()
    h.pump(4)
    names = [r.name for r in m.health.rows]
    assert "våg" in names and "butik" in names and "batteri" in names
    assert all(r.state not in ("running", "ok", "unknown", "embedded") for r in m.health.rows)
    h.shot("27-maintenance-devices-swedish")
    h.tap(h.app.root.ids.topbar.ids.language)
    h.wait(lambda: h.app.lang == "en", "English again")
    h.tap(m.ids.tab_session)
    back_to_welcome(h)
