"""Routing over the demo store's aisle graph: shortest paths and visiting orders."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from cart_app.navigation import EXACT_MAX_STOPS, Router, RoutingError, Stop
from cart_app.store_layout import StoreLayout, demo_store_dir, load_layout


@pytest.fixture(scope="module")
def layout() -> StoreLayout:
    return load_layout(demo_store_dir() / "layout.json")


@pytest.fixture(scope="module")
def router(layout: StoreLayout) -> Router:
    return Router(layout)


def brute_force(router: Router, start: str, nodes: list[str]) -> float:
    """The shortest walk by trying every order and every exit."""
    best = math.inf
    for lane in router.layout.exit_lanes:
        for order in itertools.permutations(nodes):
            walk = [start, *order, lane.node_id]
            best = min(best, sum(router.distance(a, b) for a, b in itertools.pairwise(walk)))
    return best


@pytest.mark.parametrize(
    ("a", "b", "expected_m", "expected_path"),
    [
        ("E0", "E0", 0.0, ("E0",)),
        ("E0", "F1", 7.0, ("E0", "F1")),
        ("E0", "F4", 19.0, ("E0", "F1", "F2", "F3", "F4")),
        ("F1", "A2", math.hypot(0, 5) + 5.0, ("F1", "A1", "A2")),
        (
            "E0",
            "R1",
            math.hypot(2, 3.5) + 4.0 + math.hypot(2, 6),
            ("E0", "P1", "P2", "R1"),
        ),
        ("R5", "F5", math.hypot(0.5, 13.5), ("R5", "F5")),
    ],
)
def test_shortest_paths(
    router: Router, a: str, b: str, expected_m: float, expected_path: tuple[str, ...]
) -> None:
    assert router.distance(a, b) == pytest.approx(expected_m)
    assert router.distance(b, a) == pytest.approx(expected_m)
    assert router.path(a, b) == expected_path


def test_unknown_nodes_are_errors(router: Router) -> None:
    with pytest.raises(RoutingError, match="unknown node"):
        router.distance("E0", "NOPE")
    with pytest.raises(RoutingError, match="unknown node"):
        router.plan([], start_node="NOPE")


def test_empty_list_goes_straight_to_the_nearest_exit(router: Router) -> None:
    route = router.plan([])
    assert route.visits == ()
    assert route.next_stop is None
    assert route.exit_lane.waypoint_id == "LANE-1"
    assert route.nodes == ("E0", "F1", "F2", "F3", "F4")
    assert route.length_m == pytest.approx(19.0)
    # The polyline starts at the entrance door and ends at the lane, not at their nodes.
    assert route.points[0] == router.layout.entrance.position
    assert route.points[-1] == route.exit_lane.position


@pytest.mark.parametrize(
    ("bays", "order", "exit_lane"),
    [
        (["FV-1"], ["FV-1"], "LANE-1"),
        (["C-1"], ["C-1"], "LANE-2"),
        # Cheese at the back right: dairy first along the back wall, then out by lane 2.
        (["C-1", "D-1"], ["D-1", "C-1"], "LANE-2"),
        (["D-4", "FV-3", "J-1"], ["FV-3", "J-1", "D-4"], "LANE-1"),
        (["K-1", "FV-1"], ["FV-1", "K-1"], "LANE-1"),
    ],
)
def test_visiting_orders(router: Router, bays: list[str], order: list[str], exit_lane: str) -> None:
    stops = [Stop(f"sku-{bay}", bay) for bay in bays]
    route = router.plan(stops)
    assert [s.bay_id for s in route.order] == order
    assert route.exit_lane.waypoint_id == exit_lane
    assert route.next_stop == Stop(f"sku-{order[0]}", order[0])


def test_stops_on_one_node_are_one_visit(router: Router) -> None:
    # FV-1 and FV-2 both hang on P1; J-2 and S-1 both on B1.
    stops = [Stop("a", "FV-1"), Stop("b", "S-1"), Stop("c", "FV-2"), Stop("d", "J-2")]
    route = router.plan(stops)
    assert [v.node_id for v in route.visits] == ["P1", "B1"]
    assert route.visits[0].stops == (Stop("a", "FV-1"), Stop("c", "FV-2"))
    assert route.visits[1].stops == (Stop("b", "S-1"), Stop("d", "J-2"))


def test_unknown_bays_are_listed_not_dropped(router: Router) -> None:
    route = router.plan([Stop("x", "NO-SUCH-BAY"), Stop("y", "D-2")])
    assert route.unplaced == (Stop("x", "NO-SUCH-BAY"),)
    assert route.order == (Stop("y", "D-2"),)


def test_start_from_the_current_position(router: Router) -> None:
    # At the dairy's left end the fruit is close: pick it first, then dairy on the way out.
    route = router.plan([Stop("b", "D-4"), Stop("a", "FV-3")], start_node="R1")
    assert route.start_node == "R1"
    assert [s.bay_id for s in route.order] == ["FV-3", "D-4"]
    assert route.length_m == pytest.approx(brute_force(router, "R1", ["P2", "R4"]))
    start = router.layout.node("R1")
    assert start is not None
    assert route.points[0] == start.position


def test_a_stop_at_the_start_node_is_visited_first(router: Router) -> None:
    route = router.plan([Stop("far", "D-4"), Stop("here", "FV-1")], start_node="P1")
    assert route.visits[0].node_id == "P1"
    assert route.visits[0].distance_m == 0.0
    assert route.next_stop == Stop("here", "FV-1")


def test_route_walk_is_connected_and_its_length_adds_up(router: Router) -> None:
    stops = [Stop(b.bay_id, b.bay_id) for b in router.layout.bays[:6]]
    route = router.plan(stops)
    for a, b in itertools.pairwise(route.nodes):
        assert b in {n for n, _ in router.layout.neighbours(a)}
    walked = sum(router.distance(a, b) for a, b in itertools.pairwise(route.nodes))
    assert walked == pytest.approx(route.length_m)
    for visit in route.visits:
        assert visit.node_id in route.nodes


def test_exact_order_matches_brute_force(router: Router) -> None:
    rng = random.Random(7)
    nodes = sorted({b.node_id for b in router.layout.bays})
    for _ in range(25):
        chosen = rng.sample(nodes, rng.randint(1, 6))
        start = rng.choice([n.node_id for n in router.layout.nodes])
        route = router.plan([Stop(n, _bay_on(router, n)) for n in chosen], start_node=start)
        expected = brute_force(router, start, [n for n in chosen if n != start])
        assert route.length_m == pytest.approx(expected)


def test_long_lists_use_the_heuristic_and_stay_close_to_exact(router: Router) -> None:
    bays = [b.bay_id for b in router.layout.bays]
    nodes = sorted({router.bay_node(b) or "" for b in bays})
    assert len(nodes) > EXACT_MAX_STOPS  # the demo store is big enough to take that branch
    route = router.plan([Stop(b, b) for b in bays])
    assert sorted(s.bay_id for s in route.order) == sorted(bays)
    lanes = [lane.node_id for lane in router.layout.exit_lanes]
    exact, _ = router._held_karp("E0", [n for n in nodes if n != "E0"], lanes)
    assert route.length_m <= exact * 1.15
    # Deterministic: the same list gives the same route.
    assert router.plan([Stop(b, b) for b in bays]) == route


def _bay_on(router: Router, node: str) -> str:
    return next(b.bay_id for b in router.layout.bays if b.node_id == node)
