"""The catalog's SQLite layer: schema, inspection of an existing file, and row reads and writes.

Every function takes the caller's connection and leaves locking to it: :class:`Catalog
<cart_app.catalog.Catalog>` serialises all access behind one lock. The connection runs in
autocommit mode (``isolation_level=None``), so multi-statement writes use :func:`transaction`.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cart_app.catalog_schema import CatalogData, CatalogError, StoreInfo
from cart_app.domain import (
    BundlePriceOffer,
    Location,
    MultiBuyOffer,
    Offer,
    PricingMode,
    Product,
    TaxRate,
)

SCHEMA_VERSION = 1
"""``PRAGMA user_version`` of the database layout this build writes."""

APPLICATION_ID = 0x53434154
"""``PRAGMA application_id`` that marks a smartcart catalog ("SCAT")."""

MIN_WEIGHING_SAMPLES = 10
"""Confirmed weighings of a SKU needed before its learnt mean and spread are used."""

MIN_LEARNT_SPREAD_G = 1.0
"""Floor of a learnt spread: below it, load-cell noise would make good weighings look wrong."""

_SCHEMA = """
CREATE TABLE store (id INTEGER PRIMARY KEY CHECK (id = 1),
    name TEXT NOT NULL, currency TEXT NOT NULL, tax_included INTEGER NOT NULL);
CREATE TABLE tax_classes (name TEXT PRIMARY KEY, rate_bp INTEGER NOT NULL);
CREATE TABLE products (sku TEXT PRIMARY KEY, position INTEGER NOT NULL UNIQUE,
    name TEXT NOT NULL, price_cents INTEGER NOT NULL, pricing_mode TEXT NOT NULL,
    nominal_weight_g REAL NOT NULL, weight_tolerance_g REAL NOT NULL,
    tax_class TEXT NOT NULL REFERENCES tax_classes (name), min_age INTEGER,
    aisle TEXT, bay TEXT, too_light_for_scale INTEGER NOT NULL,
    variable_measure_ref TEXT UNIQUE, name_folded TEXT NOT NULL, sku_folded TEXT NOT NULL);
CREATE TABLE gtins (gtin TEXT PRIMARY KEY,
    sku TEXT NOT NULL REFERENCES products (sku) ON DELETE CASCADE, position INTEGER NOT NULL);
CREATE INDEX gtins_sku ON gtins (sku);
CREATE TABLE labels (label TEXT PRIMARY KEY,
    sku TEXT NOT NULL REFERENCES products (sku) ON DELETE CASCADE, position INTEGER NOT NULL);
CREATE INDEX labels_sku ON labels (sku);
CREATE TABLE offers (offer_id TEXT PRIMARY KEY, position INTEGER NOT NULL UNIQUE,
    description TEXT NOT NULL, skus TEXT NOT NULL,
    buy INTEGER, pay INTEGER, quantity INTEGER, price_cents INTEGER);
-- Learnt weights outlive re-imports (no foreign key), an import prunes stale ones.
CREATE TABLE weighings (sku TEXT PRIMARY KEY, nominal_g REAL NOT NULL,
    n INTEGER NOT NULL, mean_g REAL NOT NULL, m2 REAL NOT NULL);
"""

_PRODUCT_COLUMNS = (
    "p.sku, p.name, p.price_cents, p.pricing_mode, p.nominal_weight_g, p.weight_tolerance_g, "
    "p.tax_class, p.min_age, p.aisle, p.bay, p.too_light_for_scale, w.n, w.mean_g, w.m2"
)


def learnt_weight(
    n: int | None, mean: float | None, m2: float | None
) -> tuple[float | None, float | None]:
    """Learnt (mean, spread) from a ``weighings`` row's Welford sums; (None, None) if too few."""
    if n is None or mean is None or m2 is None or n < MIN_WEIGHING_SAMPLES:
        return None, None
    return mean, max(math.sqrt(m2 / (n - 1)), MIN_LEARNT_SPREAD_G)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """Run the block as one write transaction: committed if it completes, else rolled back."""
    # IMMEDIATE takes the write lock up front, so a transaction never fails halfway on it.
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def inspect_existing(db_path: Path) -> None:
    """Refuse a file that is not a usable catalog, without writing to it.

    Raises :class:`CatalogError` for a directory, a corrupt file, a foreign SQLite database
    or one written by a newer schema. An empty file passes: it becomes a new catalog.
    """
    if db_path.is_dir():
        raise CatalogError(f"{db_path}: is a directory, not a catalog database")
    if db_path.stat().st_size == 0:
        return
    # Without a -wal file all content is in the main file: "immutable" then reads it without
    # creating -shm/-wal files beside it, so a refused file's folder is left as it was too.
    wal = db_path.with_name(db_path.name + "-wal")
    mode = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?{mode}", uri=True)
        try:
            app_id, version, tables, check = (
                conn.execute(sql).fetchone()[0]
                for sql in (
                    "PRAGMA application_id",
                    "PRAGMA user_version",
                    "SELECT count(*) FROM sqlite_master",
                    "PRAGMA quick_check",
                )
            )
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise CatalogError(f"{db_path}: corrupt or not an SQLite database ({exc})") from exc
    if check != "ok":
        raise CatalogError(f"{db_path}: catalog database is corrupt ({check})")
    if app_id != APPLICATION_ID and not (app_id == 0 and version == 0 and tables == 0):
        raise CatalogError(f"{db_path}: an SQLite database, but not a smartcart catalog")
    if version > SCHEMA_VERSION:
        raise CatalogError(
            f"{db_path}: catalog schema {version} was written by a newer version of the cart "
            f"software (this build knows {SCHEMA_VERSION}); refusing to open it"
        )


