"""The catalog: JSON validation messages, SQLite storage and safety, lookups, weight learning."""

from __future__ import annotations

import copy
import json
import sqlite3
import statistics
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from cart_app.catalog import (
    MAX_LEARNING_DEVIATION,
    MIN_LEARNT_SPREAD_G,
    MIN_WEIGHING_SAMPLES,
    Catalog,
    CatalogError,
    ScanMatch,
    StoreInfo,
    UnknownSkuError,
)
from cart_app.catalog_schema import MAX_REPORTED_PROBLEMS, load_catalog_file, parse_catalog_json
from cart_app.domain import BundlePriceOffer, MultiBuyOffer, PricingMode, TaxRate
from cart_app.store_layout import demo_store_dir
from cart_app.variable_measure import (
    VariableMeasureError,
    VariableMeasureScheme,
    build_variable_measure,
)
from vision.gtin import InvalidGtin

Json = dict[str, Any]


def _product(sku: str, **fields: Any) -> Json:
    base: Json = {
        "sku": sku,
        "name": f"Product {sku}",
        "price_cents": 1000,
        "pricing_mode": "per_unit",
        "nominal_weight_g": 500.0,
        "weight_tolerance_g": 8.0,
        "tax_class": "food",
    }
    base.update(fields)
    return base


def minimal() -> Json:
    """A small valid catalog exercising every field."""
    return {
        "format_version": 1,
        "store": {"name": "Testbutiken", "currency": "SEK", "tax_included": True},
        "tax_classes": {"food": 1200, "standard": 2500},
        "products": [
            _product(
                "MILK",
                name="Standardmjölk 1 l",
                gtins=["7350999000103", "7350999000110"],  # current and old code
                price_cents=1795,
                nominal_weight_g=1060,
                weight_tolerance_g=10,
                location={"aisle": "D", "bay": "D-1"},
                labels=["Arla-Standard-Milk"],
            ),
            _product("PB", name="Peanut butter", gtins=["045200000313"], price_cents=4995),
            _product(
                "BANANA",
                name="Bananer",
                price_cents=2990,
                pricing_mode="per_kg",
                nominal_weight_g=180,
                weight_tolerance_g=30,
                labels=["Banana"],
            ),
            _product(
                "CHEESE",
                name="Ost från disken",
                price_cents=13900,
                pricing_mode="per_kg",
                nominal_weight_g=0,
                weight_tolerance_g=0,
                variable_measure_ref="10001",
            ),
            # The zeroed lookup GTIN of item 10002 under prefix 23, as a POS catalog stores it.
            _product("HAM", price_cents=19900, pricing_mode="per_kg", gtins=["2310002000006"]),
            _product(
                "BEER",
                name="Folköl 50 cl",
                gtins=["7350999000349"],
                price_cents=1690,
                tax_class="standard",
                min_age=18,
            ),
            _product("GUM", gtins=["73091233"], nominal_weight_g=15, too_light_for_scale=True),
        ],
        "offers": [
            {
                "id": "MILK-2FOR30",
                "kind": "bundle",
                "description": "2 för 30 kr",
                "skus": ["MILK"],
                "quantity": 2,
                "price_cents": 3000,
            },
            {
                "id": "3FOR2",
                "kind": "multibuy",
                "description": "3 för 2",
                "skus": ["PB", "BEER"],
                "buy": 3,
                "pay": 2,
            },
        ],
    }


def write(path: Path, data: Json) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture
def catalog(tmp_path: Path) -> Any:
    cat = Catalog.open(tmp_path / "catalog.sqlite3")
    cat.import_json(write(tmp_path / "catalog.json", minimal()))
    yield cat
    cat.close()


# --- JSON validation -----------------------------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[Json], None]:
    """A mutation setting ``value`` at a dotted path ("products.0.price_cents"); DEL removes."""

    def mutate(data: Json) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        key: Any = int(last) if last.isdigit() else last
        if value is DEL:
            del node[key]
        else:
            node[key] = value

    return mutate


