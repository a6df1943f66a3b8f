"""The catalog JSON format (``format_version`` 1): parsing and full validation.

Validation runs in two passes so every message names the file and the JSON path:
pydantic checks the shape and types (strict: no coercion, unknown keys are errors), then
:func:`cart_app.catalog_checks.check_values` checks values and cross-references (prices,
weights, GTIN check digits, duplicates, tax classes, offers). Nothing is imported unless both
pass. The format is documented in ``docs/catalog.md``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from cart_app.catalog_checks import (
    MAX_MIN_AGE,
    MAX_NOMINAL_WEIGHT_G,
    MAX_TAX_RATE_BP,
    check_values,
)
from cart_app.domain import (
    BundlePriceOffer,
    Location,
    MultiBuyOffer,
    Offer,
    PricingMode,
    Product,
    TaxRate,
)
from vision.gtin import normalize_gtin

# The value limits live with the checks in catalog_checks; they are re-exported from here,
# the module that defines the format.
__all__ = [
    "FORMAT_VERSION",
    "MAX_MIN_AGE",
    "MAX_NOMINAL_WEIGHT_G",
    "MAX_REPORTED_PROBLEMS",
    "MAX_TAX_RATE_BP",
    "CatalogData",
    "CatalogError",
    "StoreInfo",
    "load_catalog_file",
    "parse_catalog_json",
]

FORMAT_VERSION = 1
"""The newest catalog JSON format this build reads."""

MAX_REPORTED_PROBLEMS = 20
"""How many problems one :class:`CatalogError` lists before summarising the rest."""


class CatalogError(Exception):
    """A catalog file or database that cannot be used; the message names the file and problem."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems: tuple[str, ...] = tuple(problems) or (message,)


@dataclass(frozen=True, slots=True)
class StoreInfo:
    """The store a catalog belongs to."""

    name: str
    currency: str
    tax_included: bool


@dataclass(frozen=True, slots=True)
class CatalogData:
    """A fully validated catalog, ready to be stored.

    ``variable_measure_refs`` pairs a variable-measure item reference with its SKU.
    """

    store: StoreInfo
    tax_rates: tuple[TaxRate, ...]
    products: tuple[Product, ...]
    offers: tuple[Offer, ...]
    variable_measure_refs: tuple[tuple[str, str], ...]


_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
_Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class _StoreModel(BaseModel):
    model_config = _STRICT
    name: _Text
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    tax_included: bool


class _LocationModel(BaseModel):
    model_config = _STRICT
    aisle: str = Field(min_length=1, max_length=40)
    bay: str = Field(min_length=1, max_length=40)


class _ProductModel(BaseModel):
    model_config = _STRICT
    sku: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    name: _Text
    gtins: list[str] = Field(default_factory=list)
    price_cents: int
    pricing_mode: Literal["per_unit", "per_kg"]
    nominal_weight_g: float
    weight_tolerance_g: float
    tax_class: str
    min_age: int | None = None
    location: _LocationModel | None = None
    labels: list[str] = Field(default_factory=list)
    too_light_for_scale: bool = False
    variable_measure_ref: str | None = Field(default=None, pattern=r"^[0-9]{1,6}$")


class _OfferModel(BaseModel):
    model_config = _STRICT
    id: str = Field(min_length=1, max_length=64)
    kind: Literal["multibuy", "bundle"]
    description: _Text
    skus: list[str]
    buy: int | None = None
    pay: int | None = None
    quantity: int | None = None
    price_cents: int | None = None


class _CatalogModel(BaseModel):
    model_config = _STRICT
    format_version: int
    store: _StoreModel
    tax_classes: dict[str, int]
    products: list[_ProductModel]
    offers: list[_OfferModel] = Field(default_factory=list)


def _format_loc(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path or "(top level)"


def _raise(source: str, problems: list[str]) -> NoReturn:
    shown = problems[:MAX_REPORTED_PROBLEMS]
    if len(problems) > len(shown):
        shown.append(f"... and {len(problems) - len(shown)} more problems")
    body = "\n  ".join(shown)
    summary = f"{source}: {problems[0]}" if len(problems) == 1 else f"{source}:\n  {body}"
    raise CatalogError(summary, [f"{source}: {p}" for p in problems])


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result: dict[str, object] = {}
    for key, value in pairs:
        if key in result:
            # json.loads would keep the last one silently; a repeated key is an editing mistake.
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def load_catalog_file(path: Path) -> CatalogData:
    """Read and fully validate a catalog JSON file; raises :class:`CatalogError`."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise CatalogError(f"{path}: catalog file not found") from None
    except OSError as exc:
        raise CatalogError(f"{path}: cannot read catalog file: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    return parse_catalog_json(text, source=str(path))


def parse_catalog_json(text: str, *, source: str = "<catalog>") -> CatalogData:
    """Parse and fully validate catalog JSON text; ``source`` names it in error messages."""
    try:
        data = json.loads(
            text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant
        )
    except json.JSONDecodeError as exc:
        raise CatalogError(
            f"{source}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    except ValueError as exc:
        raise CatalogError(f"{source}: not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"{source}: the top level must be a JSON object, got {_short(data)}")
    version = data.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise CatalogError(
            f"{source}: format_version {version} is newer than this build reads "
            f"({FORMAT_VERSION}); update the cart software"
        )
    try:
        model = _CatalogModel.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{_format_loc(err['loc'])}: {err['msg']}"
            + ("" if err["type"] == "missing" else f" (got {_short(err.get('input'))})")
            for err in exc.errors()
        ]
        _raise(source, problems)
    problems = check_values(model)
    if problems:
        _raise(source, problems)
    return _to_data(model)


def _short(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _to_data(model: _CatalogModel) -> CatalogData:
    products = tuple(
        Product(
            sku=p.sku,
            name=p.name,
            gtins=tuple(normalize_gtin(g) for g in p.gtins),
            price_cents=p.price_cents,
            pricing_mode=PricingMode(p.pricing_mode),
            nominal_weight_g=p.nominal_weight_g,
            weight_tolerance_g=p.weight_tolerance_g,
            tax_class=p.tax_class,
            min_age=p.min_age,
            location=Location(p.location.aisle, p.location.bay) if p.location else None,
            labels=tuple(p.labels),
            too_light_for_scale=p.too_light_for_scale,
        )
        for p in model.products
    )
    offers: list[Offer] = []
    for o in model.offers:
        if o.kind == "multibuy":
            assert o.buy is not None and o.pay is not None
            offers.append(MultiBuyOffer(o.id, o.description, frozenset(o.skus), o.buy, o.pay))
        else:
            assert o.quantity is not None and o.price_cents is not None
            offers.append(
                BundlePriceOffer(o.id, o.description, frozenset(o.skus), o.quantity, o.price_cents)
            )
    return CatalogData(
        store=StoreInfo(model.store.name, model.store.currency, model.store.tax_included),
        tax_rates=tuple(TaxRate(name, rate) for name, rate in model.tax_classes.items()),
        products=products,
        offers=tuple(offers),
        variable_measure_refs=tuple(
            (p.variable_measure_ref, p.sku)
            for p in model.products
            if p.variable_measure_ref is not None
        ),
    )