def create_schema(conn: sqlite3.Connection) -> None:
    """Create the tables of an empty database and stamp its application id and version."""
    with transaction(conn):
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def connect(db_path: Path) -> sqlite3.Connection:
    """Open the catalog database at ``db_path`` for sharing between threads, creating its schema.

    Call :func:`inspect_existing` first for a file that exists. Raises :class:`CatalogError`
    when SQLite cannot open or prepare the file.
    """
    conn: sqlite3.Connection | None = None
    try:
        conn = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
            create_schema(conn)
    except sqlite3.Error as exc:
        if conn is not None:
            conn.close()
        raise CatalogError(f"{db_path}: cannot open catalog database: {exc}") from exc
    return conn


def replace_contents(conn: sqlite3.Connection, data: CatalogData) -> None:
    """Replace store, tax classes, products, codes and offers with ``data`` in one transaction.

    Learnt weighings are kept for the SKUs whose nominal weight and per-unit pricing did not
    change. Raises :class:`sqlite3.Error` on a failed write, with nothing changed.
    """
    vm_refs = {sku: ref for ref, sku in data.variable_measure_refs}
    products = [
        (p.sku, i, p.name, p.price_cents, p.pricing_mode.value, p.nominal_weight_g)
        + (p.weight_tolerance_g, p.tax_class, p.min_age)
        + ((p.location.aisle, p.location.bay) if p.location else (None, None))
        + (p.too_light_for_scale, vm_refs.get(p.sku), p.name.casefold(), p.sku.casefold())
        for i, p in enumerate(data.products)
    ]
    offers = [
        (o.offer_id, i, o.description, " ".join(sorted(o.skus)))
        + (
            (o.buy, o.pay, None, None)
            if isinstance(o, MultiBuyOffer)
            else (None, None, o.quantity, o.price_cents)
        )
        for i, o in enumerate(data.offers)
    ]
    s = data.store
    with transaction(conn):
        for table in ("offers", "labels", "gtins", "products", "tax_classes", "store"):
            conn.execute(f"DELETE FROM {table}")
        conn.execute("INSERT INTO store VALUES (1, ?, ?, ?)", (s.name, s.currency, s.tax_included))
        conn.executemany(
            "INSERT INTO tax_classes VALUES (?, ?)",
            [(t.tax_class, t.rate_bp) for t in data.tax_rates],
        )
        conn.executemany(f"INSERT INTO products VALUES ({', '.join('?' * 15)})", products)
        conn.executemany(
            "INSERT INTO gtins VALUES (?, ?, ?)",
            [(g, p.sku, i) for p in data.products for i, g in enumerate(p.gtins)],
        )
        conn.executemany(
            "INSERT INTO labels VALUES (?, ?, ?)",
            [(lb, p.sku, i) for p in data.products for i, lb in enumerate(p.labels)],
        )
        conn.executemany("INSERT INTO offers VALUES (?, ?, ?, ?, ?, ?, ?, ?)", offers)
        # What was learnt about a unit's weight no longer holds once its nominal weight changed.
        conn.execute(
            "DELETE FROM weighings WHERE NOT EXISTS (SELECT 1 FROM products p "
            "WHERE p.sku = weighings.sku AND p.nominal_weight_g = weighings.nominal_g "
            "AND p.pricing_mode = 'per_unit')"
        )


