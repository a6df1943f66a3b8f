"""The store map's label layout: no label covers another, a marker or (where it can) the route."""

from __future__ import annotations

import itertools

import pytest

from cart_app.catalog import Catalog
from cart_app.engine import Engine
from cart_app.events import ChangeKind, Confirm, StartSession
from cart_app.store_layout import demo_store_dir, load_layout
from tests.ui.conftest import run
from ui.i18n import Translator
from ui.viewmodels.map import MapVM
from ui.viewmodels.map_labels import (
    Box,
    LabelSpec,
    MapTexts,
    PlacedLabel,
    map_frame,
    map_labels,
    map_markers,
    place_labels,
)

TEXTS = MapTexts("You", "Entrance")


def measure(text: str, size: float, bold: bool) -> tuple[float, float]:
    """Roughly what DejaVu Sans needs (a little wide, so the tests are on the safe side)."""
    return len(text) * size * (0.66 if bold else 0.6), size * 1.25


def test_box_geometry() -> None:
    box = Box(0, 0, 10, 10)
    assert box.overlaps(Box(5, 5, 10, 10)) and not box.overlaps(Box(10, 0, 5, 5))
    assert box.overlaps(Box(11, 0, 5, 5), gap=2)
    assert box.crosses((-5, 5), (15, 5)) and box.crosses((5, 5), (5, 6))
    assert not box.crosses((-5, 12), (15, 12)) and not box.crosses((-5, -5), (-1, 20))
    assert box.crosses((-5, -5), (15, 15))  # a diagonal through it
    assert Box(95, 0, 10, 10).clamp_into(Box(0, 0, 100, 100)) == Box(90, 0, 10, 10)


def test_two_labels_at_one_place_do_not_overlap() -> None:
    specs = [
        LabelSpec("a", "You", (100, 100), (40, 18), 15, clearance=12),
        LabelSpec("b", "Standardmjölk 3 % 1 l", (100, 100), (180, 18), 15, clearance=30),
    ]
    placed = place_labels(specs, bounds=Box(0, 0, 400, 300), markers=[Box(88, 88, 24, 24)])
    a, b = (p.box for p in placed)
    assert not a.overlaps(b) and not a.overlaps(Box(88, 88, 24, 24))


def test_a_label_steps_off_the_route() -> None:
    spec = LabelSpec("you", "You", (100, 100), (40, 18), 15, clearance=12)
    route = [(100.0, 100.0), (300.0, 100.0)]  # leaves to the east, where "You" would go first
    (placed,) = place_labels([spec], bounds=Box(0, 0, 400, 300), route=route)
    assert not any(placed.box.crosses(a, b) for a, b in itertools.pairwise(route))


def assert_clear(labels: tuple[PlacedLabel, ...], markers: list[Box], bounds: Box) -> None:
    for a, b in itertools.combinations(labels, 2):
        assert not a.box.overlaps(b.box), f"{a.key} overlaps {b.key}"
    for label in labels:
        assert label.box.inside(bounds), f"{label.key} leaves the map"
        for marker in markers:
            assert not label.box.overlaps(marker), f"{label.key} covers a marker at {marker}"


@pytest.fixture
def map_vm(demo_catalog: Catalog) -> MapVM:
    return MapVM(load_layout(demo_store_dir() / "layout.json"), demo_catalog, "SEK", Translator())


@pytest.mark.parametrize("fs", [1.0, 1.3])
@pytest.mark.parametrize("size", [(818.0, 580.0), (818.0, 520.0), (1240.0, 640.0)])
def test_the_screenshot_cases_lay_out_clear(
    map_vm: MapVM, engine: Engine, fs: float, size: tuple[float, float]
) -> None:
    """The case the screenshots showed: "You" beside the route, the highlighted product next
    to it, a shopping list, both lanes; in normal and large text, in several map sizes."""
    map_vm.set_list(["C-CHEESE-DELI", "S-CRISPBREAD", "FV-BANANA", "J-TROP-APPLE"])
    run(engine, StartSession())
    snap = run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1))
    map_vm.update_basket(snap.basket, snap.basket.lines[-1].line_id)
    view = map_vm.show_product("D-MILK-STD")
    assert view.highlight is not None
    frame = map_frame(view, (14.0, 30.0), size)
    bounds = Box(16.0, 32.0, size[0] - 4, size[1] - 4)
    labels = map_labels(view, frame, bounds, measure, TEXTS, fs=fs)
    assert {label.key for label in labels} >= {"you", "highlight", "lane:LANE-1", "entrance"}
    assert_clear(labels, map_markers(view, frame), bounds)
    route = [frame.at(p.x, p.y) for p in view.route]
    for label in labels:
        if label.key in ("you", "highlight") or label.key.startswith("lane:"):
            assert not any(label.box.crosses(a, b) for a, b in itertools.pairwise(route)), (
                f"{label.key} sits on the route"
            )


def test_every_start_and_highlight_lays_out_clear(
    map_vm: MapVM, engine: Engine, demo_catalog: Catalog
) -> None:
    """Wherever the shopper was last (one product of every bay goes in, in turn) and whichever
    product is highlighted, no label overlaps another or a marker."""
    by_bay: dict[str, str] = {}
    for product in demo_catalog.products():
        if product.location is not None and product.pricing_mode.value != "per_kg":
            by_bay.setdefault(product.location.bay, product.sku)
    skus = list(by_bay.values())
    assert len(skus) >= 8
    map_vm.set_list(skus[::2])
    run(engine, StartSession())
    for sku in skus:
        snap = run(engine, Confirm(ChangeKind.ADD, sku, 1))
        map_vm.update_basket(snap.basket, snap.basket.lines[-1].line_id)
        for shown in skus[::3]:
            view = map_vm.show_product(shown)
            frame = map_frame(view, (0.0, 0.0), (818.0, 560.0))
            bounds = Box(2.0, 2.0, 814.0, 556.0)
            labels = map_labels(view, frame, bounds, measure, TEXTS, fs=1.0)
            assert_clear(labels, map_markers(view, frame), bounds)


def test_the_exit_lane_is_one_source_of_truth(map_vm: MapVM) -> None:
    view = map_vm.set_list(["C-CHEESE-DELI", "D-MILK-STD", "FV-BANANA"])
    assert view.exit_lane == map_vm.exit_lane == "LANE-2"
    assert view.exit_text.endswith("exit lane LANE-2")
    view = map_vm.set_list([])
    assert view.exit_lane == map_vm.exit_lane == "LANE-1"  # from the entrance, the nearest
    assert view.exit_text.endswith("exit lane LANE-1")
