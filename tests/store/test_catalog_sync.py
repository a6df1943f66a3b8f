"""Catalog sync with the real server: ETag, incremental changes, offline use, bad updates."""

from __future__ import annotations

import base64
import copy
import struct
from pathlib import Path
from typing import Any

import pytest

from cart_app.catalog import Catalog
from cart_app.store.catalog_sync import CatalogCache, CatalogSync, CatalogSyncError
from cart_app.store.client import StoreClient
from cart_app.store.http import StoreUnreachable
from cart_app.store_layout import load_layout
from tests.store.conftest import (
    Provisioned,
    StoreServer,
    demo_catalog_doc,
    demo_layout_doc,
    fast_settings,
)


@pytest.fixture
def empty_catalog(tmp_path: Path) -> Catalog:
    return Catalog.open(tmp_path / "cart-catalog.sqlite3")


@pytest.fixture
def sync(tmp_path: Path, client: StoreClient, empty_catalog: Catalog) -> CatalogSync:
    cache = CatalogCache.open(tmp_path / "cache.sqlite3")
    return CatalogSync(client, cache, empty_catalog, layout_path=tmp_path / "layout.json")


def vector(dim: int, value: float) -> str:
    return base64.b64encode(struct.pack(f"<{dim}f", *([value] * dim))).decode()


def test_full_then_unchanged_then_incremental(
    server: StoreServer, sync: CatalogSync, empty_catalog: Catalog, tmp_path: Path
) -> None:
    first = sync.sync()
    assert first.outcome == "full" and first.version == 1
    assert empty_catalog.product_count() == len(demo_catalog_doc()["products"])  # type: ignore[arg-type]
    assert load_layout(tmp_path / "layout.json").aisles

    assert sync.sync().outcome == "unchanged"  # 304 on the changes endpoint

    doc: dict[str, Any] = copy.deepcopy(demo_catalog_doc())
    changed = doc["products"][0]
    changed["price_cents"] += 100
    removed = doc["products"].pop(1)["sku"]
    doc["products"].append(
        {
            "sku": "NEW-1",
            "name": "New product",
            "price_cents": 990,
            "pricing_mode": "per_unit",
            "nominal_weight_g": 250,
            "weight_tolerance_g": 10,
            "tax_class": "food",
        }
    )
    gallery = [
        {
            "embedding_id": "e1",
            "sku": "NEW-1",
            "model": "m1",
            "dim": 4,
            "vector_b64": vector(4, 0.5),
        }
    ]
    version, count = server.db.upload_catalog(doc, demo_layout_doc(), gallery)
    assert version == 2 and count == 4

    second = sync.sync()
    assert second.outcome == "incremental" and second.version == 2 and second.changed == 4
    product = empty_catalog.by_sku(changed["sku"])
    assert product is not None and product.price_cents == changed["price_cents"]
    assert empty_catalog.by_sku(removed) is None
    assert empty_catalog.by_sku("NEW-1") is not None
    embeddings = sync.cache.gallery("m1")
    assert [(e.sku, e.dim, struct.unpack("<4f", e.vector)[0]) for e in embeddings] == [
        ("NEW-1", 4, 0.5)
    ]


def test_offline_keeps_the_cached_catalog(
    server: StoreServer, sync: CatalogSync, empty_catalog: Catalog
) -> None:
    sync.sync()
    count = empty_catalog.product_count()
    server.stop()
    with pytest.raises(StoreUnreachable):
        sync.sync()
    assert empty_catalog.product_count() == count
    assert empty_catalog.by_sku(empty_catalog.products()[0].sku) is not None


def test_invalid_update_is_not_applied(
    server: StoreServer, sync: CatalogSync, empty_catalog: Catalog
) -> None:
    sync.sync()
    doc: dict[str, Any] = copy.deepcopy(demo_catalog_doc())
    sku = doc["products"][0]["sku"]
    price = empty_catalog.by_sku(sku).price_cents  # type: ignore[union-attr]
    doc["products"][0]["price_cents"] = price + 1
    server.db.upload_catalog(doc)
    # The store's catalog is now changed behind its own validation (a broken server):
    # the product names a tax class that does not exist.
    from sqlalchemy import update

    from store_server.db import catalog_items

    with server.db.engine.begin() as conn:
        body = conn.execute(catalog_items.select().where(catalog_items.c.item_id == sku)).one().body
        conn.execute(
            update(catalog_items)
            .where(catalog_items.c.item_id == sku)
            .values(body=body.replace('"tax_class":"food"', '"tax_class":"nope"'))
        )
    with pytest.raises(CatalogSyncError, match="not applied"):
        sync.sync()
    assert empty_catalog.by_sku(sku).price_cents == price  # type: ignore[union-attr]
    assert sync.cache.version() == 1


def test_server_reset_forces_a_full_download(
    server: StoreServer, sync: CatalogSync, provisioned: Provisioned, tmp_path: Path
) -> None:
    sync.sync()
    with sync.cache.transaction() as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'version'")
    result = sync.sync()  # 410 from the changes endpoint, then the whole catalog
    assert result.outcome == "full" and result.version == 1


def test_etag_on_full_download(server: StoreServer, provisioned: Provisioned) -> None:
    client = StoreClient.from_settings(fast_settings(server.url, provisioned.cart_key))
    snapshot = client.catalog()
    assert snapshot is not None
    assert client.catalog(known_version=snapshot.version) is None
    assert client.catalog(known_version=snapshot.version - 1) is not None
