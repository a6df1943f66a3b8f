"""Routing over the store layout's walkable graph: shortest paths and a visiting order.

Pure logic, no I/O and no UI: the map screen asks :class:`Router` for the route from where the
shopper is (the entrance, or the bay of the last item they picked) through the bays of the
items still on their list to the nearest exit lane.

- Distances are shortest paths over the layout's undirected graph (Dijkstra; edge lengths are
  the straight distances between their nodes, from :mod:`cart_app.store_layout`).
- Bays hang on graph nodes; several stops on one node are one visit.
- The visiting order is exact (Held-Karp dynamic programming) up to :data:`EXACT_MAX_STOPS`
  distinct nodes, and nearest neighbour improved by 2-opt beyond, where the exact search's
  ``n² · 2ⁿ`` work would stall a screen.
- The route ends at whichever exit lane makes the whole walk shortest.

Ties are broken by node id order, so the same list always gives the same route.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from cart_app.store_layout import Point, StoreLayout, Waypoint

EXACT_MAX_STOPS: Final = 10
"""Most distinct stop nodes ordered exactly; beyond, nearest neighbour + 2-opt."""

_EPS: Final = 1e-9


class RoutingError(ValueError):
    """A stop or start that the layout does not know, or a node no path reaches."""


@dataclass(frozen=True, slots=True)
class Stop:
    """Something to visit: ``key`` is the caller's (a SKU), ``bay_id`` where it is."""

    key: str
    bay_id: str


@dataclass(frozen=True, slots=True)
class Visit:
    """One node visited on the route and the stops served there, in the caller's order."""

    node_id: str
    stops: tuple[Stop, ...]
    distance_m: float
    """Walking distance from the route's start to this node."""


@dataclass(frozen=True, slots=True)
class Route:
    """A walk from ``start_node`` through every visit to ``exit_lane``.

    ``nodes`` is the whole walk node by node (consecutive duplicates removed); ``points`` is the
    polyline to draw: the start position, every node's position and the exit lane's position.
    ``unplaced`` lists stops whose bay the layout does not know: they cannot be routed, and the
    screen says so rather than dropping them.
    """

    start_node: str
    visits: tuple[Visit, ...]
    exit_lane: Waypoint
    nodes: tuple[str, ...]
    points: tuple[Point, ...]
    length_m: float
    unplaced: tuple[Stop, ...] = ()

    @property
    def next_stop(self) -> Stop | None:
        """The first stop to walk to, or None when nothing is left to visit."""
        return self.visits[0].stops[0] if self.visits else None

    @property
    def order(self) -> tuple[Stop, ...]:
        """Every routed stop in visiting order."""
        return tuple(stop for visit in self.visits for stop in visit.stops)


