"""The store map used for routing: aisles, bays, entrance, exit lanes and a walkable graph.

Loaded from a JSON file (see ``docs/catalog.md``) and validated fully: unknown keys, unknown
ids, positions outside the store, bays far from their graph node and a graph that does not
connect every node to the entrance are all errors naming the file and the JSON path.
Coordinates are metres from the store's front-left corner; ``y`` grows into the store.
"""

from __future__ import annotations

import importlib.resources
import json
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, NoReturn

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

LAYOUT_FORMAT_VERSION = 1
"""The newest layout JSON format this build reads."""

MAX_STORE_SIZE_M = 1_000.0
"""Largest accepted store side; anything bigger is taken for a unit mistake (mm, cm)."""

MAX_BAY_NODE_DISTANCE_M = 6.0
"""How far a bay may be from the graph node it is attached to."""


class LayoutError(Exception):
    """A layout file that cannot be used; the message names the file, JSON path and problem."""


@dataclass(frozen=True, slots=True)
class Point:
    """A position in metres."""

    x: float
    y: float

    def distance_to(self, other: Point) -> float:
        """Straight-line distance in metres."""
        return math.hypot(self.x - other.x, self.y - other.y)


@dataclass(frozen=True, slots=True)
class Aisle:
    """An aisle (or department area) as a polygon."""

    aisle_id: str
    name: str
    polygon: tuple[Point, ...]


@dataclass(frozen=True, slots=True)
class Bay:
    """A shelf section within an aisle, reached from graph node ``node_id``."""

    bay_id: str
    aisle_id: str
    position: Point
    node_id: str


@dataclass(frozen=True, slots=True)
class Waypoint:
    """A named place (entrance or exit lane) and the graph node it is reached from."""

    waypoint_id: str
    position: Point
    node_id: str


@dataclass(frozen=True, slots=True)
class Node:
    """A vertex of the walkable graph."""

    node_id: str
    position: Point


@dataclass(frozen=True, slots=True)
class Edge:
    """An undirected walkable segment between two nodes."""

    a: str
    b: str
    length_m: float


@dataclass(frozen=True, slots=True)
class StoreLayout:
    """A validated store map. Every bay, the entrance and each exit lane hang on a node."""

    name: str
    width_m: float
    depth_m: float
    aisles: tuple[Aisle, ...]
    bays: tuple[Bay, ...]
    entrance: Waypoint
    exit_lanes: tuple[Waypoint, ...]
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]

    def aisle(self, aisle_id: str) -> Aisle | None:
        """The aisle with this id, or None."""
        return next((a for a in self.aisles if a.aisle_id == aisle_id), None)

    def bay(self, bay_id: str) -> Bay | None:
        """The bay with this id, or None."""
        return next((b for b in self.bays if b.bay_id == bay_id), None)

    def node(self, node_id: str) -> Node | None:
        """The graph node with this id, or None."""
        return next((n for n in self.nodes if n.node_id == node_id), None)

    def neighbours(self, node_id: str) -> tuple[tuple[str, float], ...]:
        """``(node id, edge length)`` of every node one edge away from ``node_id``."""
        out = [(e.b, e.length_m) for e in self.edges if e.a == node_id]
        out += [(e.a, e.length_m) for e in self.edges if e.b == node_id]
        return tuple(out)


_STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)
_Id = Annotated[str, StringConstraints(min_length=1, max_length=40)]


class _SizeModel(BaseModel):
    model_config = _STRICT
    width: float
    depth: float


class _RectModel(BaseModel):
    model_config = _STRICT
    x: float
    y: float
    width: float = Field(gt=0)
    depth: float = Field(gt=0)


class _AisleModel(BaseModel):
    model_config = _STRICT
    id: _Id
    name: str = Field(min_length=1, max_length=100)
    rect: _RectModel | None = None
    polygon: list[tuple[float, float]] | None = None


class _BayModel(BaseModel):
    model_config = _STRICT
    id: _Id
    aisle: str
    x: float
    y: float
    node: str


class _WaypointModel(BaseModel):
    model_config = _STRICT
    id: _Id
    x: float
    y: float
    node: str


class _NodeModel(BaseModel):
    model_config = _STRICT
    id: _Id
    x: float
    y: float


class _LayoutModel(BaseModel):
    model_config = _STRICT
    format_version: int
    name: str = Field(min_length=1, max_length=100)
    size_m: _SizeModel
    aisles: list[_AisleModel]
    bays: list[_BayModel]
    entrance: _WaypointModel
    exit_lanes: list[_WaypointModel] = Field(min_length=1)
    nodes: list[_NodeModel] = Field(min_length=1)
    edges: list[tuple[str, str]]


def demo_store_dir() -> Path:
    """The folder of the bundled demo store (``catalog.json``, ``layout.json``)."""
    folder = importlib.resources.files("cart_app").joinpath("data", "demo_store")
    # The package is installed as plain files (never zipped), so this is a real folder.
    return Path(str(folder))


def _fail(source: Path, problems: list[str]) -> NoReturn:
    if len(problems) == 1:
        raise LayoutError(f"{source}: {problems[0]}")
    raise LayoutError(f"{source}:\n  " + "\n  ".join(problems))


