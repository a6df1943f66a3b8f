"""The catalog JSON format (``format_version`` 1): parsing and full validation.

Validation runs in two passes so every message names the file and the JSON path:
pydantic checks the shape and types (strict: no coercion, unknown keys are errors), then
:func:`_check_values` checks values and cross-references (prices, weights, GTIN check digits,
duplicates, tax classes, offers). Nothing is imported unless both pass. The format is
documented in ``docs/catalog.md``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, NoReturn

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

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

FORMAT_VERSION = 1
"""The newest catalog JSON format this build reads."""

MAX_PRICE_CENTS = 1_000_000
"""Highest accepted price (per unit, or per kg): anything above is taken for a data error."""

MAX_NOMINAL_WEIGHT_G = 50_000.0
"""Heaviest accepted nominal weight: more than a cart basket can carry."""

MAX_TAX_RATE_BP = 10_000
"""100 %, in basis points."""

MAX_MIN_AGE = 25
"""Highest legal age limit accepted; a larger value is a data error."""

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
        elif part == "[key]":
            path += " (key)"
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
    problems = _check_values(model)
    if problems:
        _raise(source, problems)
    return _to_data(model)


def _short(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_values(model: _CatalogModel) -> list[str]:
    problems: list[str] = []
    if model.format_version < 1:
        problems.append(f"format_version: must be 1 or more, got {model.format_version}")
    for name, rate in model.tax_classes.items():
        if not name:
            problems.append("tax_classes: a tax class name is empty")
        if not 0 <= rate <= MAX_TAX_RATE_BP:
            problems.append(
                f"tax_classes.{name}: rate {rate} bp is outside 0..{MAX_TAX_RATE_BP} bp"
            )
    if not model.products:
        problems.append("products: the catalog has no products")
    problems += _check_products(model)
    problems += _check_offers(model)
    return problems


def _check_products(model: _CatalogModel) -> list[str]:
    problems: list[str] = []
    sku_at: dict[str, int] = {}
    gtin_at: dict[str, str] = {}
    label_at: dict[str, str] = {}
    vm_ref_at: dict[str, str] = {}
    for i, p in enumerate(model.products):
        at = f"products[{i}]"
        if p.sku in sku_at:
            problems.append(f"{at}.sku: duplicate SKU {p.sku!r} (also products[{sku_at[p.sku]}])")
        sku_at.setdefault(p.sku, i)
        what = f"product {p.sku!r}"
        if p.price_cents < 0:
            problems.append(f"{at}.price_cents: negative price {p.price_cents} for {what}")
        elif p.price_cents > MAX_PRICE_CENTS:
            problems.append(
                f"{at}.price_cents: price {p.price_cents} of {what} is above "
                f"MAX_PRICE_CENTS ({MAX_PRICE_CENTS})"
            )
        per_unit = p.pricing_mode == "per_unit"
        for field, value in (
            ("nominal_weight_g", p.nominal_weight_g),
            ("weight_tolerance_g", p.weight_tolerance_g),
        ):
            if per_unit and value <= 0:
                problems.append(
                    f"{at}.{field}: per-unit {what} needs a positive weight, got {value}"
                )
            elif value < 0:
                problems.append(f"{at}.{field}: negative weight {value} for {what}")
            elif value > MAX_NOMINAL_WEIGHT_G:
                problems.append(
                    f"{at}.{field}: {value} g for {what} is above "
                    f"MAX_NOMINAL_WEIGHT_G ({MAX_NOMINAL_WEIGHT_G:g})"
                )
        if p.too_light_for_scale and not per_unit:
            problems.append(
                f"{at}.too_light_for_scale: {what} is sold per kg, so the scale must weigh it"
            )
        if p.tax_class not in model.tax_classes:
            declared = ", ".join(sorted(model.tax_classes)) or "none"
            problems.append(
                f"{at}.tax_class: tax class {p.tax_class!r} of {what} is not declared in "
                f"tax_classes (declared: {declared})"
            )
        if p.min_age is not None and not 1 <= p.min_age <= MAX_MIN_AGE:
            problems.append(f"{at}.min_age: {p.min_age} is outside 1..{MAX_MIN_AGE} for {what}")
        for j, code in enumerate(p.gtins):
            try:
                gtin = normalize_gtin(code)
            except InvalidGtin as exc:
                problems.append(f"{at}.gtins[{j}]: {exc} (product {p.sku!r})")
                continue
            if gtin in gtin_at:
                problems.append(
                    f"{at}.gtins[{j}]: GTIN {gtin} of {what} is already used by {gtin_at[gtin]}"
                )
            gtin_at.setdefault(gtin, f"product {p.sku!r} ({at}.gtins[{j}])")
        for j, label in enumerate(p.labels):
            if not label.strip():
                problems.append(f"{at}.labels[{j}]: empty label for {what}")
            elif label in label_at:
                problems.append(
                    f"{at}.labels[{j}]: label {label!r} of {what} is already used by "
                    f"{label_at[label]}"
                )
            label_at.setdefault(label, f"product {p.sku!r}")
        ref = p.variable_measure_ref
        if ref is not None:
            if ref in vm_ref_at:
                problems.append(
                    f"{at}.variable_measure_ref: {ref!r} of {what} is already used by "
                    f"{vm_ref_at[ref]}"
                )
            vm_ref_at.setdefault(ref, f"product {p.sku!r}")
    return problems


def _check_offers(model: _CatalogModel) -> list[str]:
    problems: list[str] = []
    products = {p.sku: p for p in model.products}
    seen_ids: set[str] = set()
    for i, o in enumerate(model.offers):
        at = f"offers[{i}]"
        if o.id in seen_ids:
            problems.append(f"{at}.id: duplicate offer id {o.id!r}")
        seen_ids.add(o.id)
        if not o.skus:
            problems.append(f"{at}.skus: offer {o.id!r} names no SKU")
        if len(set(o.skus)) != len(o.skus):
            problems.append(f"{at}.skus: offer {o.id!r} names a SKU twice")
        for j, sku in enumerate(o.skus):
            product = products.get(sku)
            if product is None:
                problems.append(f"{at}.skus[{j}]: offer {o.id!r} refers to unknown SKU {sku!r}")
            elif product.pricing_mode != "per_unit":
                problems.append(
                    f"{at}.skus[{j}]: offer {o.id!r} refers to {sku!r}, which is sold per kg; "
                    "offers apply to per-unit products only"
                )
        fields = {"buy": o.buy, "pay": o.pay, "quantity": o.quantity, "price_cents": o.price_cents}
        wanted = ("buy", "pay") if o.kind == "multibuy" else ("quantity", "price_cents")
        for name, value in fields.items():
            if name in wanted and value is None:
                problems.append(f"{at}.{name}: a {o.kind} offer needs {name}")
            elif name not in wanted and value is not None:
                problems.append(f"{at}.{name}: a {o.kind} offer does not take {name}")
        if o.buy is not None and o.pay is not None and o.kind == "multibuy":
            if o.buy < 2:
                problems.append(f"{at}.buy: must be 2 or more, got {o.buy}")
            if not 1 <= o.pay < o.buy:
                problems.append(f"{at}.pay: must be at least 1 and less than buy ({o.buy})")
        if o.quantity is not None and o.price_cents is not None and o.kind == "bundle":
            problems += _check_bundle(at, o, products)
    return problems


def _check_bundle(at: str, o: _OfferModel, products: dict[str, _ProductModel]) -> list[str]:
    assert o.quantity is not None and o.price_cents is not None
    problems: list[str] = []
    if o.quantity < 2:
        problems.append(f"{at}.quantity: must be 2 or more, got {o.quantity}")
    if not 0 < o.price_cents <= MAX_PRICE_CENTS:
        problems.append(f"{at}.price_cents: must be within 1..{MAX_PRICE_CENTS}")
    prices = [products[s].price_cents for s in o.skus if s in products]
    if prices and o.quantity >= 2 and o.price_cents >= o.quantity * max(prices):
        # Such an offer could only ever raise the bill; it is a typo, not a promotion.
        problems.append(
            f"{at}.price_cents: {o.quantity} for {o.price_cents} saves nothing: "
            f"{o.quantity} of the dearest item cost {o.quantity * max(prices)}"
        )
    return problems


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
