"""Fixtures of the store tests: the real reference server on 127.0.0.1, provisioned carts, a
client with test-sized timeouts, and a cart (engine + ledger + store link) wired to the server."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from cart_app.catalog import Catalog
from cart_app.clock import FakeClock, SystemClock
from cart_app.domain import PricingMode
from cart_app.engine import Engine, EngineSettings
from cart_app.events import ChangeKind, Confirm, RequestCheckout, StartSession
from cart_app.ledger import Ledger
from cart_app.pricing import PricingPolicy
from cart_app.store.catalog_sync import CatalogCache, CatalogSync
from cart_app.store.client import StoreClient
from cart_app.store.http import TransportSettings
from cart_app.store.link import LinkSettings, LinkStatus, StoreLink
from cart_app.store.outbox import Outbox
from cart_app.store.token import CartKey
from cart_app.store_layout import demo_store_dir
from store_server.api import ServerContext, create_app
from store_server.db import StoreDB, metadata
from store_server.runner import ServerThread

CART_ID = "cart-test"


def demo_catalog_doc() -> dict[str, object]:
    """The bundled demo store's catalog document."""
    loaded: dict[str, object] = json.loads((demo_store_dir() / "catalog.json").read_text())
    return loaded


def demo_layout_doc() -> dict[str, object]:
    """The bundled demo store's layout document."""
    loaded: dict[str, object] = json.loads((demo_store_dir() / "layout.json").read_text())
    return loaded


class StoreServer:
    """The reference server over one database; can be stopped and restarted on its port."""

    def __init__(self, db: StoreDB) -> None:
        self.db = db
        self.ctx = ServerContext(db)
        self._thread: ServerThread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        # A new app each time: like a restarted process, with a fresh event loop.
        self.ctx = ServerContext(self.db)
        self._thread = ServerThread(create_app(self.ctx), port=self.port).start()
        self.port = self._thread.port

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.stop()
            self._thread = None


@dataclass
class Provisioned:
    """API keys of one cart, one lane and one administrator, and the cart's signing key."""

    cart_key: str
    lane_key: str
    admin_key: str
    signing_key: CartKey


POSTGRES_URL = os.environ.get("SMARTCART_TEST_POSTGRES_URL", "")
"""e.g. ``postgresql+psycopg://postgres@127.0.0.1:55432/smartcart_test``: every store test then
also runs against PostgreSQL (the database is emptied before each test)."""


@pytest.fixture(params=["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"])
def store_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreDB]:
    if request.param == "postgresql":
        db = StoreDB.open(POSTGRES_URL)
        metadata.drop_all(db.engine)
        metadata.create_all(db.engine)
    else:
        db = StoreDB.open(str(tmp_path / "store" / "store.sqlite3"))
    db.upload_catalog(demo_catalog_doc(), demo_layout_doc())
    yield db
    db.close()


@pytest.fixture
def provisioned(store_db: StoreDB) -> Provisioned:
    signing = CartKey.generate()
    store_db.register_cart_key(CART_ID, signing.key_id, signing.public_key_b64, time.time())
    return Provisioned(
        cart_key=store_db.add_principal("cart", CART_ID),
        lane_key=store_db.add_principal("lane", "lane-1"),
        admin_key=store_db.add_principal("admin", "admin"),
        signing_key=signing,
    )


@pytest.fixture
def server(store_db: StoreDB) -> Iterator[StoreServer]:
    srv = StoreServer(store_db)
    srv.start()
    yield srv
    srv.stop()


def fast_settings(url: str, api_key: str, **overrides: object) -> TransportSettings:
    """Transport settings sized for tests: short timeouts, one quick retry."""
    values: dict[str, object] = {
        "base_url": url,
        "api_key": api_key,
        "connect_timeout_s": 1.0,
        "read_timeout_s": 2.0,
        "total_timeout_s": 3.0,
        "retry_total": 1,
        "retry_backoff_initial_s": 0.05,
        "retry_backoff_max_s": 0.2,
    }
    values.update(overrides)
    return TransportSettings(**values)  # type: ignore[arg-type]


