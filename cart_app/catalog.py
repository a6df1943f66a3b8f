"""The product catalog: SQLite storage, imported from JSON, looked up by code and by label.

Threads: one connection serves every thread (``check_same_thread=False``) behind one lock.
Lookups take microseconds, so the engine and UI threads never wait noticeably, and a single
connection gives one consistent view after an import. WAL with ``synchronous=NORMAL`` keeps
:meth:`Catalog.record_weighing` free of an fsync on the engine thread; a power cut can lose the
last few weighings, never the catalog (an import is one transaction).

An existing file is inspected read-only first: a corrupt file, a foreign database or one written
by a newer schema is refused with :class:`CatalogError` and left byte-for-byte untouched.
"""

from __future__ import annotations

import math
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from cart_app.catalog_schema import CatalogData, CatalogError, StoreInfo, load_catalog_file
from cart_app.domain import (
    BundlePriceOffer,
    Location,
    MultiBuyOffer,
    Offer,
    PricingMode,
    Product,
    TaxRate,
)
from cart_app.gtin import InvalidGtin, normalize_gtin
from cart_app.variable_measure import (
    DEFAULT_SCHEME,
    VariableMeasureScheme,
    is_variable_measure,
    parse_variable_measure,
)

__all__ = ["Catalog", "CatalogError", "ScanMatch", "StoreInfo", "UnknownSkuError", "WeightModel"]

SCHEMA_VERSION = 1
"""``PRAGMA user_version`` of the database layout this build writes."""

APPLICATION_ID = 0x53434154
"""``PRAGMA application_id`` that marks a smartcart catalog ("SCAT")."""

MIN_WEIGHING_SAMPLES = 10
"""Confirmed weighings of a SKU needed before its learnt mean and spread are used."""

MIN_LEARNT_SPREAD_G = 1.0
"""Floor of a learnt spread: below it, load-cell noise would make good weighings look wrong."""

MAX_LEARNING_DEVIATION = 0.25
"""A weighing further than this fraction from nominal is not learnt from (likely a miscount)."""


class UnknownSkuError(LookupError):
    """A SKU that the catalog does not hold."""


@dataclass(frozen=True, slots=True)
class ScanMatch:
    """A scanned code resolved to a product; variable-measure labels add a weight or a price."""

    product: Product
    gtin14: str
    weight_g: float | None = None
    price_cents: int | None = None


@dataclass(frozen=True, slots=True)
class WeightModel:
    """What one unit of a SKU should weigh.

    ``learnt_mean_g`` and ``learnt_spread_g`` are set once ``samples`` reaches
    :data:`MIN_WEIGHING_SAMPLES`; until then the catalog's nominal weight and tolerance apply.
    """

    nominal_g: float
    tolerance_g: float
    learnt_mean_g: float | None = None
    learnt_spread_g: float | None = None
    samples: int = 0

    @property
    def mean_g(self) -> float:
        """The expected weight: learnt when available, else nominal."""
        return self.nominal_g if self.learnt_mean_g is None else self.learnt_mean_g

    @property
    def sigma_g(self) -> float:
        """The expected standard deviation: learnt when available, else the tolerance."""
        return self.tolerance_g if self.learnt_spread_g is None else self.learnt_spread_g


def _learnt(n: int | None, mean: float | None, m2: float | None) -> tuple[float | None, ...]:
    if n is None or mean is None or m2 is None or n < MIN_WEIGHING_SAMPLES:
        return None, None
    return mean, max(math.sqrt(m2 / (n - 1)), MIN_LEARNT_SPREAD_G)


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


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _create_schema(conn: sqlite3.Connection) -> None:
    with _transaction(conn):
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _replace_contents(conn: sqlite3.Connection, data: CatalogData) -> None:
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
    with _transaction(conn):
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


def _read_products(
    conn: sqlite3.Connection, where: str, params: tuple[object, ...], limit: int = -1
) -> list[Product]:
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
        weight_spread_g=_learnt(n, mean, m2)[1],
    )


def _inspect_existing(db_path: Path) -> None:
    """Refuse a file that is not a usable catalog, without writing to it."""
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


