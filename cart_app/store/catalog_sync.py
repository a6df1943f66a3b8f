"""Catalog sync: the store's catalog, cached in SQLite, applied to the cart's catalog.

The cache keeps every entry the store sent (products, offers, the store's tax classes, gallery
embeddings, the layout) with the catalog version they make up. A sync asks for the changes
since that version (``If-None-Match`` with the version's ETag; 304 when nothing changed), or
the whole catalog when the cache is empty or the store says 410. The cart sells from its own
catalog database (:class:`cart_app.catalog.Catalog`), so an unreachable store changes nothing:
the last synced catalog stays in use.

An update is all or nothing: the changes are applied to the cache inside a transaction, the
resulting catalog document is validated by the same code that imports catalog files, imported
into the cart's catalog (one transaction there too), the layout written atomically, and only
then is the cache committed. A crash in between leaves the cache at the old version, and the
next sync applies the same changes again, which gives the same result.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal, Protocol

from cart_app.catalog_schema import CatalogData, CatalogError, parse_catalog_json
from cart_app.store.client import CatalogResyncNeeded, StoreClient
from cart_app.store.contract import (
    CatalogChanges,
    CatalogSnapshot,
    GalleryEntry,
    OfferEntry,
    ProductEntry,
    StoreEntry,
)
from cart_app.store_layout import LayoutError, load_layout

log = logging.getLogger(__name__)

APPLICATION_ID: Final = 0x53434343  # "SCCC"
SCHEMA_VERSION: Final = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    kind     TEXT NOT NULL,
    item_id  TEXT NOT NULL,
    position INTEGER NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (kind, item_id)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class CatalogSyncError(Exception):
    """The store's catalog could not be applied; the cart keeps its previous catalog."""


class CatalogTarget(Protocol):
    """Where a synced catalog goes (:class:`cart_app.catalog.Catalog` is one)."""

    def import_data(self, data: CatalogData, *, source: str = ...) -> int:
        """Replace the whole catalog with ``data``."""
        ...


@dataclass(frozen=True, slots=True)
class GalleryEmbedding:
    """A reference embedding for the recogniser: ``dim`` float32 values, little-endian."""

    embedding_id: str
    sku: str
    model: str
    dim: int
    vector: bytes


@dataclass(frozen=True, slots=True)
class SyncResult:
    """What a sync did. ``outcome``: nothing new, changes applied, or a full download."""

    outcome: Literal["unchanged", "incremental", "full"]
    version: int
    products: int
    changed: int


class CatalogCache:
    """The synced catalog's entries in SQLite. Thread-safe."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        """Use :meth:`open`."""
        self._path = path
        self._conn = conn
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path) -> CatalogCache:
        """Open or create the cache; CatalogSyncError for a foreign or newer file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if tables and app_id != APPLICATION_ID:
                raise CatalogSyncError(f"{path}: not a smartcart catalog cache")
            if version > SCHEMA_VERSION:
                raise CatalogSyncError(f"{path}: cache format {version} is newer than this build")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except CatalogSyncError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise CatalogSyncError(f"{path}: {exc}") from exc
        return cls(path, conn)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, committed only when the block succeeds."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def version(self) -> int:
        """The cached catalog version; 0 when nothing was synced yet."""
        with self._lock:
            return _meta_version(self._conn)

    def gallery(self, model: str | None = None) -> list[GalleryEmbedding]:
        """The cached gallery embeddings (of ``model`` only, when given)."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT body FROM items WHERE kind = 'gallery' ORDER BY position"
            ).fetchall()
        out = []
        for (body,) in rows:
            entry = GalleryEntry.model_validate_json(body)
            if model is None or entry.model == model:
                raw = base64.b64decode(entry.vector_b64)
                out.append(
                    GalleryEmbedding(entry.embedding_id, entry.sku, entry.model, entry.dim, raw)
                )
        return out

    def layout(self) -> dict[str, object] | None:
        """The cached store layout document, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT body FROM items WHERE kind = 'layout' AND item_id = 'layout'"
            ).fetchone()
        return None if row is None else dict(json.loads(row[0]))


def _meta_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    return int(row[0]) if row else 0


def _put(conn: sqlite3.Connection, kind: str, item_id: str, body: str) -> None:
    row = conn.execute(
        "SELECT position FROM items WHERE kind = ? AND item_id = ?", (kind, item_id)
    ).fetchone()
    if row is not None:
        conn.execute(
            "UPDATE items SET body = ? WHERE kind = ? AND item_id = ?", (body, kind, item_id)
        )
        return
    top = conn.execute("SELECT max(position) FROM items WHERE kind = ?", (kind,)).fetchone()[0]
    conn.execute(
        "INSERT INTO items (kind, item_id, position, body) VALUES (?, ?, ?, ?)",
        (kind, item_id, (top or 0) + 1, body),
    )


def _delete(conn: sqlite3.Connection, kind: str, ids: list[str]) -> None:
    conn.executemany("DELETE FROM items WHERE kind = ? AND item_id = ?", [(kind, i) for i in ids])