DEL = object()

REJECTIONS = [
    (_set("products.0.price_cents", -5), ["products[0].price_cents", "negative price -5"]),
    (
        _set("products.0.price_cents", 1_000_001),
        ["products[0].price_cents", "above MAX_PRICE_CENTS (1000000)"],
    ),
    (_set("products.0.price_cents", 17.95), ["products[0].price_cents", "valid integer"]),
    (_set("products.0.price_cents", "1795"), ["products[0].price_cents", "valid integer"]),
    (_set("products.0.price_cents", DEL), ["products[0].price_cents: Field required"]),
    (
        _set("products.0.nominal_weight_g", 0),
        ["products[0].nominal_weight_g", "per-unit product 'MILK' needs a positive weight"],
    ),
    (
        _set("products.1.weight_tolerance_g", -1),
        ["products[1].weight_tolerance_g", "per-unit product 'PB'"],
    ),
    (_set("products.2.nominal_weight_g", -1), ["products[2].nominal_weight_g", "negative"]),
    (
        _set("products.0.nominal_weight_g", 60_000),
        ["products[0].nominal_weight_g", "MAX_NOMINAL_WEIGHT_G"],
    ),
    (
        _set("products.0.gtins.1", "7350999000111"),
        ["products[0].gtins[1]", "has check digit 1, expected 0", "product 'MILK'"],
    ),
    (_set("products.0.gtins.1", "73509990"), ["products[0].gtins[1]", "check digit"]),
    (_set("products.0.gtins.1", "abc"), ["products[0].gtins[1]", "non-digit"]),
    (
        _set("products.1.gtins", ["7350999000103"]),
        ["products[1].gtins[0]", "of product 'PB' is already used by product 'MILK'"],
    ),
    (
        # The same GTIN written as EAN-13 instead of UPC-A is still the same GTIN.
        _set("products.0.gtins", ["0045200000313"]),
        ["products[1].gtins[0]", "already used by product 'MILK'"],
    ),
    (_set("products.1.sku", "MILK"), ["products[1].sku: duplicate SKU 'MILK' (also products[0])"]),
    (_set("products.1.sku", "has space"), ["products[1].sku", "pattern"]),
    (
        _set("products.0.tax_class", "luxury"),
        ["products[0].tax_class", "'luxury'", "not declared", "(declared: food, standard)"],
    ),
    (_set("products.0.pricing_mode", "per_litre"), ["products[0].pricing_mode", "'per_unit'"]),
    (_set("products.0.colour", "white"), ["products[0].colour", "Extra inputs"]),
    (_set("products.0.min_age", 200), ["products[0].min_age", "outside 1..25"]),
    (_set("products.2.too_light_for_scale", True), ["products[2].too_light_for_scale", "per kg"]),
    (
        _set("products.2.labels", ["Arla-Standard-Milk"]),
        ["products[2].labels[0]", "label 'Arla-Standard-Milk'", "already used by product 'MILK'"],
    ),
    (_set("products.2.labels", [" "]), ["products[2].labels[0]", "empty label"]),
    (
        _set("products.2.variable_measure_ref", "10001"),
        ["products[3].variable_measure_ref", "'10001'", "already used by product 'BANANA'"],
    ),
    (_set("products.3.variable_measure_ref", "1a"), ["products[3].variable_measure_ref"]),
    (_set("products", []), ["products: the catalog has no products"]),
    (_set("store.currency", "kr"), ["store.currency"]),
    (_set("store.tax_included", "yes"), ["store.tax_included", "valid boolean"]),
    (_set("store.tax_included", 1), ["store.tax_included", "valid boolean"]),
    (_set("store", DEL), ["store: Field required"]),
    (_set("tax_classes.food", 20_000), ["tax_classes.food", "outside 0..10000"]),
    (_set("format_version", 0), ["format_version: must be 1 or more"]),
    (
        _set("offers.0.skus", ["NOPE"]),
        ["offers[0].skus[0]", "offer 'MILK-2FOR30' refers to unknown SKU 'NOPE'"],
    ),
    (
        _set("offers.1.skus", ["PB", "BANANA"]),
        ["offers[1].skus[1]", "'BANANA', which is sold per kg"],
    ),
    (_set("offers.1.skus", []), ["offers[1].skus", "names no SKU"]),
    (_set("offers.1.skus", ["PB", "PB"]), ["offers[1].skus", "names a SKU twice"]),
    (_set("offers.1.pay", 3), ["offers[1].pay", "less than buy (3)"]),
    (_set("offers.1.pay", 0), ["offers[1].pay", "at least 1"]),
    (_set("offers.1.buy", 1), ["offers[1].buy", "2 or more"]),
    (_set("offers.1.price_cents", 100), ["offers[1].price_cents", "multibuy offer does not take"]),
    (_set("offers.0.quantity", DEL), ["offers[0].quantity", "a bundle offer needs quantity"]),
    (_set("offers.0.price_cents", 3590), ["offers[0].price_cents", "saves nothing"]),
    (_set("offers.0.price_cents", 0), ["offers[0].price_cents", "within 1..1000000"]),
    (_set("offers.0.kind", "bogo"), ["offers[0].kind"]),
    (_set("offers.1.id", "MILK-2FOR30"), ["offers[1].id", "duplicate offer id"]),
]