def _loc(loc: Iterable[int | str]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path or "(top level)"


def load_layout(path: Path) -> StoreLayout:
    """Read and validate a store layout JSON file; raises :class:`LayoutError`."""
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except FileNotFoundError:
        raise LayoutError(f"{path}: layout file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LayoutError(f"{path}: cannot read layout file: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise LayoutError(
            f"{path}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc
    if not isinstance(data, dict):
        _fail(path, ["the top level must be a JSON object"])
    version = data.get("format_version")
    if isinstance(version, int) and version > LAYOUT_FORMAT_VERSION:
        _fail(path, [f"format_version {version} is newer than this build reads (1)"])
    try:
        # JSON mode: strict validation still reads JSON arrays as the tuples they describe.
        model = _LayoutModel.model_validate_json(text)
    except ValidationError as exc:
        _fail(path, [f"{_loc(e['loc'])}: {e['msg']}" for e in exc.errors()])
    layout, problems = _build(model)
    problems += _check_graph(layout, model)
    if problems:
        _fail(path, problems)
    return layout


def _duplicates(kind: str, ids: list[str]) -> list[str]:
    seen: set[str] = set()
    problems = []
    for i, item_id in enumerate(ids):
        if item_id in seen:
            problems.append(f"{kind}[{i}].id: duplicate id {item_id!r}")
        seen.add(item_id)
    return problems


def _build(m: _LayoutModel) -> tuple[StoreLayout, list[str]]:
    problems: list[str] = []
    w, d = m.size_m.width, m.size_m.depth
    if not (0 < w <= MAX_STORE_SIZE_M and 0 < d <= MAX_STORE_SIZE_M):
        problems.append(f"size_m: {w} x {d} m is outside 0..{MAX_STORE_SIZE_M:g} m")

    def point(at: str, x: float, y: float) -> Point:
        if not (0 <= x <= w and 0 <= y <= d):
            problems.append(f"{at}: ({x}, {y}) is outside the store (0..{w}, 0..{d})")
        return Point(x, y)

    aisles = []
    for i, a in enumerate(m.aisles):
        at = f"aisles[{i}]"
        if (a.rect is None) == (a.polygon is None):
            problems.append(f"{at}: give exactly one of rect and polygon")
            corners: list[tuple[float, float]] = []
        elif a.rect is not None:
            r = a.rect
            corners = [(r.x, r.y), (r.x + r.width, r.y), (r.x + r.width, r.y + r.depth)]
            corners.append((r.x, r.y + r.depth))
        else:
            corners = a.polygon or []
            if len(corners) < 3:
                problems.append(f"{at}.polygon: needs at least 3 points, got {len(corners)}")
        polygon = tuple(point(f"{at} corner {j}", x, y) for j, (x, y) in enumerate(corners))
        aisles.append(Aisle(a.id, a.name, polygon))
    nodes = tuple(Node(n.id, point(f"nodes[{i}]", n.x, n.y)) for i, n in enumerate(m.nodes))
    node_at = {n.node_id: n.position for n in nodes}
    aisle_ids = {a.aisle_id for a in aisles}

    def attached(at: str, node_id: str, position: Point) -> None:
        node = node_at.get(node_id)
        if node is None:
            problems.append(f"{at}.node: unknown node {node_id!r}")
        elif node.distance_to(position) > MAX_BAY_NODE_DISTANCE_M:
            problems.append(
                f"{at}.node: {node_id!r} is {node.distance_to(position):.1f} m away "
                f"(more than MAX_BAY_NODE_DISTANCE_M, {MAX_BAY_NODE_DISTANCE_M:g} m)"
            )

    bays = []
    for i, b in enumerate(m.bays):
        at = f"bays[{i}]"
        if b.aisle not in aisle_ids:
            problems.append(f"{at}.aisle: unknown aisle {b.aisle!r}")
        bay = Bay(b.id, b.aisle, point(at, b.x, b.y), b.node)
        attached(at, b.node, bay.position)
        bays.append(bay)
    waypoints = []
    for at, wp in [("entrance", m.entrance)] + [
        (f"exit_lanes[{i}]", lane) for i, lane in enumerate(m.exit_lanes)
    ]:
        waypoints.append(Waypoint(wp.id, point(at, wp.x, wp.y), wp.node))
        attached(at, wp.node, waypoints[-1].position)
    edges = []
    seen_edges: set[frozenset[str]] = set()
    for i, (a_id, b_id) in enumerate(m.edges):
        at = f"edges[{i}]"
        unknown = [n for n in (a_id, b_id) if n not in node_at]
        if unknown:
            problems.append(f"{at}: unknown node {unknown[0]!r}")
        elif a_id == b_id:
            problems.append(f"{at}: edge from {a_id!r} to itself")
        elif frozenset((a_id, b_id)) in seen_edges:
            problems.append(f"{at}: duplicate edge {a_id!r}-{b_id!r}")
        else:
            edges.append(Edge(a_id, b_id, node_at[a_id].distance_to(node_at[b_id])))
        seen_edges.add(frozenset((a_id, b_id)))
    for kind, ids in (
        ("aisles", [a.id for a in m.aisles]),
        ("bays", [b.id for b in m.bays]),
        ("exit_lanes", [x.id for x in m.exit_lanes]),
        ("nodes", [n.id for n in m.nodes]),
    ):
        problems += _duplicates(kind, ids)
    layout = StoreLayout(
        m.name,
        w,
        d,
        tuple(aisles),
        tuple(bays),
        waypoints[0],
        tuple(waypoints[1:]),
        nodes,
        tuple(edges),
    )
    return layout, problems


def _check_graph(layout: StoreLayout, m: _LayoutModel) -> list[str]:
    start = m.entrance.node
    if layout.node(start) is None:
        return []  # already reported as an unknown node
    reached = {start}
    queue = deque([start])
    while queue:
        for neighbour, _ in layout.neighbours(queue.popleft()):
            if neighbour not in reached:
                reached.add(neighbour)
                queue.append(neighbour)
    unreachable = [n.node_id for n in layout.nodes if n.node_id not in reached]
    if not unreachable:
        return []
    return [
        f"edges: the graph is disconnected: nodes {', '.join(unreachable)} cannot be reached "
        f"from the entrance node {start!r}"
    ]
