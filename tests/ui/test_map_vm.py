"""The shopping list, route and search view-model over the demo store."""

from __future__ import annotations

import pytest

from cart_app.catalog import Catalog
from cart_app.engine import Engine
from cart_app.events import ChangeKind, Confirm, StartSession
from cart_app.store_layout import StoreLayout, demo_store_dir, load_layout
from tests.ui.conftest import run
from ui.i18n import Translator
from ui.viewmodels.map import FOUND_ICON, TODO_ICON, MapVM


@pytest.fixture
def layout() -> StoreLayout:
    return load_layout(demo_store_dir() / "layout.json")


@pytest.fixture
def map_vm(layout: StoreLayout, demo_catalog: Catalog, tr: Translator) -> MapVM:
    return MapVM(layout, demo_catalog, "SEK", tr)


def test_the_map_is_drawn_from_the_layout(map_vm: MapVM, layout: StoreLayout) -> None:
    view = map_vm.view
    assert (view.width_m, view.depth_m) == (30.0, 20.0)
    assert [a.aisle_id for a in view.aisles] == ["FV", "J", "S", "D", "C", "K"]
    assert view.aisles[0].centre.x == pytest.approx(5.0)
    assert view.entrance == layout.entrance.position
    assert [lane for lane, _ in view.exits] == ["LANE-1", "LANE-2"]
    assert len(view.bays) == 15
    assert view.summary == "Your list is empty. Find a product to add it."
    # No list: the route still leads from the entrance to the nearest exit.
    assert view.route[0] == layout.entrance.position
    assert view.exit_text == "Route: about 19 m, then exit lane LANE-1"


def test_route_through_the_list_and_the_next_item(map_vm: MapVM) -> None:
    view = map_vm.set_list(["C-CHEESE-DELI", "D-MILK-STD", "FV-BANANA", "NO-SUCH-SKU"])
    assert [i.sku for i in view.items] == ["FV-BANANA", "D-MILK-STD", "C-CHEESE-DELI"]
    assert view.items[0].is_next and not view.items[1].is_next
    assert view.items[0].icon == TODO_ICON and view.items[0].status == "To find"
    assert view.items[1].where == "Mejeri, shelf D-1"
    assert view.next_item == "Next: Bananer ekologiska — Frukt & grönt, shelf FV-1"
    assert view.next_position is not None and view.next_position.x == 2.0
    assert [n for n, _ in view.route_stops] == [1, 2, 3]
    assert view.summary == "3 of 3 still to find"
    assert view.exit_text.endswith("exit lane LANE-2")


def test_found_items_move_down_and_the_route_starts_where_the_shopper_is(
    map_vm: MapVM, engine: Engine
) -> None:
    map_vm.set_list(["FV-BANANA", "D-MILK-STD", "C-CHEESE-DELI"])
    run(engine, StartSession())
    snap = run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1))
    view = map_vm.update_basket(snap.basket, snap.basket.lines[-1].line_id)
    assert map_vm.position_node == "R1"  # the milk's shelf
    assert [(i.sku, i.found) for i in view.items] == [
        ("FV-BANANA", False),
        ("C-CHEESE-DELI", False),
        ("D-MILK-STD", True),
    ]
    assert view.items[-1].icon == FOUND_ICON and view.items[-1].status == "In basket"
    assert view.summary == "2 of 3 still to find"
    # From the dairy the bananas are nearest; the route starts at the milk's shelf node.
    assert view.next_item.startswith("Next: Bananer")
    r1 = map_vm.router.layout.node("R1")
    assert r1 is not None and view.route[0] == r1.position


def test_everything_found(map_vm: MapVM, engine: Engine) -> None:
    map_vm.set_list(["D-MILK-STD"])
    run(engine, StartSession())
    snap = run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1))
    view = map_vm.update_basket(snap.basket, None)
    assert view.next_item == "You found everything on your list."
    assert view.route_stops == ()


def test_search_by_name_and_by_barcode(map_vm: MapVM) -> None:
    results = map_vm.search("mjölk")
    assert [r.sku for r in results][:2] == ["D-MILK-STD", "D-MILK-MED"]
    assert results[0].where == "Mejeri, shelf D-1"
    assert results[0].price == "17,95 kr"
    assert map_vm.search("07350999000103")[0].sku == "D-MILK-STD"
    assert map_vm.search("banan")[0].price == "29,90 kr/kg"
    assert map_vm.search("   ") == ()


def test_add_from_search_and_show_on_map(map_vm: MapVM) -> None:
    map_vm.add_to_list("J-LAGER-50CL")
    map_vm.add_to_list("J-LAGER-50CL")
    assert map_vm.shopping_list == ("J-LAGER-50CL",)
    assert map_vm.search("folköl")[0].on_list
    view = map_vm.show_product("J-LAGER-50CL")
    assert view.highlight_label == "Folköl ljus lager 3,5 % 50 cl"
    assert view.highlight is not None and (view.highlight.x, view.highlight.y) == (11.5, 12.0)
    map_vm.remove_from_list("J-LAGER-50CL")
    assert len(map_vm.shopping_list) == 0