@pytest.mark.parametrize(("mutate", "expected"), REJECTIONS)
def test_invalid_catalog_is_rejected_with_path_and_problem(
    tmp_path: Path, mutate: Callable[[Json], None], expected: list[str]
) -> None:
    data = minimal()
    mutate(data)
    path = write(tmp_path / "bad.json", data)
    with pytest.raises(CatalogError) as info:
        load_catalog_file(path)
    message = str(info.value)
    assert str(path) in message
    for part in expected:
        assert part in message


def test_valid_catalog_parses_into_domain_types(tmp_path: Path) -> None:
    data = load_catalog_file(write(tmp_path / "c.json", minimal()))
    milk = data.products[0]
    assert milk.gtins == ("07350999000103", "07350999000110")
    assert milk.pricing_mode is PricingMode.PER_UNIT
    assert data.products[1].gtins == ("00045200000313",)  # UPC-A stored as GTIN-14
    assert data.products[5].min_age == 18
    assert data.offers == (
        BundlePriceOffer("MILK-2FOR30", "2 för 30 kr", frozenset({"MILK"}), 2, 3000),
        MultiBuyOffer("3FOR2", "3 för 2", frozenset({"PB", "BEER"}), 3, 2),
    )
    assert data.variable_measure_refs == (("10001", "CHEESE"),)
    assert data.store == StoreInfo("Testbutiken", "SEK", True)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"nowhere\.json: catalog file not found"):
        load_catalog_file(tmp_path / "nowhere.json")


def test_not_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "format_version": 1,\n  "store": }\n', encoding="utf-8")
    with pytest.raises(CatalogError, match=r"broken\.json: not valid JSON: .* line 3 column 12"):
        load_catalog_file(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"format_version": 1, "format_version": 1}', "duplicate key 'format_version'"),
        ('{"format_version": NaN}', "NaN is not valid JSON"),
        ("[1, 2]", "top level must be a JSON object"),
        ('{"format_version": 2, "anything": "goes"}', "format_version 2 is newer than this build"),
    ],
)
def test_file_level_problems(text: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        parse_catalog_json(text, source="x.json")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"name": "Mjölk"}'.encode("latin-1"))
    with pytest.raises(CatalogError, match="not UTF-8"):
        load_catalog_file(path)


def test_every_problem_is_reported_and_long_lists_are_summarised() -> None:
    data = minimal()
    data["offers"] = []
    for p in data["products"]:
        p["price_cents"] = -1
    data["products"] += [_product(f"X{i}", price_cents=-1) for i in range(30)]
    with pytest.raises(CatalogError) as info:
        parse_catalog_json(json.dumps(data), source="many.json")
    assert len(info.value.problems) == 37
    assert f"... and {37 - MAX_REPORTED_PROBLEMS} more problems" in str(info.value)


