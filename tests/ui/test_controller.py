"""A whole trip through the UI's controller and view-models, headless, on a real CartApp."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cart_app.app import CartApp
from cart_app.events import Ask, ChangeKind, CompleteSession, Confirm, Lock
from cart_app.records import PromptAnswered
from cart_app.session import SessionState
from tests.ui.cart import TEST_PIN, build_cart, scanned_in, wait_until, weighed_in
from ui.controller import CartUi, Part, ScannedText
from ui.viewmodels.session import Screen
from ui.wiring import build_deps


@pytest.fixture
def cart(tmp_path: Path) -> Iterator[CartApp]:
    app = build_cart(tmp_path / "data")
    app.start()
    yield app
    app.stop()


@pytest.fixture
def ui(cart: CartApp) -> Iterator[CartUi]:
    controller = CartUi(build_deps(cart))
    controller.bridge.set_scheduler(lambda: None)  # the test pumps dispatch itself
    controller.attach()
    yield controller
    controller.detach()


def screen(ui: CartUi) -> Screen:
    """The screen shown (a call, so that type narrowing does not outlive an action)."""
    return ui.screen


def state(ui: CartUi) -> SessionState | None:
    return ui.snapshot.basket.state if ui.snapshot else None


def test_a_whole_trip(ui: CartUi, cart: CartApp) -> None:
    pump = ui.bridge.dispatch
    changes: list[frozenset[Part]] = []
    ui.observe(changes.append)
    wait_until(lambda: ui.snapshot is not None, pump, what="first snapshot")
    assert screen(ui) is Screen.WELCOME

    ui.start()
    wait_until(lambda: screen(ui) is Screen.BASKET, pump, what="basket screen")
    cart.engine.submit(scanned_in("D-MILK-STD", "07350999000103", 1061.0))
    cart.engine.submit(weighed_in("FV-BANANA", 642.0))
    wait_until(lambda: len(ui.basket.view.lines) == 2, pump, what="two lines")
    assert ui.basket.view.lines[1].detail == "0,642 kg × 29,90 kr/kg"
    assert ui.basket.view.last_added is not None
    assert ui.basket.view.last_added.name == "Bananer ekologiska"

    # The cart asks; the shopper taps the right product; fusion adds it.
    cart.engine.submit(Ask("ambiguous_item", ("D-YOGHURT-NAT", "D-YOGHURT-VAN", ":scan")))
    wait_until(lambda: ui.prompt.view is not None, pump, what="prompt")
    assert ui.prompt.view is not None
    assert not ui.basket.view.can_checkout
    ui.answer(ui.prompt.view.choices[1].answer)
    wait_until(lambda: ui.prompt.view is None and len(ui.basket.view.lines) == 3, pump)
    assert ui.basket.view.lines[-1].name == "Vaniljyoghurt 1 kg"

    # Removing: the screen explains; the item taken out is what removes the line.
    milk = ui.basket.view.lines[0]
    ui.explain_remove(milk.line_id)
    assert "take it out" in ui.guidance
    cart.engine.submit(Confirm(ChangeKind.REMOVE, "D-MILK-STD", 1))
    wait_until(lambda: len(ui.basket.view.lines) == 2, pump, what="line removed")

    # Map and search while shopping.
    ui.search("mjölk")
    assert ui.search_results[0].sku == "D-MILK-STD"
    ui.add_to_list("D-MILK-STD")
    ui.show_on_map("D-MILK-STD")
    assert screen(ui) is Screen.MAP
    assert ui.map.view.next_item.startswith("Next: Standardmjölk")
    ui.go(Screen.BASKET)

    ui.checkout_request()
    wait_until(lambda: screen(ui) is Screen.CHECKOUT, pump, what="checkout")
    assert ui.checkout.summary.can_pay
    ui.pay()
    wait_until(lambda: ui.checkout.handoff.qr_payload != "", pump, what="handoff code")
    assert screen(ui) is Screen.HANDOFF
    assert ui.checkout.handoff.qr_payload.startswith("SCDEMO:cart-ui-test:")
    assert ui.checkout.handoff.offline  # embedded store: pay at a staffed lane
    assert ui.checkout.handoff.lane.startswith("Go to exit lane LANE-")

    # The lane reports it paid.
    cart.engine.submit(CompleteSession("paid"))
    wait_until(lambda: ui.checkout.handoff.paid, pump, what="paid")
    ui.finish()
    wait_until(lambda: screen(ui) is Screen.WELCOME, pump, what="welcome again")
    assert Part.SCREEN in set().union(*changes)


def test_bags_scanned_codes_and_refusals(ui: CartUi, cart: CartApp) -> None:
    pump = ui.bridge.dispatch
    wait_until(lambda: ui.snapshot is not None, pump)
    ui.bridge.post(ScannedText("SCAPP:member-1;list=D-MILK-STD,C-CHEESE-DELI"))
    wait_until(lambda: screen(ui) is Screen.BASKET, pump, what="trip started by the app code")
    assert ui.map.shopping_list == ("D-MILK-STD", "C-CHEESE-DELI")
    ui.dismiss_message()  # the laptop's start-up note (no webcam here)
    ui.start()  # a second start is refused by the engine, and the screen says so
    wait_until(lambda: bool(ui.message), pump, what="refusal message")
    assert ui.message == "Not possible: a session is already shopping"
    ui.dismiss_message()
    ui.pay()  # not in checkout: the handoff is refused, and said so
    wait_until(lambda: bool(ui.checkout.summary.error), pump, what="handoff refusal")
    assert "from checkout" in ui.checkout.summary.error


def test_bags_mode(ui: CartUi, cart: CartApp) -> None:
    pump = ui.bridge.dispatch
    wait_until(lambda: ui.snapshot is not None, pump)
    ui.start_with_bags()
    wait_until(lambda: screen(ui) is Screen.BASKET, pump)
    assert ui.guidance.startswith("Put your bags in the basket now.")
    cart.engine.submit(Ask("unseen_item", (":scan", ":show", ":not_mine"), prompt_id="bags"))
    wait_until(lambda: ui.prompt.view is not None, pump)
    assert ui.prompt.view is not None
    assert ui.prompt.view.choices[0].label == "These are my bags"


def test_staff_unlock_actions_and_auto_lock(ui: CartUi, cart: CartApp) -> None:
    pump = ui.bridge.dispatch
    wait_until(lambda: ui.snapshot is not None, pump)
    ui.start()
    cart.engine.submit(scanned_in("D-MILK-STD", "07350999000103", 1061.0))
    cart.engine.submit(Lock("tamper"))
    wait_until(lambda: screen(ui) is Screen.LOCKED, pump, what="locked screen")
    ui.open_staff_login()
    assert screen(ui) is Screen.STAFF_LOGIN
    for key in "1111":
        ui.staff_key(key)
    ui.staff_key("ok")
    wait_until(lambda: "Wrong PIN" in ui.staff.view.message, pump, what="wrong PIN")
    for key in TEST_PIN:
        ui.staff_key(key)
    ui.staff_key("ok")
    wait_until(lambda: screen(ui) is Screen.MAINTENANCE, pump, what="maintenance")
    wait_until(lambda: bool(ui.audit), pump, what="audit log")
    assert any("locked" in row.what for row in ui.audit)
    assert ui.maintenance.view.can_unlock_cart
    ui.unlock_cart()
    wait_until(lambda: state(ui) is SessionState.SHOPPING, pump, what="unlocked")
    ui.void_line(ui.maintenance.view.lines[0].line_id)
    wait_until(lambda: not ui.maintenance.view.lines, pump, what="line voided")
    ui.poll_health()
    assert ui.health is not None and ui.health.view.rows
    ui.export_diagnostics()
    wait_until(lambda: "Diagnostics written" in ui.message, pump, what="diagnostics")
    ui.staff_lock()
    assert screen(ui) is Screen.BASKET


def test_something_else_for_the_shopper_and_for_staff(ui: CartUi, cart: CartApp) -> None:
    pump = ui.bridge.dispatch
    wait_until(lambda: ui.snapshot is not None, pump)
    ui.dismiss_message()  # the laptop's start-up note (no webcam here)
    ui.start()
    wait_until(lambda: screen(ui) is Screen.BASKET, pump, what="basket")
    # A question asked directly has no weight of its own: an item too light for the scale fits.
    cart.engine.submit(Ask("too_light_unclear", (":scan", ":none", ":other"), prompt_id="gum"))
    wait_until(lambda: ui.prompt.view is not None, pump, what="prompt")
    ui.answer(":other")
    assert ui.picker_visible and ui.picker.view.prompt_id == "gum"
    ui.picker_search("tuggummi")
    ui.picker_pick("K-CHEWING-GUM")
    ui.picker_step(0, 1)
    assert ui.picker.view.answer == "K-CHEWING-GUM*2"
    ui.picker_cancel()  # back to the question, nothing sent
    assert not ui.picker_visible and ui.prompt.view is not None
    ui.answer(":other")
    assert ui.picker.view.picked == ()  # a fresh pick
    ui.picker_search("tuggummi")
    ui.picker_pick("K-CHEWING-GUM")
    ui.picker_step(0, 1)
    ui.picker_confirm()
    assert not ui.picker_visible
    wait_until(lambda: bool(ui.basket.view.lines), pump, what="the named item's line")
    line = ui.basket.view.lines[-1]
    assert (line.name, ui.prompt.view) == ("Tuggummi pepparmint 10 st", None)
    assert ui.snapshot is not None and ui.snapshot.basket.lines[-1].quantity == 2

    # "Scan it" and "Call staff" stay on the picker, and lead back to the question.
    cart.engine.submit(Ask("unseen_item", (":show", ":scan", ":other"), prompt_id="flag"))
    wait_until(lambda: ui.prompt.view is not None, pump, what="second prompt")
    ui.answer(":other")
    ui.picker_scan()
    assert not ui.picker_visible and ui.prompt.view is not None
    assert ui.prompt.view.waiting_for == "scan"
    ui.prompt_back()
    ui.answer(":other")
    ui.picker_call_staff()
    assert not ui.picker_visible and ui.prompt.view.waiting_for == "staff"

    # Staff answer the flagged prompt from maintenance with "Something else".
    ui.open_staff_login()
    for key in TEST_PIN:
        ui.staff_key(key)
    ui.staff_key("ok")
    wait_until(lambda: screen(ui) is Screen.MAINTENANCE, pump, what="maintenance")
    (flagged,) = ui.maintenance.view.prompts
    assert ":other" in dict(flagged.answers)
    ui.resolve_prompt("flag", ":other")
    assert ui.picker_visible and ui.picker.view.staff
    ui.picker_search("tuggummi")
    ui.picker_pick("K-CHEWING-GUM")
    ui.picker_confirm()
    wait_until(lambda: not ui.maintenance.view.prompts, pump, what="prompt resolved by staff")
    answered = [
        r
        for r in cart.ledger.records(ui.snapshot.basket.session_id)
        if isinstance(r, PromptAnswered) and r.prompt_id == "flag"
    ]
    assert [(r.answer, r.answered_by.split()[0]) for r in answered] == [("K-CHEWING-GUM", "staff")]
    # A staff pick closes with maintenance.
    cart.engine.submit(Ask("unseen_item", (":scan", ":other"), prompt_id="again"))
    wait_until(lambda: bool(ui.maintenance.view.prompts), pump, what="third prompt")
    ui.resolve_prompt("again", ":other")
    assert ui.picker.staff
    ui.staff_lock()
    assert not ui.picker.is_open and not ui.picker_visible