def read_products(
    conn: sqlite3.Connection, where: str, params: tuple[object, ...], limit: int = -1
) -> list[Product]:
    """Products matching the SQL condition ``where`` (over ``products p``), in file order.

    ``where`` is trusted SQL written by the caller; values go in ``params``. ``limit`` -1 means
    no limit. Each product carries its GTINs, labels and learnt weight spread.
    """
    rows = conn.execute(
        f"SELECT {_PRODUCT_COLUMNS} FROM products p LEFT JOIN weighings w ON w.sku = p.sku "
        f"WHERE ({where}) ORDER BY p.position LIMIT ?",
        (*params, limit),
    ).fetchall()
    codes: dict[tuple[str, str], list[str]] = {}
    for table, column in (("gtins", "gtin"), ("labels", "label")) if rows else ():
        # A subquery rather than an IN list of SKUs: a whole catalog would pass SQLite's limit.
        for sku, value in conn.execute(
            f"SELECT sku, {column} FROM {table} WHERE sku IN "
            f"(SELECT p.sku FROM products p WHERE ({where})) ORDER BY sku, position",
            params,
        ):
            codes.setdefault((table, sku), []).append(value)
    return [_product(row, codes) for row in rows]


def _product(row: tuple[Any, ...], codes: dict[tuple[str, str], list[str]]) -> Product:
    sku, name, price, mode, nominal, tolerance, tax, min_age, aisle, bay, light, n, mean, m2 = row
    return Product(
        sku=sku,
        name=name,
        gtins=tuple(codes.get(("gtins", sku), ())),
        price_cents=price,
        pricing_mode=PricingMode(mode),
        nominal_weight_g=nominal,
        weight_tolerance_g=tolerance,
        tax_class=tax,
        min_age=min_age,
        location=Location(aisle, bay) if aisle is not None else None,
        labels=tuple(codes.get(("labels", sku), ())),
        too_light_for_scale=bool(light),
        weight_spread_g=learnt_weight(n, mean, m2)[1],
    )


def count_products(conn: sqlite3.Connection) -> int:
    """How many products the database holds."""
    return int(conn.execute("SELECT count(*) FROM products").fetchone()[0])


def read_offers(conn: sqlite3.Connection) -> list[Offer]:
    """Every offer, in file order."""
    rows = conn.execute(
        "SELECT offer_id, description, skus, buy, pay, quantity, price_cents "
        "FROM offers ORDER BY position"
    ).fetchall()
    # A multi-buy row has buy/pay set, a bundle row quantity/price_cents; the others are NULL.
    return [
        MultiBuyOffer(offer_id, text, frozenset(skus.split()), buy, pay)
        if buy is not None
        else BundlePriceOffer(offer_id, text, frozenset(skus.split()), quantity, price)
        for offer_id, text, skus, buy, pay, quantity, price in rows
    ]


def read_tax_rates(conn: sqlite3.Connection) -> dict[str, TaxRate]:
    """Tax classes by name."""
    rows = conn.execute("SELECT name, rate_bp FROM tax_classes").fetchall()
    return {name: TaxRate(name, rate) for name, rate in rows}


def read_store(conn: sqlite3.Connection) -> StoreInfo | None:
    """The store row, or None before the first import."""
    row = conn.execute("SELECT name, currency, tax_included FROM store").fetchone()
    return None if row is None else StoreInfo(row[0], row[1], bool(row[2]))


def read_weighing_state(conn: sqlite3.Connection, sku: str) -> tuple[Any, ...] | None:
    """``(pricing_mode, nominal_g, tolerance_g, n, mean_g, m2)`` of ``sku``, or None if unknown.

    The last three are None until the SKU's first learnt weighing.
    """
    row: tuple[Any, ...] | None = conn.execute(
        "SELECT p.pricing_mode, p.nominal_weight_g, p.weight_tolerance_g, w.n, w.mean_g, w.m2 "
        "FROM products p LEFT JOIN weighings w ON w.sku = p.sku WHERE p.sku = ?",
        (sku,),
    ).fetchone()
    return row


def write_weighing(
    conn: sqlite3.Connection, sku: str, *, nominal_g: float, n: int, mean_g: float, m2: float
) -> None:
    """Store the updated Welford sums of ``sku``, tagged with the nominal weight they assume."""
    conn.execute(
        "INSERT OR REPLACE INTO weighings VALUES (?, ?, ?, ?, ?)",
        (sku, nominal_g, n, mean_g, m2),
    )