# --- storage ----------------------------------------------------------------------------------


def test_round_trip_through_sqlite(tmp_path: Path, catalog: Catalog) -> None:
    expected = load_catalog_file(write(tmp_path / "again.json", minimal()))
    assert catalog.products() == list(expected.products)
    assert catalog.offers() == list(expected.offers)
    assert catalog.tax_rates() == {
        "food": TaxRate("food", 1200),
        "standard": TaxRate("standard", 2500),
    }
    assert catalog.store_info() == StoreInfo("Testbutiken", "SEK", True)
    assert catalog.product_count() == 7


def test_demo_store_round_trips(demo_catalog: Catalog) -> None:
    expected = load_catalog_file(demo_store_dir() / "catalog.json")
    assert demo_catalog.products() == list(expected.products)
    assert demo_catalog.offers() == list(expected.offers)
    assert 30 <= len(expected.products) <= 40


@pytest.mark.parametrize(
    ("code", "symbology", "sku", "weight_g"),
    [
        ("2310001004128", None, "C-CHEESE-DELI", 412.0),  # deli label, as in docs/catalog.md
        ("04523133", "UPCE", "S-PEANUT-BUTTER", None),
        ("7350999000103", "EAN13", "D-MILK-STD", None),
        ("7350999000110", "EAN13", "D-MILK-STD", None),  # the old code
        ("73091233", "EAN8", "K-CHEWING-GUM", None),
    ],
)
def test_demo_store_codes(
    demo_catalog: Catalog, code: str, symbology: str | None, sku: str, weight_g: float | None
) -> None:
    match = demo_catalog.resolve_scan(code, symbology)
    assert match is not None
    assert (match.product.sku, match.weight_g) == (sku, weight_g)


def test_contents_survive_reopening(tmp_path: Path, catalog: Catalog) -> None:
    before = catalog.products()
    catalog.close()
    with Catalog.open(tmp_path / "catalog.sqlite3") as reopened:
        assert reopened.products() == before


def test_bad_import_leaves_previous_catalog_intact(tmp_path: Path, catalog: Catalog) -> None:
    before = (catalog.products(), catalog.offers(), catalog.store_info())
    data = minimal()
    data["store"]["name"] = "Other"
    data["products"][0]["price_cents"] = -1
    with pytest.raises(CatalogError, match="negative price"):
        catalog.import_json(write(tmp_path / "bad.json", data))
    assert (catalog.products(), catalog.offers(), catalog.store_info()) == before


def test_failed_write_rolls_back(tmp_path: Path, catalog: Catalog) -> None:
    before = catalog.products()
    data = load_catalog_file(write(tmp_path / "c.json", minimal()))
    # Bypass validation: a GTIN on two products makes the database refuse half-way through.
    clash = replace(data.products[1], gtins=data.products[0].gtins)
    broken = replace(data, products=(data.products[0], clash, *data.products[2:]))
    with pytest.raises(CatalogError, match=r"import of .* failed"):
        catalog.import_data(broken)
    assert catalog.products() == before


def test_import_replaces_everything(tmp_path: Path, catalog: Catalog) -> None:
    data = minimal()
    data["products"] = [_product("ONLY", gtins=["96385074"])]
    data["offers"] = []
    assert catalog.import_json(write(tmp_path / "small.json", data)) == 1
    assert [p.sku for p in catalog.products()] == ["ONLY"]
    assert catalog.offers() == []
    assert catalog.by_gtin("7350999000103") is None


def test_empty_catalog(tmp_path: Path) -> None:
    with Catalog.open(tmp_path / "new.sqlite3") as cat:
        assert cat.products() == []
        assert cat.product_count() == 0
        with pytest.raises(CatalogError, match="empty; import a catalog first"):
            cat.store_info()


