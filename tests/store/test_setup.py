"""The store link built from configuration and run inside the real composition root."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import requests

from cart_app.app import CartApp
from cart_app.config import load_config_text
from cart_app.session import SessionState
from cart_app.store.http import StoreConfigError
from cart_app.store.link import LinkState
from cart_app.store.setup import build_store_link, transport_settings
from cart_app.store.token import CartKey
from store_server.db import StoreDB
from tests.store.conftest import CART_ID, Provisioned, StoreServer, wait_for


def config(folder: Path, url: str, api_key: str) -> str:
    return (
        f'cart_id = "{CART_ID}"\n[paths]\ndata_dir = "{folder / "data"}"\n'
        f'[store]\nmode = "http"\nbase_url = "{url}"\napi_key = "{api_key}"\n'
        "connect_timeout_s = 1.0\nread_timeout_s = 2.0\n"
        "retry_backoff_initial_s = 0.05\nretry_backoff_max_s = 0.3\n"
    )


def test_link_in_the_app(
    tmp_path: Path, server: StoreServer, provisioned: Provisioned, store_db: StoreDB
) -> None:
    loaded = load_config_text(
        config(tmp_path, server.url, provisioned.cart_key), source="t.toml", base_dir=tmp_path
    )
    app = CartApp.build(loaded)
    link = build_store_link(
        loaded, engine=app.engine, ledger=app.ledger, catalog=app.catalog, clock=app.clock
    )
    app.parts.append(link)
    with app:
        key_file = tmp_path / "data" / "cart_key.pem"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = CartKey.load_or_create(key_file)
        # The cart registered its own key: the store can verify its tokens.
        wait_for(lambda: key.key_id in store_db.cart_keys(CART_ID), what="key registered")
        wait_for(lambda: link.last_sync is not None, what="catalog synced")
        assert (tmp_path / "data" / "store_layout.json").exists()
        from cart_app.events import ChangeKind, Confirm, RequestCheckout, StartSession

        app.engine.call(StartSession(), timeout=5)
        product = next(p for p in app.catalog.products() if p.gtins)
        app.engine.call(Confirm(ChangeKind.ADD, product.sku, 1), timeout=5)
        app.engine.call(RequestCheckout(), timeout=5)
        ticket = link.hand_off()
        wait_for(lambda: store_db.count_handoffs() == 1, what="handoff")
        paid = requests.post(
            f"{server.url}/v1/lane/pay",
            json={
                "token": ticket.token,
                "lane_id": "l",
                "payment_ref": "p",
                "amount_cents": ticket.total_cents,
            },
            headers={"Authorization": f"Bearer {provisioned.lane_key}"},
            timeout=5,
        )
        assert paid.status_code == 200, paid.text
        wait_for(lambda: app.engine.snapshot.basket.state is SessionState.DONE, what="done")
        assert link.status.state is LinkState.ONLINE


def test_plain_http_to_a_remote_store_is_refused(tmp_path: Path) -> None:
    loaded = load_config_text(
        config(tmp_path, "http://store.example", "k"), source="t.toml", base_dir=tmp_path
    )
    from cart_app.store.http import HttpTransport

    with pytest.raises(StoreConfigError, match="plain http"):
        HttpTransport(transport_settings(loaded.config.store, tmp_path))