class Catalog:
    """Products and offers of one store, stored in SQLite. Safe to share between threads."""

    def __init__(
        self, conn: sqlite3.Connection, db_path: Path, scheme: VariableMeasureScheme | None
    ) -> None:
        """Wrap a prepared connection; use :meth:`open` instead."""
        self._conn = conn
        self._path = db_path
        self._scheme = scheme
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls, db_path: Path, *, variable_measure: VariableMeasureScheme | None = DEFAULT_SCHEME
    ) -> Catalog:
        """Open (or create) the catalog database at ``db_path``.

        ``variable_measure`` is the store's layout of weight/price labels; None disables them.
        Raises :class:`CatalogError` for a corrupt, foreign or newer database.
        """
        if db_path.exists():
            _inspect_existing(db_path)
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
                _create_schema(conn)
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()
            raise CatalogError(f"{db_path}: cannot open catalog database: {exc}") from exc
        return cls(conn, db_path, variable_measure)

    @property
    def path(self) -> Path:
        """The database file."""
        return self._path

    def close(self) -> None:
        """Close the database; later calls fail."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def import_json(self, path: Path) -> int:
        """Replace the whole catalog with a JSON file's contents; returns the product count.

        The file is validated fully first and the replacement is one transaction, so a bad file
        or a failed write leaves the previous catalog exactly as it was.
        """
        return self.import_data(load_catalog_file(path), source=str(path))

    def import_data(self, data: CatalogData, *, source: str = "<catalog>") -> int:
        """Replace the whole catalog with validated ``data``; returns the product count."""
        with self._lock:
            try:
                _replace_contents(self._conn, data)
            except sqlite3.Error as exc:
                raise CatalogError(f"{self._path}: import of {source} failed: {exc}") from exc
        return len(data.products)

    def product_count(self) -> int:
        """How many products the catalog holds (0 before the first import)."""
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM products").fetchone()[0])

    def _select(self, where: str, params: tuple[object, ...], limit: int = -1) -> list[Product]:
        with self._lock:
            return _read_products(self._conn, where, params, limit)

    def _one(self, where: str, params: tuple[object, ...]) -> Product | None:
        found = self._select(where, params, 1)
        return found[0] if found else None

    def by_sku(self, sku: str) -> Product | None:
        """The product with this SKU, or None."""
        return self._one("p.sku = ?", (sku,))

    def by_gtin(self, code: str, symbology: str | None = None) -> Product | None:
        """The product carrying this exact GTIN (in any length form), or None.

        Raises :class:`~cart_app.gtin.InvalidGtin` for a malformed code. Variable-measure
        labels are resolved by :meth:`resolve_scan`.
        """
        gtin14 = normalize_gtin(code, symbology=symbology)
        return self._one("p.sku = (SELECT sku FROM gtins WHERE gtin = ?)", (gtin14,))

    def resolve_scan(self, code: str, symbology: str | None = None) -> ScanMatch | None:
        """Resolve a scanned code, variable-measure labels included; None when unknown.

        An exact GTIN match wins. Otherwise a code with one of the scheme's prefixes is split,
        and its product found by the zeroed lookup GTIN among the product GTINs, else by the
        product's ``variable_measure_ref``. Raises ``InvalidGtin`` for a malformed code and
        ``VariableMeasureError`` for a label whose value verifier digit is wrong.
        """
        gtin14 = normalize_gtin(code, symbology=symbology)
        product = self.by_gtin(gtin14)
        if product is not None:
            return ScanMatch(product, gtin14)
        if self._scheme is None or not is_variable_measure(gtin14, self._scheme):
            return None
        read = parse_variable_measure(gtin14, self._scheme)
        product = self.by_gtin(read.lookup_gtin) or self._one(
            "p.variable_measure_ref = ?", (read.item_reference,)
        )
        if product is None:
            return None
        return ScanMatch(product, gtin14, read.weight_g, read.price_cents)

    def by_label(self, label: str) -> Product | None:
        """The product a recogniser label maps to, or None."""
        return self._one("p.sku = (SELECT sku FROM labels WHERE label = ?)", (label,))

    def search(self, text: str, limit: int = 50) -> list[Product]:
        """Products whose name contains ``text`` (any case), or whose SKU or GTIN it is."""
        needle = text.strip().casefold()
        if not needle:
            return []
        try:
            gtin14 = normalize_gtin(needle)
        except InvalidGtin:
            gtin14 = ""
        return self._select(
            "instr(p.name_folded, ?) > 0 OR p.sku_folded = ? "
            "OR p.sku IN (SELECT sku FROM gtins WHERE gtin = ?)",
            (needle, needle, gtin14),
            limit,
        )

    def products(self) -> list[Product]:
        """Every product, in the order of the imported file."""
        return self._select("1", ())

    def offers(self) -> list[Offer]:
        """Every offer, in the order of the imported file."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT offer_id, description, skus, buy, pay, quantity, price_cents "
                "FROM offers ORDER BY position"
            ).fetchall()
        return [
            MultiBuyOffer(offer_id, text, frozenset(skus.split()), buy, pay)
            if buy is not None
            else BundlePriceOffer(offer_id, text, frozenset(skus.split()), quantity, price)
            for offer_id, text, skus, buy, pay, quantity, price in rows
        ]

    def tax_rates(self) -> dict[str, TaxRate]:
        """Tax classes by name."""
        with self._lock:
            rows = self._conn.execute("SELECT name, rate_bp FROM tax_classes").fetchall()
        return {name: TaxRate(name, rate) for name, rate in rows}

    def store_info(self) -> StoreInfo:
        """The store's name, currency and tax convention; CatalogError before any import."""
        with self._lock:
            row = self._conn.execute("SELECT name, currency, tax_included FROM store").fetchone()
        if row is None:
            raise CatalogError(f"{self._path}: the catalog is empty; import a catalog first")
        return StoreInfo(row[0], row[1], bool(row[2]))

    def record_weighing(self, sku: str, grams: float) -> bool:
        """Learn from a confirmed weighing of one unit of ``sku``; returns whether it was used.

        Mean and spread follow Welford's online update, so no history is stored. A weighing
        more than :data:`MAX_LEARNING_DEVIATION` away from nominal is ignored: it is more likely
        a miscount than an odd unit. Raises :class:`UnknownSkuError`, and ValueError for a
        per-kg SKU or a weight that is not a positive finite number.
        """
        if not math.isfinite(grams) or grams <= 0:
            raise ValueError(f"a weighing must be a positive number of grams, got {grams}")
        with self._lock:
            row = self._conn.execute(
                "SELECT p.pricing_mode, p.nominal_weight_g, w.n, w.mean_g, w.m2 FROM products p "
                "LEFT JOIN weighings w ON w.sku = p.sku WHERE p.sku = ?",
                (sku,),
            ).fetchone()
            if row is None:
                raise UnknownSkuError(f"unknown SKU {sku!r}")
            mode, nominal, n, mean, m2 = row
            if mode == PricingMode.PER_KG.value:
                raise ValueError(f"{sku!r} is sold per kg; its units have no fixed weight")
            if abs(grams - nominal) > MAX_LEARNING_DEVIATION * nominal:
                return False
            n, mean, m2 = (n or 0) + 1, mean or 0.0, m2 or 0.0
            delta = grams - mean
            mean += delta / n
            m2 += delta * (grams - mean)
            self._conn.execute(
                "INSERT OR REPLACE INTO weighings VALUES (?, ?, ?, ?, ?)",
                (sku, nominal, n, mean, m2),
            )
        return True

    def weight_model(self, sku: str) -> WeightModel:
        """Nominal weight and tolerance of ``sku``, plus what confirmed weighings taught."""
        with self._lock:
            row = self._conn.execute(
                "SELECT p.nominal_weight_g, p.weight_tolerance_g, w.n, w.mean_g, w.m2 "
                "FROM products p LEFT JOIN weighings w ON w.sku = p.sku WHERE p.sku = ?",
                (sku,),
            ).fetchone()
        if row is None:
            raise UnknownSkuError(f"unknown SKU {sku!r}")
        nominal, tolerance, n, mean, m2 = row
        learnt_mean, learnt_spread = _learnt(n, mean, m2)
        return WeightModel(nominal, tolerance, learnt_mean, learnt_spread, n or 0)
