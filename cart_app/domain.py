"""Domain types shared by every part of the core: products, basket lines, evidence.

Everything here is a frozen dataclass with no behaviour beyond validation, so that parts exchange
values, never mutable objects. Money is integer cents; weights are grams as floats.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class PricingMode(enum.StrEnum):
    """How a product is charged."""

    PER_UNIT = "per_unit"
    PER_KG = "per_kg"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a product sits in the store: aisle and bay ids from the store layout."""

    aisle: str
    bay: str


@dataclass(frozen=True, slots=True)
class Product:
    """One sellable product of the catalog.

    ``price_cents`` is the unit price for ``PER_UNIT`` products and the price per kilogram for
    ``PER_KG`` ones. ``weight_spread_g``, when learnt from confirmed weighings, overrides
    ``weight_tolerance_g`` as the weight model's standard deviation.
    """

    sku: str
    name: str
    gtins: tuple[str, ...]
    price_cents: int
    pricing_mode: PricingMode
    nominal_weight_g: float
    weight_tolerance_g: float
    tax_class: str = "standard"
    min_age: int | None = None
    location: Location | None = None
    labels: tuple[str, ...] = ()
    too_light_for_scale: bool = False
    weight_spread_g: float | None = None

    @property
    def age_restricted(self) -> bool:
        """Whether staff must check the shopper's age at the exit."""
        return self.min_age is not None


class EvidenceSource(enum.StrEnum):
    """Which signal decided a line."""

    VISION = "vision"
    BARCODE = "barcode"
    SHOPPER = "shopper"
    STAFF = "staff"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Evidence:
    """Why the cart believes a change happened; stored with every ledger record."""

    source: EvidenceSource
    weight_delta_g: float | None = None
    gtin: str | None = None
    vision_label: str | None = None
    vision_probability: float | None = None
    camera_id: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class BasketLine:
    """A line of the basket: ``quantity`` units, or ``weight_g`` grams for per-kg products.

    Lines are folded from the ledger; ``line_id`` is stable for the session so that a removal
    names exactly which line it takes from. ``unit_price_cents`` overrides the catalog price for
    variable-measure barcodes that embed a price.
    """

    line_id: int
    sku: str
    quantity: int
    weight_g: float = 0.0
    unit_price_cents: int | None = None
    evidence: tuple[Evidence, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Coupon:
    """A coupon applied to the basket, as read from a coupon barcode or QR payload."""

    code: str
    amount_off_cents: int = 0
    percent_off: int = 0
    sku: str | None = None


@dataclass(frozen=True, slots=True)
class MultiBuyOffer:
    """ "Buy ``buy``, pay for ``pay``" across any mix of ``skus`` (e.g. 3 for 2)."""

    offer_id: str
    description: str
    skus: frozenset[str]
    buy: int
    pay: int


@dataclass(frozen=True, slots=True)
class BundlePriceOffer:
    """ "``quantity`` for ``price_cents``" across any mix of ``skus`` (e.g. 2 for 5.00)."""

    offer_id: str
    description: str
    skus: frozenset[str]
    quantity: int
    price_cents: int


Offer = MultiBuyOffer | BundlePriceOffer
"""A multi-buy promotion on per-unit products."""


@dataclass(frozen=True, slots=True)
class TaxRate:
    """A tax class and its rate in basis points (1 % = 100)."""

    tax_class: str
    rate_bp: int
