"""Store faults during a trip: the store down (connection refused), slow (a response trickled
one byte every two seconds) and returning errors (503), through a proxy on 127.0.0.1 in front
of the real reference server. The shopper shops, checks out and hands off all the while (the
cart is offline first); the health shows the store's state and the banner says the basket is
kept; when the store is back the handoff arrives exactly once and is payable at the lane."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from cart_app.events import ChangeKind, Confirm, RequestCheckout, StartSession
from cart_app.health import OFFLINE_NOTICE, CartHealth, Level, Mode
from cart_app.session import SessionState
from cart_app.store.http import HttpTransport, StoreProtocolError, TransportSettings
from cart_app.store.link import LinkState
from tests.reliability.helpers import FaultProxy, TrickleServer, wait_until
from tests.reliability.power_cut import StoreForCuts
from tests.reliability.rig import Cart, Stock, open_cart, seed_folder

pytestmark = [pytest.mark.fault, pytest.mark.timeout(180)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[StoreForCuts]:
    server = StoreForCuts(tmp_path / "store")
    yield server
    server.close()


def test_store_down_slow_and_failing_never_costs_the_basket(
    tmp_path: Path, store: StoreForCuts, figures: dict[str, object]
) -> None:
    proxy = FaultProxy(store.thread.port, seconds_per_byte=2.0)
    seed_folder(tmp_path / "cart")
    cart: Cart = open_cart(
        tmp_path / "cart",
        store_url=proxy.url,
        api_key=store.api_key,
        wall_offset=float(int(time.time())),
        id_prefix="store-faults",
    )
    health = CartHealth(cart.clock)
    cart.link.subscribe(health.on_link_status)
    cart.engine.subscribe(health.on_engine_event)
    stock = Stock.of(cart.catalog)
    survived: list[str] = []
    try:
        wait_until(lambda: cart.link.status.state is LinkState.ONLINE, "online at start")
        wait_until(lambda: cart.outbox.pending_count() == 0, "key delivered")

        # Down: the shopper starts and fills the basket; nothing waits for the store.
        proxy.set_mode("down")
        cart.engine.call(StartSession("store-faults-s1"), timeout=10)
        for sku in stock.unit[:3]:
            cart.engine.call(Confirm(ChangeKind.ADD, sku, 2), timeout=10)
        wait_until(lambda: cart.link.status.state is LinkState.OFFLINE, "offline while down")
        assert health.state.level is Level.NOTICE
        assert health.state.mode is Mode.NORMAL
        assert health.state.banner == OFFLINE_NOTICE
        assert cart.outbox.pending_count() >= 1  # the session start waits
        survived.append("down")

        # Slow: seconds per byte. Checkout and handoff go through on the cart at once.
        proxy.set_mode("slow")
        cart.engine.call(RequestCheckout(), timeout=10)
        ticket = cart.link.hand_off()
        assert cart.engine.snapshot.basket.state is SessionState.HANDED_OFF
        wait_until(lambda: proxy.accepted.get("slow", 0) >= 1, "a request trickled")
        wait_until(
            lambda: (
                cart.link.status.state is not LinkState.ONLINE
                and proxy.accepted.get("slow", 0) >= 2
            ),
            "the client gave up on a trickled answer and tried again",
        )
        assert store.db.count_handoffs() == 0
        survived.append("slow (2 s per byte)")

        # Errors: the store answers 503; the handoff is retried, never dropped.
        proxy.set_mode("error")
        wait_until(lambda: cart.link.status.state is LinkState.DEGRADED, "degraded on 503")
        assert health.state.banner == OFFLINE_NOTICE
        entry = cart.outbox.get(ticket.handoff_id)
        assert entry is not None and entry.state == "ready", entry
        assert not cart.outbox.entries("dead")
        survived.append("503 errors")

        # Back: delivered exactly once, payable, and the health is clear again.
        proxy.set_mode("pass")
        wait_until(lambda: cart.outbox.pending_count() == 0, "outbox delivered", 30.0)
        session_id = cart.engine.snapshot.basket.session_id
        assert store.db.count_handoffs(session_id) == 1
        wait_until(lambda: health.state.level is Level.OK, "health ok again")
        assert health.state.banner == ""
        lane_key = store.db.add_principal("lane", "lane-rel")
        verified = requests.post(
            f"{store.url}/v1/lane/verify",
            json={"token": ticket.token, "lane_id": "lane-rel"},
            headers={"Authorization": f"Bearer {lane_key}"},
            timeout=10,
        )
        assert verified.status_code == 200, verified.text
        assert verified.json()["payable"] is True
        assert verified.json()["total_cents"] == ticket.total_cents
    finally:
        cart.stop()
        proxy.close()
    figures["store_faults"] = (
        f"{len(survived)} survived ({', '.join(survived)}); handoff delivered once, lost baskets 0"
    )


@pytest.mark.timeout(60)
def test_headers_trickled_under_the_read_timeout_hit_the_total_deadline() -> None:
    # One byte every 1.5 s never trips a 2 s read timeout: before the watchdog, the status
    # line and headers (80 bytes) held the outbox worker for two minutes per attempt.
    server = TrickleServer(seconds_per_byte=1.5)
    transport = HttpTransport(
        TransportSettings(
            base_url=server.url,
            read_timeout_s=2.0,
            total_timeout_s=3.0,
            connect_timeout_s=1.0,
            retry_total=2,
        )
    )
    try:
        with pytest.raises(StoreProtocolError, match="no complete answer within 3 s"):
            transport.request("GET", "/v1/health", idempotent=True)
    finally:
        transport.close()
        server.close()
