"""End to end: the real cart (engine, ledger, outbox, store link) against the real reference
server on 127.0.0.1: handoff to paid, the network cut mid-handoff, restarts, voids."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

import pytest
import requests

from cart_app.engine import CartSnapshot
from cart_app.events import ChangeKind, Confirm, HandOff
from cart_app.session import SessionState
from cart_app.store.link import HandoffRefused, LinkState
from cart_app.store.token import parse_token
from tests.store.conftest import CART_ID, Cart, CartFactory, Provisioned, StoreServer, wait_for


def lane_pay(
    server: StoreServer, lane_key: str, token: str, amount: int, ref: str = "pay-1"
) -> requests.Response:
    return requests.post(
        f"{server.url}/v1/lane/pay",
        json={"token": token, "lane_id": "lane-1", "payment_ref": ref, "amount_cents": amount},
        headers={"Authorization": f"Bearer {lane_key}"},
        timeout=5,
    )


def lane_verify(server: StoreServer, lane_key: str, token: str) -> requests.Response:
    return requests.post(
        f"{server.url}/v1/lane/verify",
        json={"token": token, "lane_id": "lane-1"},
        headers={"Authorization": f"Bearer {lane_key}"},
        timeout=5,
    )


def state(cart: Cart) -> SessionState:
    return cart.engine.snapshot.basket.state


def test_handoff_then_lane_payment_completes_the_session(
    server: StoreServer, provisioned: Provisioned, carts: CartFactory
) -> None:
    cart = carts.build(server.url, provisioned.cart_key)
    cart.shop()
    cart.checkout()
    ticket = cart.link.hand_off()
    assert state(cart) is SessionState.HANDED_OFF
    session_id = cart.engine.snapshot.basket.session_id
    wait_for(lambda: server.db.count_handoffs(session_id) == 1, what="basket at the store")

    verified = lane_verify(server, provisioned.lane_key, ticket.token).json()
    assert verified["payable"] is True
    assert verified["basket_received"] is True
    assert verified["total_cents"] == ticket.total_cents
    assert len(verified["lines"]) == 3

    paid = lane_pay(server, provisioned.lane_key, ticket.token, ticket.total_cents)
    assert paid.status_code == 200, paid.text
    # The payment watcher's long poll wakes on the payment; the engine records the session done.
    wait_for(lambda: state(cart) is SessionState.DONE, what="session done")
    assert cart.link.status.state is LinkState.ONLINE
    assert any(s.state is LinkState.ONLINE for s in cart.statuses)
    # Paying again with another reference is refused: never a double charge.
    again = lane_pay(server, provisioned.lane_key, ticket.token, ticket.total_cents, ref="pay-2")
    assert again.status_code == 409
    assert again.json()["type"] == "already-paid"


def test_network_cut_mid_handoff_records_exactly_one_basket(
    server: StoreServer, provisioned: Provisioned, carts: CartFactory
) -> None:
    cart = carts.build(server.url, provisioned.cart_key)
    cart.shop()
    wait_for(lambda: cart.outbox.pending_count() == 0, what="session start delivered")
    cart.checkout()
    server.stop()  # the network is cut

    ticket = cart.link.hand_off()  # works offline: the token is signed locally
    assert state(cart) is SessionState.HANDED_OFF
    wait_for(lambda: cart.link.status.state is LinkState.OFFLINE, what="offline")
    assert cart.link.status.pending >= 1
    entry = cart.outbox.get(ticket.handoff_id)
    assert entry is not None and entry.state == "ready" and entry.attempts >= 1

    # The lane can verify the token before the basket arrives (the store knows the key).
    server.start()
    wait_for(lambda: cart.link.status.state is LinkState.ONLINE, what="back online")
    session_id = cart.engine.snapshot.basket.session_id
    wait_for(lambda: server.db.count_handoffs(session_id) == 1, what="basket delivered")
    delivered = cart.outbox.get(ticket.handoff_id)
    assert delivered is not None and delivered.state == "delivered"
    assert server.db.count_handoffs() == 1


class CuttingProxy:
    """A TCP proxy that forwards everything, except that on the first ``cuts`` connections
    carrying ``marker`` it swallows the server's answer and hangs up: the server did the work,
    the cart never hears back (the network died mid-handoff)."""

    def __init__(self, target_port: int, marker: bytes, cuts: int = 1) -> None:
        self._target = target_port
        self._marker = marker
        self.cuts = cuts
        self.cut_done = 0
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self._target))
            cut = threading.Event()
            threading.Thread(target=self._up, args=(conn, upstream, cut), daemon=True).start()
            threading.Thread(target=self._down, args=(upstream, conn, cut), daemon=True).start()

    def _up(self, client: socket.socket, upstream: socket.socket, cut: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while data := client.recv(65536):
                with self._lock:
                    if self._marker in data and self.cut_done < self.cuts:
                        self.cut_done += 1
                        cut.set()
                upstream.sendall(data)
        with contextlib.suppress(OSError):
            upstream.shutdown(socket.SHUT_WR)

    def _down(self, upstream: socket.socket, client: socket.socket, cut: threading.Event) -> None:
        with contextlib.suppress(OSError):
            while data := upstream.recv(65536):
                if cut.is_set():
                    break  # the answer is lost
                client.sendall(data)
        for sock in (client, upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._sock.close()


@pytest.fixture
def proxy(server: StoreServer) -> Iterator[CuttingProxy]:
    p = CuttingProxy(server.port, b"POST /v1/handoffs ", cuts=2)
    yield p
    p.close()


def test_lost_acknowledgement_is_resent_and_stored_once(
    server: StoreServer, provisioned: Provisioned, carts: CartFactory, proxy: CuttingProxy
) -> None:
    cart = carts.build(f"http://127.0.0.1:{proxy.port}", provisioned.cart_key)
    cart.shop()
    cart.checkout()
    ticket = cart.link.hand_off()
    session_id = cart.engine.snapshot.basket.session_id
    wait_for(
        lambda: (cart.outbox.get(ticket.handoff_id) or None).state == "delivered",  # type: ignore[union-attr]
        what="handoff delivered",
    )
    assert proxy.cut_done == 2  # the server stored it, twice the cart heard nothing
    assert server.db.count_handoffs(session_id) == 1
    ack = cart.outbox.get(ticket.handoff_id)
    assert ack is not None and '"replayed":true' in ack.response


def test_cart_restart_with_undelivered_handoff_delivers_it_once(
    server: StoreServer, provisioned: Provisioned, carts: CartFactory
) -> None:
    cart = carts.build(server.url, provisioned.cart_key)
    cart.shop()
    cart.checkout()
    server.stop()
    ticket = cart.link.hand_off()
    carts.stop(cart)  # power cut while offline

    server.start()
    restarted = carts.build(server.url, provisioned.cart_key)
    assert state(restarted) is SessionState.HANDED_OFF
    session_id = restarted.engine.snapshot.basket.session_id
    wait_for(lambda: server.db.count_handoffs(session_id) == 1, what="delivered after restart")
    assert lane_pay(server, provisioned.lane_key, ticket.token, ticket.total_cents).ok
    wait_for(lambda: state(restarted) is SessionState.DONE, what="paid after restart")
    assert server.db.count_handoffs() == 1


def test_crash_between_outbox_and_ledger_is_reconciled(
    server: StoreServer, provisioned: Provisioned, carts: CartFactory
) -> None:
    cart = carts.build(server.url, provisioned.cart_key, start=False)
    cart.engine.start()
    cart.shop()
    cart.checkout()
    session_id = cart.engine.snapshot.basket.session_id
    # Crash 1: the handoff was written (held) but the engine never recorded it.
    cart.outbox.enqueue("a" * 32, "handoff", "{}", session_id=session_id, held=True)
    # Crash 2: the engine recorded a handoff, but the crash came before its release.
    cart.outbox.enqueue("b" * 32, "handoff", "{}", session_id=session_id, held=True)
    event = cart.engine.call(HandOff("b" * 32, "token"), timeout=5)
    assert isinstance(event, CartSnapshot)
    cart.link.reconcile()
    assert cart.outbox.get("a" * 32) is None
    released = cart.outbox.get("b" * 32)
    assert released is not None and released.state == "ready"
    cart.engine.stop()
    cart.outbox.close()
    cart.ledger.close()
    carts.carts.remove(cart)


def test_weight_change_after_handoff_voids_the_token(
    server: StoreServer, provisioned: Provisioned, carts: CartFactory
) -> None:
    cart = carts.build(server.url, provisioned.cart_key)
    cart.shop()
    cart.checkout()
    ticket = cart.link.hand_off()
    wait_for(
        lambda: (e := cart.outbox.get(ticket.handoff_id)) is not None and e.state == "delivered",
        what="handoff delivered",
    )
    # Something more goes in the basket after handoff: shopping reopens, the token is void.
    product = cart.engine.snapshot.basket.lines[0].sku
    cart.engine.call(Confirm(ChangeKind.ADD, product, 1), timeout=5)
    assert state(cart) is SessionState.SHOPPING
    wait_for(
        lambda: server.db.payment_status(ticket.handoff_id, CART_ID).status == "void",
        what="void delivered",
    )
    verified = lane_verify(server, provisioned.lane_key, ticket.token).json()
    assert verified["payable"] is False and verified["status"] == "void"
    paid = lane_pay(server, provisioned.lane_key, ticket.token, ticket.total_cents)
    assert paid.status_code == 409 and paid.json()["type"] == "handoff-void"

    # A new handoff of the changed basket is payable; the old and new tokens differ.
    cart.checkout()
    fresh = cart.link.hand_off()
    assert parse_token(fresh.token).claims.lines_hash != parse_token(ticket.token).claims.lines_hash
    wait_for(
        lambda: server.db.count_handoffs(cart.engine.snapshot.basket.session_id) == 2,
        what="second handoff delivered",
    )
    assert lane_pay(server, provisioned.lane_key, fresh.token, fresh.total_cents).ok
    wait_for(lambda: state(cart) is SessionState.DONE, what="done")


def test_wrong_api_key_degrades_and_loses_nothing(
    server: StoreServer, provisioned: Provisioned, carts: CartFactory
) -> None:
    cart = carts.build(server.url, "sck_wrong-key-wrong-key-wrong")
    cart.shop()
    cart.checkout()
    ticket = cart.link.hand_off()
    wait_for(lambda: cart.link.status.state is LinkState.DEGRADED, what="degraded")
    assert "refused" in cart.link.status.reason and "401" in cart.link.status.reason
    entry = cart.outbox.get(ticket.handoff_id)
    assert entry is not None and entry.state == "ready"  # kept for when the key is fixed
    assert server.db.count_handoffs() == 0
    carts.stop(cart)

    fixed = carts.build(server.url, provisioned.cart_key)
    wait_for(lambda: server.db.count_handoffs() == 1, what="delivered with the right key")
    assert state(fixed) is SessionState.HANDED_OFF


def test_handoff_outside_checkout_is_refused_and_queues_nothing(
    server: StoreServer, provisioned: Provisioned, carts: CartFactory
) -> None:
    cart = carts.build(server.url, provisioned.cart_key)
    cart.shop()
    with pytest.raises(HandoffRefused, match="checkout"):
        cart.link.hand_off()
    assert not [e for e in cart.outbox.entries() if e.kind == "handoff"]


def test_expired_token_reissued(
    server: StoreServer, provisioned: Provisioned, carts: CartFactory
) -> None:
    cart = carts.build(server.url, provisioned.cart_key, token_ttl_s=0.0)
    cart.shop()
    cart.checkout()
    old = cart.link.hand_off()
    server.ctx.token_leeway_s = 0.0
    wait_for(
        lambda: lane_verify(server, provisioned.lane_key, old.token).status_code == 422,
        timeout=5,
        what="token expired",
    )
    refused = lane_pay(server, provisioned.lane_key, old.token, old.total_cents)
    assert refused.json()["type"] == "token-expired"
    fresh = cart.link.reissue()
    assert fresh.handoff_id != old.handoff_id
    assert state(cart) is SessionState.HANDED_OFF


def test_telemetry_delivered_once(
    server: StoreServer, provisioned: Provisioned, carts: CartFactory
) -> None:
    cart = carts.build(server.url, provisioned.cart_key)
    cart.link.report_error("camera", "camera 2 lost", "warning")
    cart.link.report_battery(57, charging=False, voltage_v=24.1)
    cart.link.set_component_health("scale", "ok")
    wait_for(lambda: server.db.telemetry_count(CART_ID) == 2, what="telemetry")
    assert server.db.telemetry_count(CART_ID, "battery") == 1
    wait_for(lambda: cart.outbox.pending_count() == 0, what="outbox empty")


def test_store_that_forgot_the_key_gets_it_again(
    server: StoreServer, provisioned: Provisioned, carts: CartFactory
) -> None:
    cart = carts.build(server.url, provisioned.cart_key)
    wait_for(lambda: cart.outbox.pending_count() == 0, what="key registered")
    from sqlalchemy import delete

    from store_server.db import cart_keys

    with server.db.engine.begin() as conn:
        conn.execute(delete(cart_keys))  # the store's database was restored from an old backup
    cart.shop()
    cart.checkout()
    ticket = cart.link.hand_off()
    wait_for(lambda: server.db.count_handoffs() == 1, what="delivered after re-registering")
    assert lane_verify(server, provisioned.lane_key, ticket.token).json()["payable"]


def test_void_lost_in_a_crash_is_queued_at_start(
    server: StoreServer, provisioned: Provisioned, carts: CartFactory
) -> None:
    cart = carts.build(server.url, provisioned.cart_key)
    cart.shop()
    cart.checkout()
    ticket = cart.link.hand_off()
    cart.link.stop()  # the crash: the basket changes with no link listening
    product = cart.engine.snapshot.basket.lines[0].sku
    cart.engine.call(Confirm(ChangeKind.ADD, product, 1), timeout=5)
    assert cart.outbox.get(f"void:{ticket.handoff_id}") is None
    cart.link.reconcile()
    void = cart.outbox.get(f"void:{ticket.handoff_id}")
    assert void is not None and void.state == "ready"
