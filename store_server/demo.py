"""A reference store server for the demo: the bundled demo store on a free loopback port.

``smartcart demo`` starts it so that the trip's handoff and payment go through the real store
API, the exit lane's endpoint included.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from cart_app.store_layout import demo_store_dir
from store_server.api import ServerContext, create_app
from store_server.db import StoreDB
from store_server.runner import ServerThread

LANE_ID = "LANE-1"


@dataclass
class DemoStore:
    """A running demo store: its URL, the cart's and the exit lane's API keys."""

    url: str
    cart_key: str
    lane_key: str
    server: ServerThread
    db: StoreDB

    def pay(self, token: str, amount_cents: int) -> None:
        """What the exit lane's scanner does: verify the QR token, then mark the basket paid."""
        headers = {"Authorization": f"Bearer {self.lane_key}"}
        body = {"token": token, "lane_id": LANE_ID}
        verified = requests.post(
            f"{self.url}/v1/lane/verify", json=body, headers=headers, timeout=10
        )
        verified.raise_for_status()
        paid = requests.post(
            f"{self.url}/v1/lane/pay",
            json={**body, "payment_ref": f"demo-{time.time_ns()}", "amount_cents": amount_cents},
            headers=headers,
            timeout=10,
        )
        paid.raise_for_status()

    def stop(self) -> None:
        """Stop serving and close the database."""
        self.server.stop()
        self.db.close()


def start_demo_store(folder: Path, cart_id: str) -> DemoStore:
    """Seed a store database in ``folder`` with the demo store and serve it on 127.0.0.1."""
    folder.mkdir(parents=True, exist_ok=True)
    db = StoreDB.open(str(folder / "store.sqlite3"))
    if db.catalog_version() == 0:
        demo = demo_store_dir()
        db.upload_catalog(
            json.loads((demo / "catalog.json").read_text(encoding="utf-8")),
            json.loads((demo / "layout.json").read_text(encoding="utf-8")),
            None,
        )
    now = time.time()
    cart_key = db.add_principal("cart", cart_id, now=now)
    lane_key = db.add_principal("lane", LANE_ID, now=now)
    server = ServerThread(create_app(ServerContext(db))).start()
    return DemoStore(server.url, cart_key, lane_key, server, db)
