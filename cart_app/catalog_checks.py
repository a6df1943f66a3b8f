"""Value and cross-reference checks of a catalog whose shape pydantic has already accepted.

Each problem is a ``json.path: message`` string, and checking goes on after a problem so that
one import attempt reports everything wrong with the file, not just the first mistake. The
models checked here are defined in :mod:`cart_app.catalog_schema`, which calls
:func:`check_values`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cart_app.offers import MAX_PRICE_CENTS  # the bound pricing enforces too
from vision.gtin import InvalidGtin, normalize_gtin

if TYPE_CHECKING:
    # Annotations only: catalog_schema imports this module, so a runtime import would be a cycle.
    from cart_app.catalog_schema import _CatalogModel, _OfferModel, _ProductModel

MAX_NOMINAL_WEIGHT_G = 50_000.0
"""Heaviest accepted nominal weight: more than a cart basket can carry."""

MAX_TAX_RATE_BP = 10_000
"""100 %, in basis points."""

MAX_MIN_AGE = 25
"""Highest legal age limit accepted; a larger value is a data error."""


def check_values(model: _CatalogModel) -> list[str]:
    """Every value and cross-reference problem of a shape-checked catalog, as ``path: message``.

    An empty list means the catalog can be imported.
    """
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


def _claim(owners: dict[str, str], key: str, owner: str, problem: str) -> list[str]:
    """Give ``key`` to ``owner``, or report ``problem`` when another product holds it."""
    if key in owners:
        return [f"{problem} is already used by {owners[key]}"]
    owners[key] = owner
    return []


def _check_products(model: _CatalogModel) -> list[str]:
    problems: list[str] = []
    sku_at: dict[str, str] = {}
    gtin_at: dict[str, str] = {}
    label_at: dict[str, str] = {}
    vm_ref_at: dict[str, str] = {}
    for i, p in enumerate(model.products):
        at, what = f"products[{i}]", f"product {p.sku!r}"
        if p.sku in sku_at:
            problems.append(f"{at}.sku: duplicate SKU {p.sku!r} (also {sku_at[p.sku]})")
        sku_at.setdefault(p.sku, at)
        problems += _check_product_values(at, what, p, model)
        for j, code in enumerate(p.gtins):
            try:
                gtin = normalize_gtin(code)
            except InvalidGtin as exc:
                problems.append(f"{at}.gtins[{j}]: {exc} ({what})")
                continue
            problem = f"{at}.gtins[{j}]: GTIN {gtin} of {what}"
            problems += _claim(gtin_at, gtin, f"{what} ({at})", problem)
        for j, label in enumerate(p.labels):
            if not label.strip():
                problems.append(f"{at}.labels[{j}]: empty label for {what}")
            else:
                problem = f"{at}.labels[{j}]: label {label!r} of {what}"
                problems += _claim(label_at, label, what, problem)
        if p.variable_measure_ref is not None:
            ref = p.variable_measure_ref
            problem = f"{at}.variable_measure_ref: {ref!r} of {what}"
            problems += _claim(vm_ref_at, ref, what, problem)
    return problems


def _check_product_values(at: str, what: str, p: _ProductModel, model: _CatalogModel) -> list[str]:
    problems: list[str] = []
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
            problems.append(f"{at}.{field}: per-unit {what} needs a positive weight, got {value}")
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
