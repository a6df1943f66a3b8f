"""The catalog in the store database: publishing a catalog, full downloads and changes.

The catalog is stored as entries (product, offer, gallery embedding, the store record, the
layout), each with the catalog version that last changed it; a removed entry stays as a
tombstone. The catalog version is the highest entry version, so "changes since N" is a range
query and a full download is one consistent ``SELECT``.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select, update

from cart_app.catalog_schema import CatalogError, parse_catalog_json
from cart_app.store.contract import (
    API_VERSION,
    CatalogChanges,
    CatalogSnapshot,
    GalleryEntry,
    OfferEntry,
    ProductEntry,
    StoreEntry,
)
from cart_app.store_layout import LayoutError, load_layout
from store_server.db_engine import StoreBase
from store_server.errors import ApiProblem
from store_server.schema import catalog_items


class CatalogStore(StoreBase):
    """The published catalog, as versioned entries."""

    def upload_catalog(
        self,
        catalog: Mapping[str, Any],
        layout: Mapping[str, Any] | None = None,
        gallery: Sequence[Mapping[str, Any]] | None = None,
    ) -> tuple[int, int]:
        """Store a whole catalog document; returns (catalog version, entries changed).

        Validated first by the cart's own catalog and layout code, so the store can never
        publish a catalog a cart would refuse. Only changed entries get the new version.
        """
        try:
            parse_catalog_json(json.dumps(catalog), source="uploaded catalog")
        except CatalogError as exc:
            raise ApiProblem(422, "invalid-catalog", str(exc)) from exc
        wanted: dict[str, list[tuple[str, str]]] = {
            "store": [("store", _store_body(catalog))],
            "product": [
                (p["sku"], ProductEntry.model_validate(p).model_dump_json())
                for p in catalog["products"]
            ],
            "offer": [
                (o["id"], OfferEntry.model_validate(o).model_dump_json())
                for o in catalog.get("offers", [])
            ],
        }
        if layout is not None:
            _check_layout(layout)
            wanted["layout"] = [("layout", json.dumps(layout, sort_keys=True))]
        if gallery is not None:
            entries = [GalleryEntry.model_validate(dict(g)) for g in gallery]
            wanted["gallery"] = [(e.embedding_id, e.model_dump_json()) for e in entries]
        with self._write() as conn:
            current = _current_version(conn)
            new_version = current + 1
            changed = 0
            for kind, items in wanted.items():
                existing = {
                    row.item_id: row
                    for row in conn.execute(
                        select(catalog_items).where(catalog_items.c.kind == kind)
                    )
                }
                for position, (item_id, body) in enumerate(items):
                    old = existing.pop(item_id, None)
                    if old is None:
                        conn.execute(
                            catalog_items.insert().values(
                                kind=kind,
                                item_id=item_id,
                                version=new_version,
                                deleted=False,
                                position=position,
                                body=body,
                            )
                        )
                        changed += 1
                    elif old.deleted or old.body != body:
                        conn.execute(
                            _item_update(kind, item_id).values(
                                version=new_version, deleted=False, position=position, body=body
                            )
                        )
                        changed += 1
                    elif old.position != position:
                        # Order is presentation only: it moves without a new version.
                        conn.execute(_item_update(kind, item_id).values(position=position))
                for item_id, old in existing.items():
                    if not old.deleted:
                        conn.execute(
                            _item_update(kind, item_id).values(version=new_version, deleted=True)
                        )
                        changed += 1
        return (new_version if changed else current), changed

    def catalog_version(self) -> int:
        """The current catalog version (0: no catalog yet)."""
        with self._read() as conn:
            return _current_version(conn)

    def catalog_snapshot(self) -> CatalogSnapshot | None:
        """The whole catalog, read in one statement so that it is consistent; None when empty."""
        with self._read() as conn:
            rows = conn.execute(
                select(catalog_items).order_by(catalog_items.c.kind, catalog_items.c.position)
            ).all()
        if not rows:
            return None
        version = max(row.version for row in rows)
        live = [row for row in rows if not row.deleted]
        store = next((r for r in live if r.kind == "store"), None)
        if store is None:
            return None
        layout = next((r for r in live if r.kind == "layout"), None)
        return CatalogSnapshot(
            api_version=API_VERSION,
            version=version,
            store=StoreEntry.model_validate_json(store.body),
            products=[
                ProductEntry.model_validate_json(r.body) for r in live if r.kind == "product"
            ],
            offers=[OfferEntry.model_validate_json(r.body) for r in live if r.kind == "offer"],
            gallery=[GalleryEntry.model_validate_json(r.body) for r in live if r.kind == "gallery"],
            layout=json.loads(layout.body) if layout is not None else None,
        )

    def catalog_changes(self, since: int) -> CatalogChanges | None:
        """Entries changed after version ``since``; None when nothing changed.

        Raises ApiProblem 410 when ``since`` is newer than the store's catalog (the store was
        reset or is another store): the cart must download the whole catalog.
        """
        with self._read() as conn:
            current = _current_version(conn)
            if since > current:
                raise ApiProblem(
                    410, "catalog-resync", f"version {since} is unknown here (current {current})"
                )
            rows = conn.execute(
                select(catalog_items)
                .where(catalog_items.c.version > since)
                .order_by(catalog_items.c.kind, catalog_items.c.position)
            ).all()
        if not rows:
            return None
        upserts: dict[str, list[str]] = {}
        deletes: dict[str, list[str]] = {}
        for row in rows:
            (deletes if row.deleted else upserts).setdefault(row.kind, []).append(
                row.item_id if row.deleted else row.body
            )
        store = upserts.get("store")
        layout = upserts.get("layout")
        return CatalogChanges(
            api_version=API_VERSION,
            since=since,
            version=max(row.version for row in rows),
            store=StoreEntry.model_validate_json(store[0]) if store else None,
            products=[ProductEntry.model_validate_json(b) for b in upserts.get("product", [])],
            products_deleted=deletes.get("product", []),
            offers=[OfferEntry.model_validate_json(b) for b in upserts.get("offer", [])],
            offers_deleted=deletes.get("offer", []),
            gallery=[GalleryEntry.model_validate_json(b) for b in upserts.get("gallery", [])],
            gallery_deleted=deletes.get("gallery", []),
            layout=json.loads(layout[0]) if layout else None,
        )


def _current_version(conn: Connection) -> int:
    value = conn.execute(select(func.max(catalog_items.c.version))).scalar()
    return int(value or 0)


def _item_update(kind: str, item_id: str) -> Any:
    return update(catalog_items).where(
        catalog_items.c.kind == kind, catalog_items.c.item_id == item_id
    )


def _store_body(catalog: Mapping[str, Any]) -> str:
    store = catalog["store"]
    return StoreEntry(
        name=store["name"],
        currency=store["currency"],
        tax_included=store["tax_included"],
        tax_classes=dict(catalog["tax_classes"]),
    ).model_dump_json()


def _check_layout(layout: Mapping[str, Any]) -> None:
    # The layout loader reads files (it reports file and JSON path); give it one.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "layout.json"
        path.write_text(json.dumps(layout), encoding="utf-8")
        try:
            load_layout(path)
        except LayoutError as exc:
            raise ApiProblem(
                422, "invalid-layout", str(exc).replace(str(path), "uploaded layout")
            ) from exc