@pytest.fixture
def client(server: StoreServer, provisioned: Provisioned) -> Iterator[StoreClient]:
    c = StoreClient.from_settings(fast_settings(server.url, provisioned.cart_key))
    yield c
    c.close()


def wait_for(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll ``condition`` until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@dataclass
class Cart:
    """A cart wired like the app does: engine, ledger, outbox and the store link."""

    engine: Engine
    ledger: Ledger
    outbox: Outbox
    link: StoreLink
    catalog: Catalog
    statuses: list[LinkStatus] = field(default_factory=list)

    def shop(self, units: int = 3) -> None:
        """Start a session and put a few per-unit products in the basket."""
        self.engine.call(StartSession(), timeout=5)
        products = [p for p in self.catalog.products() if p.pricing_mode is PricingMode.PER_UNIT]
        for product in products[:units]:
            self.engine.call(Confirm(ChangeKind.ADD, product.sku, 2), timeout=5)

    def checkout(self) -> None:
        self.engine.call(RequestCheckout(), timeout=5)


class CartFactory:
    """Builds carts over files in one folder; a second build is the same cart restarted."""

    def __init__(self, folder: Path, catalog: Catalog, key: CartKey) -> None:
        self.folder = folder
        self.catalog = catalog
        self.key = key
        self.carts: list[Cart] = []

    def build(
        self,
        url: str,
        api_key: str,
        *,
        start: bool = True,
        with_sync: bool = False,
        **link_overrides: object,
    ) -> Cart:
        clock = FakeClock()
        ledger = Ledger.open(self.folder / "ledger.sqlite3", clock)
        policy = PricingPolicy(
            tax_rates=self.catalog.tax_rates(),
            tax_included=self.catalog.store_info().tax_included,
        )
        engine = Engine(
            ledger,
            self.catalog,
            policy,
            clock,
            EngineSettings(
                cart_id=CART_ID, prompt_timeout_s=30.0, inbox_poll_s=0.01, stop_timeout_s=5.0
            ),
        )
        # The link's own clock is real: tokens must be valid for the server's real clock.
        real = SystemClock()
        outbox = Outbox.open(self.folder / "outbox.sqlite3", real)
        client = StoreClient.from_settings(fast_settings(url, api_key))
        settings = LinkSettings(
            cart_id=CART_ID,
            payment_wait_s=2.0,
            idle_poll_s=0.05,
            backoff_initial_s=0.05,
            backoff_max_s=0.3,
            heartbeat_interval_s=3600.0,
            catalog_sync_interval_s=3600.0,
        )
        settings = replace(settings, **link_overrides)  # type: ignore[arg-type]
        sync = None
        if with_sync:
            cache = CatalogCache.open(self.folder / "cache.sqlite3")
            sync = CatalogSync(client, cache, self.catalog)
        link = StoreLink(
            client=client,
            outbox=outbox,
            engine=engine,
            ledger=ledger,
            store_info=self.catalog,
            key=self.key,
            settings=settings,
            clock=real,
            catalog_sync=sync,
        )
        cart = Cart(engine, ledger, outbox, link, self.catalog)
        link.subscribe(cart.statuses.append)
        if start:
            engine.start()
            link.start()
        self.carts.append(cart)
        return cart

    def stop(self, cart: Cart) -> None:
        """Stop a cart as the app does (reverse order); safe to call twice."""
        if cart in self.carts:
            self.carts.remove(cart)
            cart.link.stop()
            cart.engine.stop()
            cart.outbox.close()
            cart.ledger.close()

    def stop_all(self) -> None:
        for cart in list(self.carts):
            self.stop(cart)


@pytest.fixture
def carts(tmp_path: Path, demo_catalog: Catalog, provisioned: Provisioned) -> Iterator[CartFactory]:
    factory = CartFactory(tmp_path / "cart", demo_catalog, provisioned.signing_key)
    factory.folder.mkdir()
    yield factory
    factory.stop_all()
