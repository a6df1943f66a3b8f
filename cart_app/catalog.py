"""The product catalog: SQLite storage, imported from JSON, looked up by code and by label.

:class:`Catalog` is the public face; the SQL itself lives in :mod:`cart_app.catalog_db` and the
JSON format in :mod:`cart_app.catalog_schema`.

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
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from cart_app.catalog_db import (
    APPLICATION_ID,
    MIN_LEARNT_SPREAD_G,
    MIN_WEIGHING_SAMPLES,
    SCHEMA_VERSION,
    connect,
    count_products,
    inspect_existing,
    learnt_weight,
    read_offers,
    read_products,
    read_store,
    read_tax_rates,
    read_weighing_state,
    replace_contents,
    write_weighing,
)
from cart_app.catalog_schema import CatalogData, CatalogError, StoreInfo, load_catalog_file
from cart_app.domain import Offer, PricingMode, Product, TaxRate
from cart_app.variable_measure import (
    DEFAULT_SCHEME,
    VariableMeasureScheme,
    is_variable_measure,
    parse_variable_measure,
)
from vision.gtin import InvalidGtin, normalize_gtin

# The SQLite layer's constants are re-exported: callers and docs know them from this module.
__all__ = [
    "APPLICATION_ID",
    "MAX_LEARNING_DEVIATION",
    "MIN_LEARNT_SPREAD_G",
    "MIN_WEIGHING_SAMPLES",
    "SCHEMA_VERSION",
    "Catalog",
    "CatalogError",
    "ScanMatch",
    "StoreInfo",
    "UnknownSkuError",
    "WeightModel",
]

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
        """The expected standard deviation: learnt when available, else the tolerance read as
        a ±:data:`TOLERANCE_SIGMAS` σ band (how fusion reads it too, see ``docs/fusion.md``)."""
        if self.learnt_spread_g is None:
            return self.tolerance_g / TOLERANCE_SIGMAS
        return self.learnt_spread_g


TOLERANCE_SIGMAS = 3.0
"""A catalog ``weight_tolerance_g`` is a ±3σ band around the nominal weight of one unit."""


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
        self._by_sku: dict[str, Product | None] = {}
        """Products looked up by SKU, until the catalog or the product's weighings change.
        The engine prices every line of the basket on every change: 35 lines took 35 SQLite
        lookups (three queries each), half its time per event."""

    @classmethod
    def open(
        cls, db_path: Path, *, variable_measure: VariableMeasureScheme | None = DEFAULT_SCHEME
    ) -> Catalog:
        """Open (or create) the catalog database at ``db_path``.

        ``variable_measure`` is the store's layout of weight/price labels; None disables them.
        Raises :class:`CatalogError` for a corrupt, foreign or newer database.
        """
        if db_path.exists():
            inspect_existing(db_path)
        return cls(connect(db_path), db_path, variable_measure)

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
            self._by_sku.clear()
            try:
                replace_contents(self._conn, data)
            except sqlite3.Error as exc:
                raise CatalogError(f"{self._path}: import of {source} failed: {exc}") from exc
        return len(data.products)

    def product_count(self) -> int:
        """How many products the catalog holds (0 before the first import)."""
        with self._lock:
            return count_products(self._conn)

    def _select(self, where: str, params: tuple[object, ...], limit: int = -1) -> list[Product]:
        with self._lock:
            return read_products(self._conn, where, params, limit)

    def _one(self, where: str, params: tuple[object, ...]) -> Product | None:
        found = self._select(where, params, 1)
        return found[0] if found else None

    def by_sku(self, sku: str) -> Product | None:
        """The product with this SKU, or None."""
        with self._lock:
            if sku in self._by_sku:
                return self._by_sku[sku]
            found = read_products(self._conn, "p.sku = ?", (sku,), 1)
            product = found[0] if found else None
            self._by_sku[sku] = product
            return product

    def by_gtin(self, code: str, symbology: str | None = None) -> Product | None:
        """The product carrying this exact GTIN (in any length form), or None.

        Raises :class:`~vision.gtin.InvalidGtin` for a malformed code. Variable-measure
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
            return read_offers(self._conn)

    def tax_rates(self) -> dict[str, TaxRate]:
        """Tax classes by name."""
        with self._lock:
            return read_tax_rates(self._conn)

    def store_info(self) -> StoreInfo:
        """The store's name, currency and tax convention; CatalogError before any import."""
        with self._lock:
            info = read_store(self._conn)
        if info is None:
            raise CatalogError(f"{self._path}: the catalog is empty; import a catalog first")
        return info

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
            row = read_weighing_state(self._conn, sku)
            if row is None:
                raise UnknownSkuError(f"unknown SKU {sku!r}")
            mode, nominal, _tolerance, n, mean, m2 = row
            if mode == PricingMode.PER_KG.value:
                raise ValueError(f"{sku!r} is sold per kg; its units have no fixed weight")
            if abs(grams - nominal) > MAX_LEARNING_DEVIATION * nominal:
                return False
            n, mean, m2 = (n or 0) + 1, mean or 0.0, m2 or 0.0
            delta = grams - mean
            mean += delta / n
            m2 += delta * (grams - mean)
            write_weighing(self._conn, sku, nominal_g=nominal, n=n, mean_g=mean, m2=m2)
            self._by_sku.pop(sku, None)  # its learnt weight spread changed
        return True

    def weight_model(self, sku: str) -> WeightModel:
        """Nominal weight and tolerance of ``sku``, plus what confirmed weighings taught."""
        with self._lock:
            row = read_weighing_state(self._conn, sku)
        if row is None:
            raise UnknownSkuError(f"unknown SKU {sku!r}")
        _mode, nominal, tolerance, n, mean, m2 = row
        learnt_mean, learnt_spread = learnt_weight(n, mean, m2)
        return WeightModel(nominal, tolerance, learnt_mean, learnt_spread, n or 0)