def _catalog_file(path: Path, journal_mode: str = "DELETE", user_version: int = 1) -> None:
    """A real catalog file, then switched to ``journal_mode`` and stamped ``user_version``."""
    with Catalog.open(path) as cat:
        cat.import_json(write(path.with_suffix(".json"), minimal()))
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA journal_mode = {journal_mode}")
    conn.execute(f"PRAGMA user_version = {user_version}")
    conn.close()


@pytest.mark.parametrize("journal_mode", ["DELETE", "WAL"])
def test_newer_schema_is_refused_and_left_untouched(tmp_path: Path, journal_mode: str) -> None:
    path = tmp_path / "newer.sqlite3"
    _catalog_file(path, journal_mode, user_version=99)
    before = path.read_bytes()
    listing = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(CatalogError, match=r"newer\.sqlite3: catalog schema 99 .* newer version"):
        Catalog.open(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == listing


def test_garbage_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "garbage.sqlite3"
    path.write_bytes(b"\x00\xffnot a database" * 500)
    before = path.read_bytes()
    with pytest.raises(CatalogError, match=r"garbage\.sqlite3: corrupt or not an SQLite database"):
        Catalog.open(path)
    assert path.read_bytes() == before


def test_damaged_pages_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "damaged.sqlite3"
    _catalog_file(path)
    raw = bytearray(path.read_bytes())
    page = 4096
    for offset in range(page, len(raw), page):  # keep the header page, scramble the rest
        raw[offset : offset + 64] = b"\xa5" * 64
    path.write_bytes(bytes(raw))
    with pytest.raises(CatalogError, match=r"damaged\.sqlite3: corrupt"):
        Catalog.open(path)
    assert path.read_bytes() == bytes(raw)


def test_foreign_sqlite_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(CatalogError, match="not a smartcart catalog"):
        Catalog.open(path)


def test_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="is a directory"):
        Catalog.open(tmp_path)


def test_zero_byte_file_becomes_a_new_catalog(tmp_path: Path) -> None:
    path = tmp_path / "empty.sqlite3"
    path.touch()
    with Catalog.open(path) as cat:
        assert cat.product_count() == 0


# --- lookups ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "symbology", "sku"),
    [
        ("7350999000103", None, "MILK"),  # EAN-13
        ("07350999000103", None, "MILK"),  # GTIN-14
        ("735 0999 000103", None, "MILK"),  # as printed
        ("7350999000110", None, "MILK"),  # the old code
        ("045200000313", None, "PB"),  # UPC-A
        ("0045200000313", "EAN13", "PB"),  # zbar's 13-digit UPC-A
        ("04523133", "upce", "PB"),  # UPC-E of the same product
        ("73091233", None, "GUM"),  # EAN-8
    ],
)
def test_by_gtin_accepts_every_form(
    catalog: Catalog, code: str, symbology: str | None, sku: str
) -> None:
    product = catalog.by_gtin(code, symbology)
    assert product is not None and product.sku == sku
    match = catalog.resolve_scan(code, symbology)
    assert match is not None and match.product.sku == sku
    assert (match.weight_g, match.price_cents) == (None, None)


def test_unknown_and_malformed_codes(catalog: Catalog) -> None:
    assert catalog.by_gtin("4006381333931") is None
    assert catalog.resolve_scan("4006381333931") is None
    with pytest.raises(InvalidGtin, match="check digit"):
        catalog.by_gtin("4006381333932")
    with pytest.raises(InvalidGtin):
        catalog.resolve_scan("hello")


def test_variable_measure_weight_label(catalog: Catalog) -> None:
    match = catalog.resolve_scan("2310001004128")  # item 10001, 412 g
    assert match == ScanMatch(catalog.by_sku("CHEESE"), "02310001004128", 412.0, None)  # type: ignore[arg-type]


def test_variable_measure_found_by_zeroed_lookup_gtin(catalog: Catalog) -> None:
    code = build_variable_measure("23", "10002", 250)
    match = catalog.resolve_scan(code)
    assert match is not None
    assert (match.product.sku, match.weight_g) == ("HAM", 250.0)


