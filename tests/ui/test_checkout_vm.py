"""Checkout summary, the handoff code, the payment status and the offline case."""

from __future__ import annotations

import pytest

from cart_app.clock import FakeClock
from cart_app.engine import Engine
from cart_app.events import (
    ChangeKind,
    CompleteSession,
    Confirm,
    HandOff,
    RequestCheckout,
    StartSession,
)
from cart_app.session import SessionState
from cart_app.store.link import HandoffRefused, HandoffTicket, LinkState, LinkStatus
from tests.ui.conftest import run
from ui.handoff import DEMO_PREFIX, OnBoardHandoff
from ui.i18n import Translator
from ui.viewmodels.checkout import DONE_ICON, NOW_ICON, TODO_ICON, CheckoutVM


def checkout_vm(tr: Translator, clock: FakeClock, *, has_store: bool = True) -> CheckoutVM:
    return CheckoutVM("SEK", tr, clock.wall, has_store=has_store, exit_lane=lambda: "LANE-1")


def online(clock: FakeClock) -> LinkStatus:
    return LinkStatus(LinkState.ONLINE, "ok", clock.wall(), 0)


def test_summary(engine: Engine, tr: Translator, clock: FakeClock) -> None:
    vm = checkout_vm(tr, clock)
    run(engine, StartSession())
    run(engine, Confirm(ChangeKind.ADD, "D-YOGHURT-NAT", 3))
    run(engine, Confirm(ChangeKind.ADD, "FV-BANANA", 1, weight_g=642.0))
    run(engine, Confirm(ChangeKind.ADD, "J-LAGER-50CL", 1))
    vm.update(run(engine, RequestCheckout()))
    s = vm.summary
    assert [(line.text, line.price) for line in s.lines] == [
        ("3 × Yoghurt naturell 3 % 1 kg", "49,90 kr"),
        ("Bananer ekologiska  0,642 kg", "19,20 kr"),
        ("1 × Folköl ljus lager 3,5 % 50 cl  (18+)", "16,90 kr"),
    ]
    assert s.total == "86,00 kr"
    assert s.item_count == "Items: 5"
    assert s.savings == "You save 24,95 kr in total"
    assert s.tax.startswith("Including VAT ")
    assert s.age_note.startswith("18+ ")
    assert s.can_pay and not s.busy


def test_handoff_sent_waiting_paid(engine: Engine, tr: Translator, clock: FakeClock) -> None:
    vm = checkout_vm(tr, clock)
    vm.link_changed(online(clock))
    run(engine, StartSession())
    run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 2))
    vm.update(run(engine, RequestCheckout()))
    vm.sending()
    assert vm.summary.busy and not vm.summary.can_pay
    assert vm.handoff.status == "Sending your basket…"
    assert [s.icon for s in vm.handoff.steps] == [NOW_ICON, TODO_ICON, TODO_ICON]
    ticket = HandoffTicket("h1", "SC1:TOKEN", int(clock.wall()) + 900, 3590, "SEK")
    vm.update(run(engine, HandOff("h1", "SC1:TOKEN")))
    vm.handed_off(ticket)
    h = vm.handoff
    assert h.qr_payload == "SC1:TOKEN"
    assert h.total == "35,90 kr"
    assert h.lane == "Go to exit lane LANE-1 and show this code."
    assert [s.icon for s in h.steps] == [DONE_ICON, NOW_ICON, TODO_ICON]
    assert [s.state for s in h.steps] == ["done", "now", "todo"]
    assert h.status == "Waiting for payment at the exit lane."
    assert not h.offline and h.offline_text == ""
    assert h.expires.startswith("Code valid until ")
    assert h.can_go_back
    vm.update(run(engine, CompleteSession()))
    h = vm.handoff
    assert h.paid and h.status == "Paid. Thank you for shopping with us!"
    assert [s.icon for s in h.steps] == [DONE_ICON, DONE_ICON, DONE_ICON]
    assert h.qr_payload == ""  # a paid code is not shown again


def test_offline_says_pay_at_a_staffed_lane(
    engine: Engine, tr: Translator, clock: FakeClock
) -> None:
    vm = checkout_vm(tr, clock)
    vm.link_changed(LinkStatus(LinkState.OFFLINE, "unreachable", clock.wall(), 2))
    run(engine, StartSession())
    run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1))
    run(engine, RequestCheckout())
    vm.update(run(engine, HandOff("h1", "SC1:T")))
    vm.handed_off(HandoffTicket("h1", "SC1:T", int(clock.wall()) + 900, 1795, "SEK"))
    h = vm.handoff
    assert h.offline and h.offline_text == "Pay at any staffed lane with this code."
    assert h.status == "The store cannot be reached right now."
    assert h.qr_payload == "SC1:T"
    # "Sent" is not ticked while the store has not been reached.
    assert h.steps[0].icon != DONE_ICON


def test_an_expired_code_says_so(engine: Engine, tr: Translator, clock: FakeClock) -> None:
    vm = checkout_vm(tr, clock)
    run(engine, StartSession())
    run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1))
    run(engine, RequestCheckout())
    vm.update(run(engine, HandOff("h1", "SC1:T")))
    vm.handed_off(HandoffTicket("h1", "SC1:T", int(clock.wall()) + 60, 1795, "SEK"))
    clock.advance(61)
    vm.link_changed(online(clock))
    assert vm.token_expired()
    assert vm.handoff.expires == "This code has expired."


def test_failure_and_reopening(engine: Engine, tr: Translator, clock: FakeClock) -> None:
    vm = checkout_vm(tr, clock)
    run(engine, StartSession())
    run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1))
    vm.update(run(engine, RequestCheckout()))
    vm.sending()
    vm.handoff_failed("the cart is busy; try again")
    assert vm.summary.error == "Could not hand off the basket: the cart is busy; try again"
    assert vm.summary.can_pay
    vm.update(run(engine, vm.back_to_shopping()))
    assert vm.summary.error == "" and not vm.summary.can_pay


def test_on_board_handoff_records_it(engine: Engine, clock: FakeClock) -> None:
    engine.start()
    handoff = OnBoardHandoff(engine, "SEK", clock.wall, new_id=lambda: "h42")
    with pytest.raises(HandoffRefused, match="from checkout"):
        handoff.hand_off()
    engine.call(StartSession(), timeout=5)
    engine.call(Confirm(ChangeKind.ADD, "D-MILK-STD", 1), timeout=5)
    engine.call(RequestCheckout(), timeout=5)
    ticket = handoff.hand_off()
    basket = engine.snapshot.basket
    assert basket.state is SessionState.HANDED_OFF and basket.handoff_key == "h42"
    assert ticket.token == f"{DEMO_PREFIX}cart-ui:{basket.session_id}:h42"
    assert ticket.total_cents == 1795
    assert ticket.expires_at == int(clock.wall() + 900)


def test_without_a_store_every_code_is_for_a_staffed_lane(
    engine: Engine, tr: Translator, clock: FakeClock
) -> None:
    vm = checkout_vm(tr, clock, has_store=False)
    run(engine, StartSession())
    run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1))
    run(engine, RequestCheckout())
    vm.update(run(engine, HandOff("h1", "SCDEMO:x")))
    vm.handed_off(HandoffTicket("h1", "SCDEMO:x", int(clock.wall()) + 900, 1795, "SEK"))
    assert vm.handoff.offline