def _bodies(conn: sqlite3.Connection, kind: str) -> list[str]:
    rows = conn.execute(
        "SELECT body FROM items WHERE kind = ? ORDER BY position", (kind,)
    ).fetchall()
    return [str(r[0]) for r in rows]


def _store_json(store: StoreEntry) -> str:
    return store.model_dump_json()


def _catalog_document(conn: sqlite3.Connection) -> dict[str, object]:
    """The catalog JSON format v1 document that the cache's entries make up."""
    store_rows = _bodies(conn, "store")
    if not store_rows:
        raise CatalogSyncError("the store sent no store information (name, currency, taxes)")
    store = StoreEntry.model_validate_json(store_rows[0])
    return {
        "format_version": 1,
        "store": {
            "name": store.name,
            "currency": store.currency,
            "tax_included": store.tax_included,
        },
        "tax_classes": dict(store.tax_classes),
        "products": [
            ProductEntry.model_validate_json(b).model_dump(exclude_none=True)
            for b in _bodies(conn, "product")
        ],
        "offers": [
            OfferEntry.model_validate_json(b).model_dump(exclude_none=True)
            for b in _bodies(conn, "offer")
        ],
    }


class CatalogSync:
    """Brings the cart's catalog up to the store's, through the cache."""

    def __init__(
        self,
        client: StoreClient,
        cache: CatalogCache,
        target: CatalogTarget,
        *,
        layout_path: Path | None = None,
    ) -> None:
        """Sync from ``client`` into ``target``; the layout goes to ``layout_path`` if given."""
        self._client = client
        self._cache = cache
        self._target = target
        self._layout_path = layout_path

    @property
    def cache(self) -> CatalogCache:
        """The cache this sync writes."""
        return self._cache

    def sync(self) -> SyncResult:
        """One sync round. Raises StoreError (network, contract) or CatalogSyncError (content)."""
        version = self._cache.version()
        if version > 0:
            try:
                changes = self._client.catalog_changes(version)
            except CatalogResyncNeeded:
                log.warning("store cannot send changes since v%d; downloading all", version)
            else:
                if changes is None:
                    return SyncResult("unchanged", version, -1, 0)
                return self._apply(changes)
        snapshot = self._client.catalog(known_version=version or None)
        if snapshot is None:
            return SyncResult("unchanged", version, -1, 0)
        return self._apply(snapshot)

    def _apply(self, update: CatalogSnapshot | CatalogChanges) -> SyncResult:
        full = isinstance(update, CatalogSnapshot)
        try:
            with self._cache.transaction() as conn:
                changed = len(update.products) + len(update.offers) + len(update.gallery)
                changed += int(update.store is not None) + int(update.layout is not None)
                if isinstance(update, CatalogSnapshot):
                    conn.execute("DELETE FROM items")
                else:
                    if _meta_version(conn) != update.since:
                        raise CatalogSyncError("the cache moved during the sync; try again")
                    changed += self._apply_deletions(conn, update)
                if update.store is not None:
                    _put(conn, "store", "store", _store_json(update.store))
                for product in update.products:
                    _put(conn, "product", product.sku, product.model_dump_json())
                for offer in update.offers:
                    _put(conn, "offer", offer.id, offer.model_dump_json())
                for emb in update.gallery:
                    _put(conn, "gallery", emb.embedding_id, emb.model_dump_json())
                if update.layout is not None:
                    _put(conn, "layout", "layout", json.dumps(update.layout))
                document = _catalog_document(conn)
                data = self._validated(document, update.version)
                products = self._target.import_data(data, source=f"store catalog v{update.version}")
                if update.layout is not None and self._layout_path is not None:
                    self._write_layout(update.layout)
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('version', ?)",
                    (str(update.version),),
                )
        except CatalogError as exc:
            raise CatalogSyncError(f"store catalog v{update.version} not applied: {exc}") from exc
        except sqlite3.Error as exc:
            raise CatalogSyncError(f"catalog cache: {exc}") from exc
        return SyncResult("full" if full else "incremental", update.version, products, changed)

    @staticmethod
    def _apply_deletions(conn: sqlite3.Connection, changes: CatalogChanges) -> int:
        _delete(conn, "product", list(changes.products_deleted))
        _delete(conn, "offer", list(changes.offers_deleted))
        _delete(conn, "gallery", list(changes.gallery_deleted))
        return (
            len(changes.products_deleted)
            + len(changes.offers_deleted)
            + len(changes.gallery_deleted)
        )

    @staticmethod
    def _validated(document: dict[str, object], version: int) -> CatalogData:
        return parse_catalog_json(json.dumps(document), source=f"store catalog v{version}")

    def _write_layout(self, layout: Mapping[str, object]) -> None:
        """Validate the layout as a file, then move it into place atomically."""
        assert self._layout_path is not None
        folder = self._layout_path.parent
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=".layout-", suffix=".json", dir=folder)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(layout, handle, ensure_ascii=False, indent=1)
                handle.flush()
                os.fsync(handle.fileno())
            try:
                load_layout(tmp)
            except LayoutError as exc:
                raise CatalogSyncError(f"store layout not applied: {exc}") from exc
            os.replace(tmp, self._layout_path)
        finally:
            tmp.unlink(missing_ok=True)