def test_variable_measure_unknown_item_is_none(catalog: Catalog) -> None:
    assert catalog.resolve_scan(build_variable_measure("23", "99999", 250)) is None


def test_variable_measure_price_scheme(tmp_path: Path) -> None:
    scheme = VariableMeasureScheme(
        prefixes=frozenset({"02"}),
        item_digits=5,
        value_digits=4,
        value_kind="price_cents",
        has_value_check_digit=True,
    )
    with Catalog.open(tmp_path / "c.sqlite3", variable_measure=scheme) as cat:
        cat.import_json(write(tmp_path / "c.json", minimal()))
        match = cat.resolve_scan("210001749802")  # UPC-A: item 10001, verifier 7, 49.80
        assert match is not None
        assert (match.product.sku, match.weight_g, match.price_cents) == ("CHEESE", None, 4980)
        with pytest.raises(VariableMeasureError, match="verifier digit"):
            cat.resolve_scan("210001349804")  # verifier 3 does not fit 49.80
        assert cat.resolve_scan("2310001004128") is None  # 23 is not variable in this scheme


def test_variable_measure_can_be_disabled(tmp_path: Path) -> None:
    with Catalog.open(tmp_path / "c.sqlite3", variable_measure=None) as cat:
        cat.import_json(write(tmp_path / "c.json", minimal()))
        assert cat.resolve_scan("2310001004128") is None


def test_by_label_and_by_sku(catalog: Catalog) -> None:
    banana = catalog.by_label("Banana")
    assert banana is not None and banana.sku == "BANANA"
    assert catalog.by_label("banana") is None  # recogniser labels are exact
    assert catalog.by_sku("BANANA") == banana
    assert catalog.by_sku("NOPE") is None


@pytest.mark.parametrize(
    ("text", "skus"),
    [
        ("mjölk", ["MILK"]),
        ("MJÖLK", ["MILK"]),  # casefold handles Swedish letters, unlike SQL LIKE
        ("product", ["HAM", "GUM"]),
        ("beer", ["BEER"]),  # SKU, any case
        ("7350999000110", ["MILK"]),  # a GTIN
        ("0-45200-00031-3", ["PB"]),
        ("", []),
        ("nothing like it", []),
        ("%", []),  # no SQL wildcard leaks through
    ],
)
def test_search(catalog: Catalog, text: str, skus: list[str]) -> None:
    assert [p.sku for p in catalog.search(text)] == skus


def test_search_limit(catalog: Catalog) -> None:
    assert len(catalog.search("o", limit=2)) == 2


def test_lookups_from_many_threads_during_imports(tmp_path: Path, catalog: Catalog) -> None:
    path = write(tmp_path / "again.json", minimal())
    failures: list[str] = []

    def reader() -> None:
        for _ in range(200):
            if catalog.by_gtin("7350999000103") is None or catalog.by_label("Banana") is None:
                failures.append("lookup saw a half-imported catalog")

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for t in threads:
        t.start()
    for _ in range(5):
        catalog.import_json(path)
    for t in threads:
        t.join()
    assert failures == []


# --- weight learning --------------------------------------------------------------------------


def test_weight_model_starts_from_the_catalog(catalog: Catalog) -> None:
    model = catalog.weight_model("MILK")
    assert (model.nominal_g, model.tolerance_g, model.samples) == (1060.0, 10.0, 0)
    assert (model.learnt_mean_g, model.learnt_spread_g) == (None, None)
    assert (model.mean_g, model.sigma_g) == (1060.0, 10.0 / 3)


