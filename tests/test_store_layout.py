"""The store layout loader, and the bundled demo store's data checked against itself."""

from __future__ import annotations

import copy
import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cart_app.catalog_schema import load_catalog_file
from cart_app.domain import PricingMode
from cart_app.store_layout import (
    LayoutError,
    Point,
    StoreLayout,
    demo_store_dir,
    load_layout,
)
from tests.conftest import SHARED_DATA
from vision.gtin import normalize_gtin

Json = dict[str, Any]


def small_layout() -> Json:
    """A 10 x 8 m shop: one aisle, two bays, a path from the door past the bays to one lane."""
    return {
        "format_version": 1,
        "name": "Kiosken",
        "size_m": {"width": 10.0, "depth": 8.0},
        "aisles": [
            {"id": "A", "name": "Allt", "rect": {"x": 1.0, "y": 3.0, "width": 2.0, "depth": 4.0}},
            {"id": "B", "name": "Kyl", "polygon": [[6.0, 6.0], [9.0, 6.0], [9.0, 7.5]]},
        ],
        "bays": [
            {"id": "A-1", "aisle": "A", "x": 2.0, "y": 4.0, "node": "n1"},
            {"id": "B-1", "aisle": "B", "x": 8.0, "y": 6.5, "node": "n2"},
        ],
        "entrance": {"id": "IN", "x": 1.0, "y": 0.5, "node": "n0"},
        "exit_lanes": [{"id": "OUT", "x": 9.0, "y": 0.5, "node": "n3"}],
        "nodes": [
            {"id": "n0", "x": 1.0, "y": 1.5},
            {"id": "n1", "x": 4.0, "y": 4.0},
            {"id": "n2", "x": 8.0, "y": 4.0},
            {"id": "n3", "x": 9.0, "y": 1.5},
        ],
        "edges": [["n0", "n1"], ["n1", "n2"], ["n2", "n3"]],
    }


def write(path: Path, data: Json) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_small_layout_loads(tmp_path: Path) -> None:
    layout = load_layout(write(tmp_path / "layout.json", small_layout()))
    assert layout.name == "Kiosken"
    assert (layout.width_m, layout.depth_m) == (10.0, 8.0)
    aisle = layout.aisle("A")
    assert aisle is not None
    assert aisle.polygon == (Point(1, 3), Point(3, 3), Point(3, 7), Point(1, 7))
    bay = layout.bay("B-1")
    assert bay is not None and (bay.aisle_id, bay.node_id) == ("B", "n2")
    assert layout.entrance.node_id == "n0"
    assert [lane.waypoint_id for lane in layout.exit_lanes] == ["OUT"]
    # n0 (1, 1.5) to n1 (4, 4): a 3-2.5 right triangle; n1 to n2 is 4 m along y = 4.
    assert dict(layout.neighbours("n1")) == {"n0": pytest.approx(3.905124837), "n2": 4.0}
    assert layout.node("nope") is None and layout.bay("nope") is None


def _set(path: str, value: Any) -> Callable[[Json], None]:
    def mutate(data: Json) -> None:
        *parents, last = path.split(".")
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return mutate


def _append(path: str, value: Any) -> Callable[[Json], None]:
    def mutate(data: Json) -> None:
        data[path].append(value)

    return mutate


REJECTIONS = [
    (_append("edges", ["n3", "n9"]), "edges[3]: unknown node 'n9'"),
    (_append("edges", ["n1", "n1"]), "edges[3]: edge from 'n1' to itself"),
    (_append("edges", ["n1", "n0"]), "edges[3]: duplicate edge 'n1'-'n0'"),
    (
        _set("edges", [["n0", "n1"], ["n2", "n3"]]),
        "the graph is disconnected: nodes n2, n3 cannot be reached from the entrance node 'n0'",
    ),
    (_set("bays.0.aisle", "Z"), "bays[0].aisle: unknown aisle 'Z'"),
    (_set("bays.0.node", "n7"), "bays[0].node: unknown node 'n7'"),
    (_set("entrance.node", "n7"), "entrance.node: unknown node 'n7'"),
    (_set("exit_lanes.0.node", "n7"), "exit_lanes[0].node: unknown node 'n7'"),
    (
        _set("bays.0", {"id": "A-1", "aisle": "A", "x": 10.0, "y": 8.0, "node": "n1"}),
        "bays[0].node: 'n1' is 7.2 m away (more than MAX_BAY_NODE_DISTANCE_M, 6 m)",
    ),
    (_set("bays.1.id", "A-1"), "bays[1].id: duplicate id 'A-1'"),
    (_set("nodes.3.id", "n0"), "nodes[3].id: duplicate id 'n0'"),
    (_set("nodes.1.x", 11.0), "nodes[1]: (11.0, 4.0) is outside the store"),
    (_set("aisles.0.polygon", [[1, 1], [2, 2], [1, 2]]), "aisles[0]: give exactly one of"),
    (_set("aisles.1.polygon", [[1.0, 1.0], [2.0, 2.0]]), "aisles[1].polygon: needs at least 3"),
    (_set("aisles.0.rect.width", 0), "aisles[0].rect.width"),
    (_set("size_m.width", 5000.0), "size_m: 5000.0 x 8.0 m is outside"),
    (_set("exit_lanes", []), "exit_lanes"),
    (_set("nodes.0.x", "1.0"), "nodes[0].x: Input should be a valid number"),
    (_set("nodes.0.z", 1.0), "nodes[0].z: Extra inputs are not permitted"),
    (_set("format_version", 2), "format_version 2 is newer"),
]


