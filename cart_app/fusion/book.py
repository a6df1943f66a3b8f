"""The catalog as fusion reads it: the :class:`FusionCatalog` protocol and a per-decision memo.

A decision looks the same products up many times (every hypothesis names some); the catalog is
SQLite behind a lock, so :class:`ProductBook` asks it once per SKU, label and weight model.
"""

from __future__ import annotations

from typing import Protocol

from cart_app.catalog import ScanMatch, WeightModel
from cart_app.domain import Product
from cart_app.fusion.settings import FusionSettings
from cart_app.fusion.weights import UnitWeight, unit_weight


class FusionCatalog(Protocol):
    """What fusion reads from the catalog (:class:`cart_app.catalog.Catalog` is one)."""

    def by_sku(self, sku: str) -> Product | None:
        """The product with this SKU, or None."""
        ...

    def by_label(self, label: str) -> Product | None:
        """The product a recogniser label maps to, or None."""
        ...

    def resolve_scan(self, code: str, symbology: str | None = None) -> ScanMatch | None:
        """A scanned code resolved to a product (with a label's weight or price), or None."""
        ...

    def weight_model(self, sku: str) -> WeightModel:
        """What one unit of ``sku`` should weigh, learnt weighings included."""
        ...


class ProductBook:
    """Catalog look-ups memoised for one decision (the catalog is SQLite behind a lock)."""

    def __init__(self, catalog: FusionCatalog, settings: FusionSettings) -> None:
        """Wrap ``catalog`` for one decision."""
        self._catalog = catalog
        self._settings = settings
        self._products: dict[str, Product | None] = {}
        self._labels: dict[str, Product | None] = {}
        self._units: dict[str, UnitWeight] = {}

    def product(self, sku: str) -> Product | None:
        """The product with this SKU, or None."""
        if sku not in self._products:
            self._products[sku] = self._catalog.by_sku(sku)
        return self._products[sku]

    def by_label(self, label: str) -> Product | None:
        """The product of a recogniser label (a catalog label, else a SKU), or None.

        Stores enrol products under their SKU (``smartcart model enroll SKU …``); a product
        the catalog gives no recognition label is only ever reported that way.
        """
        if label not in self._labels:
            product = self._catalog.by_label(label) or self._catalog.by_sku(label)
            self._labels[label] = product
            if product is not None:
                self._products.setdefault(product.sku, product)
        return self._labels[label]

    def resolve(self, code: str) -> ScanMatch | None:
        """A scanned GTIN resolved to a product, or None (unknown or malformed code)."""
        try:
            match = self._catalog.resolve_scan(code)
        except ValueError:  # InvalidGtin, VariableMeasureError: a misread is no evidence
            return None
        if match is not None:
            self._products.setdefault(match.product.sku, match.product)
        return match

    def unit(self, product: Product) -> UnitWeight:
        """One unit's weight model of a per-unit product."""
        if product.sku not in self._units:
            try:
                model: WeightModel | None = self._catalog.weight_model(product.sku)
            except LookupError:
                model = None
            self._units[product.sku] = unit_weight(product, model, self._settings)
        return self._units[product.sku]