def test_spread_is_learnt_from_confirmed_weighings(catalog: Catalog) -> None:
    weighings = [1052.0, 1058.5, 1061.0, 1049.5, 1063.0, 1055.0, 1057.5, 1060.0, 1054.0, 1059.5]
    assert len(weighings) == MIN_WEIGHING_SAMPLES
    for grams in weighings[:-1]:
        assert catalog.record_weighing("MILK", grams)
    early = catalog.weight_model("MILK")
    assert early.samples == MIN_WEIGHING_SAMPLES - 1
    assert early.learnt_spread_g is None
    catalog.record_weighing("MILK", weighings[-1])
    model = catalog.weight_model("MILK")
    assert model.samples == MIN_WEIGHING_SAMPLES
    assert model.learnt_mean_g == pytest.approx(statistics.fmean(weighings))
    assert model.learnt_spread_g == pytest.approx(statistics.stdev(weighings))
    assert model.sigma_g == model.learnt_spread_g
    milk = catalog.by_sku("MILK")
    assert milk is not None and milk.weight_spread_g == pytest.approx(statistics.stdev(weighings))


def test_learnt_spread_has_a_floor(catalog: Catalog) -> None:
    for _ in range(MIN_WEIGHING_SAMPLES):
        catalog.record_weighing("PB", 500.0)
    assert catalog.weight_model("PB").learnt_spread_g == MIN_LEARNT_SPREAD_G


def test_outlier_weighing_is_not_learnt(catalog: Catalog) -> None:
    far = 1060.0 * (1 + MAX_LEARNING_DEVIATION) + 1  # two cartons counted as one, say
    assert not catalog.record_weighing("MILK", far)
    assert catalog.weight_model("MILK").samples == 0


@pytest.mark.parametrize(
    ("sku", "grams", "error", "message"),
    [
        ("NOPE", 100.0, UnknownSkuError, "unknown SKU 'NOPE'"),
        ("BANANA", 180.0, ValueError, "sold per kg"),
        ("MILK", -5.0, ValueError, "positive number"),
        ("MILK", float("nan"), ValueError, "positive number"),
    ],
)
def test_bad_weighings(
    catalog: Catalog, sku: str, grams: float, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        catalog.record_weighing(sku, grams)


def test_weight_model_of_unknown_sku(catalog: Catalog) -> None:
    with pytest.raises(UnknownSkuError):
        catalog.weight_model("NOPE")


def test_learning_survives_reimport_unless_nominal_changes(
    tmp_path: Path, catalog: Catalog
) -> None:
    for grams in (1055.0, 1060.0, 1065.0):
        catalog.record_weighing("MILK", grams)
        catalog.record_weighing("PB", grams / 2)
    data = minimal()
    catalog.import_json(write(tmp_path / "same.json", data))
    assert catalog.weight_model("MILK").samples == 3
    changed = copy.deepcopy(data)
    changed["products"][0]["nominal_weight_g"] = 1100  # new carton: old learning is stale
    catalog.import_json(write(tmp_path / "changed.json", changed))
    assert catalog.weight_model("MILK").samples == 0
    assert catalog.weight_model("PB").samples == 3


def test_a_product_looked_up_again_reflects_weighings_and_imports(
    tmp_path: Path, catalog: Catalog
) -> None:
    # by_sku keeps what it read (the engine prices every line on every change); what it kept
    # must not outlive a weighing that taught the product's spread, or a new catalog.
    before = catalog.by_sku("MILK")
    assert before is not None and before.weight_spread_g is None
    assert catalog.by_sku("MILK") == before
    for grams in [1052.0, 1058.5, 1061.0, 1049.5, 1063.0, 1055.0, 1057.5, 1060.0, 1054.0, 1059.5]:
        catalog.record_weighing("MILK", grams)
    learnt = catalog.by_sku("MILK")
    assert learnt is not None and learnt.weight_spread_g is not None
    assert catalog.by_sku("NEW") is None

    data = minimal()
    data["products"][0]["price_cents"] = 1_999
    data["products"].append(_product("NEW", gtins=["96385074"]))
    catalog.import_json(write(tmp_path / "dearer.json", data))
    dearer = catalog.by_sku("MILK")
    assert dearer is not None and dearer.price_cents == 1_999
    assert catalog.by_sku("NEW") is not None
    data["products"] = [p for p in data["products"] if p["sku"] != "MILK"]
    data["offers"] = []
    catalog.import_json(write(tmp_path / "no-milk.json", data))
    assert catalog.by_sku("MILK") is None
