"""The composition root in ``http`` mode: CartApp builds the store link from config and a trip
ends paid at the real reference server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

from cart_app.app import CartApp
from cart_app.clock import SystemClock
from cart_app.config import load_config_text
from cart_app.session import SessionState
from tests.store.conftest import CART_ID, Provisioned, StoreServer, wait_for
from tests.store.test_link import lane_pay


def test_app_in_http_mode_hands_off_and_gets_paid(
    tmp_path: Path, server: StoreServer, provisioned: Provisioned
) -> None:
    loaded = load_config_text(
        f"cart_id = '{CART_ID}'\n"
        f"[paths]\ndata_dir = '{tmp_path / 'data'}'\n"
        f"[store]\nmode = 'http'\nbase_url = '{server.url}'\napi_key = '{provisioned.cart_key}'\n"
        "payment_wait_s = 2.0\nretry_backoff_initial_s = 0.05\nretry_backoff_max_s = 0.3\n"
        "[scale]\ndriver = 'none'\n",
        source="t.toml",
        base_dir=tmp_path,
    )
    with CartApp.build(loaded, SystemClock()) as app:
        assert app.store_link is not None
        from cart_app.events import ChangeKind, Confirm, RequestCheckout, StartSession

        unit = next(p for p in app.catalog.products() if p.gtins and p.min_age is None)
        app.engine.call(StartSession(), timeout=5)
        app.engine.call(Confirm(ChangeKind.ADD, unit.sku, 2), timeout=5)
        app.engine.call(RequestCheckout(), timeout=5)
        ticket = app.store_link.hand_off()
        assert app.engine.snapshot.basket.state is SessionState.HANDED_OFF
        # The lane verifies the token with the cart's key, which the outbox delivers ahead of
        # the basket; a shopper takes seconds to reach the lane, a test does not.
        link = app.store_link
        wait_for(lambda: link.status.pending == 0, what="key and basket delivered")
        paid = lane_pay(server, provisioned.lane_key, ticket.token, ticket.total_cents)
        assert paid.status_code == 200, paid.text
        wait_for(lambda: app.engine.snapshot.basket.state is SessionState.DONE, what="session done")
