"""The real Kivy app under Xvfb, driven by simulated touches through a whole trip, with a
1280×800 screenshot of every screen in ``screenshots/`` (git-ignored) for people to look at.

One app per process (Kivy allows one window): the tests share the session's app and run in
file order, each starting from the state the previous one left (they say which).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cart_app.events import Ask, ChangeKind, CompleteSession, Confirm, Lock
from cart_app.session import SessionState
from tests.ui.cart import TEST_PIN, scanned_in, weighed_in
from tests.ui.conftest import KivyHarness

pytestmark = pytest.mark.ui


def state(h: KivyHarness) -> SessionState:
    snap = h.ui.snapshot
    return snap.basket.state if snap else SessionState.IDLE


def current(h: KivyHarness) -> str:
    """The screen shown, once the switch to it has finished."""
    return h.shown()


def line_button(h: KivyHarness, name: str) -> Any:
    """The "Remove or change" button of the basket line showing ``name``."""
    rows = [w for w in h.screen("basket").walk(restrict=True) if type(w).__name__ == "LineRow"]
    row = next(r for r in rows if r.name == name)
    return h.find(row, "Remove", "BigButton")


def showing(maintenance: Any, tab: str) -> Callable[[], bool]:
    """Whether the maintenance screen shows ``tab``."""
    return lambda: bool(maintenance.tab == tab)


def choice(h: KivyHarness, label: str) -> Any:
    grid = h.app.prompt.ids.choices
    return next(c for c in grid.children if c.label == label)


def test_01_welcome_and_start(kivy_app: KivyHarness) -> None:
    h = kivy_app
    h.wait(lambda: current(h) == "welcome", "welcome screen")
    welcome = h.screen("welcome")
    assert "Start shopping" in welcome.ids.start.text
    assert welcome.ids.start.height >= 64 and welcome.ids.bags.height >= 64
    h.shot("01-welcome")
    h.tap(welcome.ids.start)
    h.wait(lambda: current(h) == "basket", "basket screen after the start tap")
    assert state(h) is SessionState.SHOPPING


def test_02_items_go_in(kivy_app: KivyHarness) -> None:
    h = kivy_app
    engine = h.cart.engine
    engine.submit(scanned_in("D-MILK-STD", "07350999000103", 1061.0))
    engine.submit(weighed_in("FV-BANANA", 642.0))
    engine.submit(scanned_in("D-YOGHURT-NAT", "07350999000189", 3120.0, 3))
    engine.submit(scanned_in("J-LAGER-50CL", "07350999000349", 520.0))
    basket = h.screen("basket")
    h.wait(lambda: len(basket.lines) == 4, "four lines on screen")
    h.pump(5)
    assert basket.ids.total.text == "103,95 kr"
    shown = [r for r in basket.walk(restrict=True) if type(r).__name__ == "LineRow"]
    assert {r.detail for r in shown} >= {"0,642 kg × 29,90 kr/kg", "3 × 24,95 kr"}
    assert [r.highlighted for r in shown if r.name.startswith("Folköl")] == [True]
    assert "Scanned barcode" in h.find(basket.ids.evidence, "Barcode").text
    assert not basket.ids.checkout.disabled
    h.shot("02-basket")


def test_03_prompt_answered_by_touch(kivy_app: KivyHarness) -> None:
    h = kivy_app
    engine = h.cart.engine
    engine.submit(Ask("ambiguous_item", ("D-MILK-STD", "D-MILK-MED*2", ":scan", ":not_mine")))
    h.wait(lambda: h.app.prompt.view is not None, "prompt overlay")
    h.pump(5)
    labels = [c.label for c in reversed(h.app.prompt.ids.choices.children)]
    assert labels == [
        "Standardmjölk 3 % 1 l",
        "2 × Mellanmjölk 1,5 % 1 l",
        "Scan it",
        "This is mine",
        "Call staff",
    ]
    assert all(c.height >= 64 for c in h.app.prompt.ids.choices.children)
    assert h.screen("basket").ids.checkout.disabled  # an open question blocks checkout
    # The screens under the question are left out of the drawing while it covers them.
    content = h.app.root.ids.content
    assert content.canvas not in h.app.root.canvas.children
    h.shot("03-prompt")
    # "Scan it" switches to the scan instruction (the scan answers); back to the answers.
    h.tap(choice(h, "Scan it"))
    h.wait(lambda: h.app.prompt.view.waiting_for == "scan", "scan instruction")
    h.shot("04-prompt-scan")
    h.tap(h.find(h.app.prompt, "Back to the answers", "BigButton"))
    h.wait(lambda: h.app.prompt.view.waiting_for == "", "answers again")
    h.tap(choice(h, "2 × Mellanmjölk 1,5 % 1 l"))
    h.wait(lambda: h.app.prompt.view is None, "prompt closed")
    basket = h.screen("basket")
    h.wait(lambda: len(basket.lines) == 5, "the answer's line")
    assert basket.lines[-1]["name"] == "Mellanmjölk 1,5 % 1 l"
    assert h.app.prompt._window is None
    assert h.app.root.canvas.children[0] is content.canvas  # drawn again, underneath the rest


def test_04_remove_through_the_normal_flow(kivy_app: KivyHarness) -> None:
    h = kivy_app
    basket = h.screen("basket")
    h.tap(line_button(h, "Standardmjölk 3 % 1 l"))
    h.wait(lambda: "take it out" in basket.guidance, "removal guidance")
    h.shot("05-basket-remove")
    # The shopper takes the milk out; fusion confirms the removal.
    h.cart.engine.submit(Confirm(ChangeKind.REMOVE, "D-MILK-STD", 1))
    h.wait(lambda: len(basket.lines) == 4, "line removed")
    h.tap(h.find(basket, "Close", "BigButton"))
    h.wait(lambda: basket.guidance == "", "guidance closed")


def test_05_list_map_and_search(kivy_app: KivyHarness) -> None:
    h = kivy_app
    h.ui.map.set_list(["C-CHEESE-DELI", "S-CRISPBREAD", "FV-BANANA", "J-TROP-APPLE"])
    h.tap(h.screen("basket").ids.to_search)
    h.wait(lambda: current(h) == "search", "search screen")
    search = h.screen("search")
    for key in "mjölk":
        h.tap(next(k for k in search.ids.keyboard.walk() if getattr(k, "key_name", "") == key))
    h.wait(lambda: len(search.results) >= 2, "search results")
    assert search.ids.query.text.startswith("mjölk")
    assert search.results[0]["where"] == "Mejeri, shelf D-1"
    # The running total stays in sight away from the basket, on the way back to it.
    total = h.screen("basket").view.total
    assert total and search.ids.to_basket.text.endswith(total)
    h.shot("07-search")
    h.tap(h.find(search, "Show on map", "BigButton"))
    h.wait(lambda: current(h) == "map", "map screen")
    map_screen = h.screen("map")
    assert map_screen.view.highlight is not None
    assert map_screen.view.next_item.startswith("Next: ")
    assert [i["found"] for i in map_screen.items].count(True) == 1  # the bananas are in
    assert map_screen.ids.to_basket.text.endswith(total)
    h.shot("06-map")
    h.tap(map_screen.ids.to_basket)
    h.wait(lambda: current(h) == "basket", "back to the basket")


def test_06_checkout_handoff_paid(kivy_app: KivyHarness) -> None:
    h = kivy_app
    h.tap(h.screen("basket").ids.checkout)
    h.wait(lambda: current(h) == "checkout", "checkout screen")
    checkout = h.screen("checkout")
    h.wait(lambda: checkout.view is not None and checkout.view.can_pay, "summary")
    assert checkout.view.age_note.startswith("18+")
    h.shot("08-checkout")
    h.tap(checkout.ids.pay)
    h.wait(lambda: current(h) == "handoff", "handoff screen")
    handoff = h.screen("handoff")
    h.wait(lambda: handoff.ids.qr.payload.startswith("SCDEMO:"), "QR code")
    assert handoff.view.offline_text == "Pay at any staffed lane with this code."
    assert handoff.view.lane.startswith("Go to exit lane LANE-")
    picture = h.shot("09-handoff")
    # The code on screen scans back to the token (with the barcode reader the cart itself uses).
    cv2 = pytest.importorskip("cv2")
    pyzbar = pytest.importorskip("pyzbar.pyzbar")
    decoded = [d.data.decode() for d in pyzbar.decode(cv2.imread(str(picture)))]
    assert decoded == [handoff.ids.qr.payload]
    h.cart.engine.submit(CompleteSession("paid"))
    h.wait(lambda: handoff.view.paid, "paid")
    h.shot("10-paid")
    h.tap(handoff.ids.done)
    h.wait(lambda: current(h) == "welcome", "welcome after paying")


def test_07_locked_cart_and_maintenance(kivy_app: KivyHarness) -> None:
    h = kivy_app
    engine = h.cart.engine
    h.tap(h.screen("welcome").ids.start)
    h.wait(lambda: current(h) == "basket", "a new trip")
    engine.submit(scanned_in("D-MILK-STD", "07350999000103", 1061.0))
    engine.submit(Ask("staff_needed", ("D-MILK-MED", ":scan", ":none")))
    engine.submit(Lock("tamper: weight without a session"))
    h.wait(lambda: current(h) == "locked", "locked screen")
    h.shot("11-locked")
    h.tap(h.app.root.ids.topbar.ids.staff_key)
    h.wait(lambda: current(h) == "staff_login", "PIN pad")
    pad = h.screen("staff_login").ids.pad
    for digit in TEST_PIN:
        h.tap(h.find(pad, digit, "PinKey"))
    h.shot("12-staff-login")
    h.tap(
        h.screen("staff_login").ids.ok if "ok" in h.screen("staff_login").ids else pad.children[0]
    )
    h.wait(lambda: current(h) == "maintenance", "maintenance")
    if not any(part.name.startswith("camera:") for part in h.cart.parts):
        # No camera in this cart: a synthetic frame stands in for the preview (BGR gradient).
        np = pytest.importorskip("numpy")
        frame = np.zeros((480, 640, 3), dtype=np.uint8)
        frame[:, :, 1] = np.linspace(40, 200, 640, dtype=np.uint8)[None, :]
        frame[:, :, 2] = np.linspace(200, 40, 480, dtype=np.uint8)[:, None]
        h.ui.deps.camera_frame = lambda: (frame, (0.15, 0.2, 0.7, 0.6))
    m = h.screen("maintenance")
    h.wait(lambda: m.view is not None and m.view.can_unlock_cart, "session panel")
    h.shot("13-maintenance-session")
    h.tap(m.ids.unlock_cart)
    h.wait(lambda: state(h) is SessionState.SHOPPING, "cart unlocked")
    # Resolve the flagged prompt for the shopper, then void the milk.
    h.tap(h.find(m.ids.staff_prompts, "Resolve", "BigButton"))
    h.wait(lambda: not m.view.prompts, "prompt resolved")
    h.wait(lambda: len(m.view.lines) == 2, "resolved line")
    h.tap(h.find(m.ids.staff_lines, "Void", "BigButton"))
    h.wait(lambda: len(m.view.lines) == 1, "line voided")
    for tab, name in (
        ("tab_health", "14-maintenance-devices"),
        ("tab_camera", "15-maintenance-camera"),
        ("tab_calibrate", "16-maintenance-calibration"),
        ("tab_audit", "17-maintenance-audit"),
    ):
        h.tap(m.ids[tab])
        h.wait(showing(m, tab.removeprefix("tab_")), f"{tab} shown")
        if tab == "tab_camera":
            h.wait(lambda: m.ids.preview.has_frame, "camera preview")
        if tab == "tab_health":
            # The simulated scale's live weight fills the trace.
            h.wait(lambda: len(m.health.trace) >= 8, "weight trace", timeout=8)
        if tab == "tab_calibrate":
            assert m.cal.available
            h.tap(h.find(m.ids.tabs, "Start", "BigButton"))
            h.wait(lambda: m.cal.progress == "step 1 of 5", "calibration step 1")
            # A real capture from the simulated cart board (about 2.5 s of frames).
            h.tap(h.find(m.ids.tabs, "Capture", "BigButton"))
            h.wait(lambda: m.cal.progress == "step 2 of 5", "empty basket captured", 15)
        if tab == "tab_audit":
            h.wait(lambda: any("voided by staff" in r["what"] for r in m.audit), "audit rows")
        h.shot(name)
    assert any(r.name == "store" for r in m.health.rows)
    h.tap(m.ids.export)
    h.wait(lambda: "Diagnostics written" in h.app.message, "diagnostics")
    h.tap(h.find(h.app.root, "Close", "BigButton"))
    h.tap(m.ids.tab_session)
    h.wait(lambda: m.tab == "session", "session tab")
    h.tap(m.ids.end_trip)
    h.wait(lambda: state(h) is SessionState.IDLE, "trip ended by staff")
    h.tap(m.ids.lock)
    h.wait(lambda: current(h) == "welcome", "maintenance locked, welcome again")


def test_08_accessibility_and_language(kivy_app: KivyHarness) -> None:
    h = kivy_app
    topbar = h.app.root.ids.topbar
    h.tap(h.screen("welcome").ids.start)
    h.wait(lambda: current(h) == "basket", "a new trip")
    engine = h.cart.engine
    engine.submit(weighed_in("C-CHEESE-DELI", 1234.0))
    engine.submit(scanned_in("J-TROP-APPLE", "07350999000325", 2160.0, 2))
    h.wait(lambda: len(h.screen("basket").lines) == 2, "two lines")
    h.tap(topbar.ids.large)
    h.tap(topbar.ids.contrast)
    h.wait(lambda: h.app.fs > 1 and h.app.theme_name == "contrast", "large text, contrast")
    assert topbar.ids.large.text.startswith("✓") and topbar.ids.contrast.text.startswith("✓")
    h.shot("18-basket-large-contrast")
    h.tap(h.screen("basket").ids.to_map)
    h.wait(lambda: current(h) == "map", "map")
    h.shot("19-map-large-contrast")
    h.tap(topbar.ids.large)
    h.tap(topbar.ids.contrast)
    h.tap(topbar.ids.language)
    h.wait(lambda: h.app.lang == "sv", "Swedish")
    h.tap(h.screen("map").ids.to_basket)
    h.wait(lambda: current(h) == "basket", "basket")
    assert h.screen("basket").ids.checkout.text.startswith("Till kassan")
    h.shot("20-basket-swedish")
    h.tap(topbar.ids.language)
    h.wait(lambda: h.app.lang == "en", "English again")