@pytest.mark.parametrize(("mutate", "message"), REJECTIONS)
def test_bad_layout_is_rejected(
    tmp_path: Path, mutate: Callable[[Json], None], message: str
) -> None:
    data = copy.deepcopy(small_layout())
    mutate(data)
    path = write(tmp_path / "layout.json", data)
    with pytest.raises(LayoutError) as info:
        load_layout(path)
    assert str(path) in str(info.value)
    assert message in str(info.value)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="layout file not found"):
        load_layout(tmp_path / "none.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"format_version": 1,\n "name": ,}', encoding="utf-8")
    with pytest.raises(LayoutError, match="line 2 column 10"):
        load_layout(broken)
    listing = tmp_path / "list.json"
    listing.write_text("[]", encoding="utf-8")
    with pytest.raises(LayoutError, match="top level must be a JSON object"):
        load_layout(listing)


# --- the bundled demo store ----------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_layout() -> StoreLayout:
    return load_layout(demo_store_dir() / "layout.json")


def test_demo_store_folder_holds_both_files() -> None:
    folder = demo_store_dir()
    assert (folder / "catalog.json").is_file()
    assert (folder / "layout.json").is_file()


def test_every_demo_product_location_exists(demo_layout: StoreLayout) -> None:
    catalog = load_catalog_file(demo_store_dir() / "catalog.json")
    for product in catalog.products:
        assert product.location is not None, product.sku
        bay = demo_layout.bay(product.location.bay)
        assert bay is not None, product.sku
        assert bay.aisle_id == product.location.aisle, product.sku
        assert demo_layout.aisle(product.location.aisle) is not None


def test_every_demo_bay_and_lane_hangs_on_a_node(demo_layout: StoreLayout) -> None:
    for bay in demo_layout.bays:
        assert demo_layout.node(bay.node_id) is not None
    for lane in demo_layout.exit_lanes:
        assert demo_layout.neighbours(lane.node_id)


def test_demo_catalog_has_the_promised_cases() -> None:
    catalog = load_catalog_file(demo_store_dir() / "catalog.json")
    products = catalog.products
    assert catalog.store.currency == "SEK" and catalog.store.tax_included
    assert {t.tax_class: t.rate_bp for t in catalog.tax_rates} == {"food": 1200, "standard": 2500}
    assert any(p.pricing_mode is PricingMode.PER_KG and p.labels for p in products)
    assert any(
        p.pricing_mode is PricingMode.PER_UNIT and p.labels and not p.gtins for p in products
    )
    assert any(len(p.gtins) >= 2 for p in products)
    assert any(p.min_age == 18 for p in products)
    assert any(p.too_light_for_scale for p in products)
    assert catalog.variable_measure_refs
    assert {type(o).__name__ for o in catalog.offers} == {"MultiBuyOffer", "BundlePriceOffer"}
    swedish = [g for p in products for g in p.gtins if g.startswith("073")]
    assert len(swedish) >= 20
    assert all(normalize_gtin(g) == g for p in products for g in p.gtins)


@pytest.mark.shared_data
def test_demo_labels_are_grocery_dataset_class_names() -> None:
    classes_csv = SHARED_DATA / "grocery" / "classes.csv"
    if not classes_csv.is_file():
        pytest.skip(f"{classes_csv} is not available")
    with classes_csv.open(encoding="utf-8") as f:
        names = {row[0] for row in csv.reader(f)}
    catalog = load_catalog_file(demo_store_dir() / "catalog.json")
    labels = {label for p in catalog.products for label in p.labels}
    assert len(labels) >= 25
    assert labels <= names, labels - names