class Router:
    """Shortest paths and visiting orders on one layout. Results of Dijkstra are cached."""

    def __init__(self, layout: StoreLayout) -> None:
        """Index ``layout``'s graph (adjacency lists, sorted for determinism)."""
        self._layout = layout
        adjacency: dict[str, list[tuple[str, float]]] = {n.node_id: [] for n in layout.nodes}
        for edge in layout.edges:
            adjacency[edge.a].append((edge.b, edge.length_m))
            adjacency[edge.b].append((edge.a, edge.length_m))
        self._adjacency = {k: sorted(v) for k, v in adjacency.items()}
        self._positions = {n.node_id: n.position for n in layout.nodes}
        self._bays = {b.bay_id: b for b in layout.bays}
        self._trees: dict[str, tuple[dict[str, float], dict[str, str]]] = {}

    @property
    def layout(self) -> StoreLayout:
        """The layout routed over."""
        return self._layout

    def bay_node(self, bay_id: str) -> str | None:
        """The graph node a bay is reached from, or None for an unknown bay."""
        bay = self._bays.get(bay_id)
        return bay.node_id if bay is not None else None

    # -- shortest paths ------------------------------------------------------------------------
    def _tree(self, source: str) -> tuple[dict[str, float], dict[str, str]]:
        """Dijkstra from ``source``: distances and predecessors of every reachable node."""
        if source not in self._adjacency:
            raise RoutingError(f"unknown node {source!r}")
        cached = self._trees.get(source)
        if cached is not None:
            return cached
        dist: dict[str, float] = {source: 0.0}
        prev: dict[str, str] = {}
        heap: list[tuple[float, str]] = [(0.0, source)]
        done: set[str] = set()
        while heap:
            d, node = heapq.heappop(heap)
            if node in done:
                continue
            done.add(node)
            for neighbour, length in self._adjacency[node]:
                nd = d + length
                old = dist.get(neighbour)
                # Equal lengths keep the predecessor with the smaller id: deterministic paths.
                if (
                    old is None
                    or nd < old - _EPS
                    or (abs(nd - old) <= _EPS and node < prev.get(neighbour, node))
                ):
                    dist[neighbour] = nd
                    prev[neighbour] = node
                    heapq.heappush(heap, (nd, neighbour))
        self._trees[source] = (dist, prev)
        return dist, prev

    def distance(self, a: str, b: str) -> float:
        """Shortest walking distance between two nodes (``inf`` when unconnected)."""
        dist, _ = self._tree(a)
        if b not in self._adjacency:
            raise RoutingError(f"unknown node {b!r}")
        return dist.get(b, math.inf)

    def path(self, a: str, b: str) -> tuple[str, ...]:
        """The nodes of a shortest path from ``a`` to ``b``, both included."""
        dist, prev = self._tree(a)
        if b not in dist:
            raise RoutingError(f"no path from {a!r} to {b!r}")
        nodes = [b]
        while nodes[-1] != a:
            nodes.append(prev[nodes[-1]])
        return tuple(reversed(nodes))

    # -- visiting order --------------------------------------------------------------------------
    def plan(self, stops: Sequence[Stop], start_node: str | None = None) -> Route:
        """The shortest walk from ``start_node`` (the entrance's by default) through every
        stop's bay to the exit lane that makes the walk shortest."""
        layout = self._layout
        start = start_node or layout.entrance.node_id
        self._tree(start)  # raises for an unknown start
        by_node: dict[str, list[Stop]] = {}
        unplaced: list[Stop] = []
        for stop in stops:
            node = self.bay_node(stop.bay_id)
            if node is None:
                unplaced.append(stop)
            else:
                by_node.setdefault(node, []).append(stop)
        # A stop on the start node is served at once; it still appears as the first visit.
        targets = sorted(n for n in by_node if n != start)
        exits = layout.exit_lanes
        order, exit_lane = self._order(start, targets, exits)
        if start in by_node:
            order = [start, *order]
        walk: list[str] = [start]
        visits: list[Visit] = []
        travelled = 0.0
        here = start
        for node in order:
            travelled += self.distance(here, node)
            walk += self.path(here, node)[1:]
            visits.append(Visit(node, tuple(by_node[node]), travelled))
            here = node
        travelled += self.distance(here, exit_lane.node_id)
        walk += self.path(here, exit_lane.node_id)[1:]
        positions = [self._start_point(start)]
        positions += [self._positions[n] for n in walk]
        positions.append(exit_lane.position)
        return Route(
            start_node=start,
            visits=tuple(visits),
            exit_lane=exit_lane,
            nodes=tuple(walk),
            points=_dedupe(positions),
            length_m=travelled,
            unplaced=tuple(unplaced),
        )

    def nearest_exit(self, node_id: str) -> Waypoint:
        """The exit lane closest to ``node_id`` by walking distance."""
        return min(
            self._layout.exit_lanes,
            key=lambda lane: (self.distance(node_id, lane.node_id), lane.waypoint_id),
        )

    def _start_point(self, start: str) -> Point:
        entrance = self._layout.entrance
        return entrance.position if start == entrance.node_id else self._positions[start]

    def _order(
        self, start: str, targets: list[str], exits: Sequence[Waypoint]
    ) -> tuple[list[str], Waypoint]:
        for node in targets:
            if math.isinf(self.distance(start, node)):
                raise RoutingError(f"node {node!r} cannot be reached from {start!r}")
        lanes = sorted(exits, key=lambda w: w.waypoint_id)
        if len(targets) <= EXACT_MAX_STOPS:
            # The exit only changes the last leg, so one exact search serves every lane.
            _, order = self._held_karp(start, targets, [lane.node_id for lane in lanes])
            last = order[-1] if order else start
            lane = min(lanes, key=lambda w: self.distance(last, w.node_id))
            return order, lane
        best: tuple[float, list[str], Waypoint] | None = None
        for lane in lanes:
            cost, order = self._heuristic(start, targets, lane.node_id)
            if best is None or cost < best[0] - _EPS:
                best = (cost, order, lane)
        assert best is not None  # a layout has at least one exit lane
        return best[1], best[2]

    def _held_karp(
        self, start: str, targets: list[str], ends: Sequence[str]
    ) -> tuple[float, list[str]]:
        """Exact shortest open path from ``start`` through all ``targets`` to the best of
        ``ends`` (dynamic programming over subsets, ``n² · 2ⁿ``)."""
        n = len(targets)
        if n == 0:
            return min(self.distance(start, end) for end in ends), []
        # Plain lists of floats: the inner loop runs up to a hundred thousand times.
        d = [[self.distance(a, b) for b in targets] for a in targets]
        tail = [min(self.distance(a, end) for end in ends) for a in targets]
        size = 1 << n
        cost = [[math.inf] * n for _ in range(size)]
        back = [[-1] * n for _ in range(size)]
        for i in range(n):
            cost[1 << i][i] = self.distance(start, targets[i])
        for mask in range(1, size):
            row = cost[mask]
            for i in range(n):
                here = row[i]
                if here == math.inf or not (mask >> i) & 1:
                    continue
                di = d[i]
                for j in range(n):
                    if (mask >> j) & 1:
                        continue
                    candidate = here + di[j]
                    nxt = mask | (1 << j)
                    if candidate < cost[nxt][j] - _EPS:
                        cost[nxt][j] = candidate
                        back[nxt][j] = i
        full = size - 1
        total, last = min((cost[full][i] + tail[i], i) for i in range(n))
        order: list[str] = []
        mask = full
        while last != -1:
            order.append(targets[last])
            previous = back[mask][last]
            mask &= ~(1 << last)
            last = previous
        return total, list(reversed(order))

    def _heuristic(self, start: str, targets: list[str], end: str) -> tuple[float, list[str]]:
        """Nearest neighbour, then 2-opt until no reversal shortens the open path."""
        d = self.distance
        left = set(targets)
        order: list[str] = []
        here = start
        while left:
            here = min(left, key=lambda n: (d(here, n), n))
            order.append(here)
            left.remove(here)
        path = [start, *order, end]
        improved = True
        while improved:
            improved = False
            for i in range(1, len(path) - 2):
                for j in range(i + 1, len(path) - 1):
                    before = d(path[i - 1], path[i]) + d(path[j], path[j + 1])
                    after = d(path[i - 1], path[j]) + d(path[i], path[j + 1])
                    if after < before - 1e-6:
                        path[i : j + 1] = reversed(path[i : j + 1])
                        improved = True
        return _walk_length(self, path), path[1:-1]


def _walk_length(router: Router, nodes: Sequence[str]) -> float:
    return sum(router.distance(a, b) for a, b in itertools.pairwise(nodes))


def _dedupe(points: Iterable[Point]) -> tuple[Point, ...]:
    out: list[Point] = []
    for point in points:
        if not out or out[-1] != point:
            out.append(point)
    return tuple(out)
