"""Where the store map's labels go, so that no label covers another, a marker or the route.

Plain geometry (no Kivy), so it is tested headless and the map widget only draws the result.
Markers (the shopper's dot, the numbered stops, the highlight rings, the lane and entrance
arrows) are fixed obstacles. Labels are placed one after the other, most constrained first:
aisle names inside their aisle, then the lanes and the entrance, then "You" and the highlighted
product. Each label tries positions around its anchor on widening rings, in its preferred
directions first, and takes the first one that overlaps nothing already placed and does not
cross the route. When a crowded map leaves no such place, it drops the route rule first (text
over a line still reads); only if that fails too does it take the least-overlapping place.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from cart_app.store_layout import Point
from ui.viewmodels.map import MapView

Point2 = tuple[float, float]
Measure = Callable[[str, float, bool], tuple[float, float]]
"""``(text, font size, bold) -> (width, height)`` in pixels (Kivy's text size in the app)."""

GAP = 3.0
"""Pixels kept free between a label and anything else."""
RINGS = (0.0, 10.0, 24.0, 44.0, 70.0, 100.0, 140.0, 190.0)
"""How far beyond its clearance a label may move from its anchor, tried in this order."""
EAST, WEST, NORTH, SOUTH = (1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)
DIAGONALS = ((1.0, -1.0), (1.0, 1.0), (-1.0, -1.0), (-1.0, 1.0))
YOU_RADIUS = 12.0
HIGHLIGHT_RADIUS = 30.0
FIRST_STOP_RADIUS = 17.0
STOP_RADIUS = 14.0
BAY_SIZE = 8.0


@dataclass(frozen=True, slots=True)
class Box:
    """An axis-aligned rectangle in widget pixels (y grows upwards, as in Kivy)."""

    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        """The right edge."""
        return self.x + self.w

    @property
    def top(self) -> float:
        """The top edge."""
        return self.y + self.h

    @property
    def centre(self) -> Point2:
        """The middle."""
        return self.x + self.w / 2, self.y + self.h / 2

    @classmethod
    def around(cls, centre: Point2, w: float, h: float) -> Box:
        """A ``w`` × ``h`` box centred on ``centre``."""
        return cls(centre[0] - w / 2, centre[1] - h / 2, w, h)

    def inflate(self, d: float) -> Box:
        """The box grown by ``d`` on every side."""
        return Box(self.x - d, self.y - d, self.w + 2 * d, self.h + 2 * d)

    def overlap(self, other: Box) -> float:
        """The area both boxes cover (0 when they only touch)."""
        w = min(self.right, other.right) - max(self.x, other.x)
        h = min(self.top, other.top) - max(self.y, other.y)
        return w * h if w > 0 and h > 0 else 0.0

    def overlaps(self, other: Box, gap: float = 0.0) -> bool:
        """Whether the boxes come closer than ``gap``."""
        return self.inflate(gap / 2).overlap(other.inflate(gap / 2)) > 0

    def inside(self, outer: Box) -> bool:
        """Whether the box lies wholly inside ``outer``."""
        eps = 1e-6
        return (
            self.x >= outer.x - eps
            and self.y >= outer.y - eps
            and self.right <= outer.right + eps
            and self.top <= outer.top + eps
        )

    def clamp_into(self, outer: Box) -> Box:
        """The box moved (not resized) to lie inside ``outer`` as far as it fits."""
        x = min(max(self.x, outer.x), outer.right - self.w)
        y = min(max(self.y, outer.y), outer.top - self.h)
        return Box(x, y, self.w, self.h)

    def crosses(self, a: Point2, b: Point2) -> bool:
        """Whether the segment ``a``–``b`` passes through the box (Liang–Barsky clipping)."""
        t0, t1 = 0.0, 1.0
        dx, dy = b[0] - a[0], b[1] - a[1]
        for p, q in (
            (-dx, a[0] - self.x),
            (dx, self.right - a[0]),
            (-dy, a[1] - self.y),
            (dy, self.top - a[1]),
        ):
            if p == 0:
                if q < 0:
                    return False  # parallel to this edge and outside it
                continue
            t = q / p
            if p < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
            if t0 > t1:
                return False
        return True


@dataclass(frozen=True, slots=True)
class LabelSpec:
    """A label to place: its text's size, where it belongs and where it may go."""

    key: str
    text: str
    anchor: Point2
    size: tuple[float, float]
    font: float
    bold: bool = False
    clearance: float = 0.0
    """Keep at least this far from the anchor (the marker's radius)."""
    directions: tuple[Point2, ...] = (EAST, NORTH, SOUTH, WEST, *DIAGONALS)
    within: Box | None = None
    """Stay inside this box (an aisle's rectangle) rather than the whole map."""
    centred_first: bool = False
    """Try the anchor itself first (aisle names sit in the middle of their aisle)."""
    upright: bool = False
    """Drawn turned by 90°: ``size`` is already the turned box."""
    shrink: tuple[float, ...] = ()
    """Smaller text sizes (factors) to try when no place is free at full size (aisle names in
    a narrow aisle, in large text)."""


@dataclass(frozen=True, slots=True)
class PlacedLabel:
    """Where a label went; ``box`` is the turned box for upright labels."""

    key: str
    text: str
    box: Box
    font: float
    bold: bool
    upright: bool


def _candidates(spec: LabelSpec, bounds: Box) -> Iterable[Box]:
    w, h = spec.size
    ax, ay = spec.anchor
    area = spec.within or bounds
    if spec.centred_first:
        yield Box.around(spec.anchor, w, h).clamp_into(area)
        # Along the aisle's long side first: the label stays readable as the aisle's name.
        along = (NORTH, SOUTH) if area.h > area.w else (EAST, WEST)
        for ring in RINGS[1:]:
            for dx, dy in along:
                yield Box.around((ax + dx * ring, ay + dy * ring), w, h).clamp_into(area)
    for ring in RINGS:
        d = spec.clearance + ring + GAP
        for dx, dy in spec.directions:
            centre = (ax + dx * (d + w / 2), ay + dy * (d + h / 2))
            yield Box.around(centre, w, h).clamp_into(area)


def place_labels(
    specs: Sequence[LabelSpec],
    *,
    bounds: Box,
    markers: Sequence[Box] = (),
    route: Sequence[Point2] = (),
    prefer: Box | None = None,
    outlines: Sequence[Box] = (),
) -> tuple[PlacedLabel, ...]:
    """Place ``specs`` in order (most constrained first) inside ``bounds``; see the module.

    ``prefer`` (the store's outline) is where a label should go when it can: a free place
    inside it beats a nearer one outside. ``outlines`` (the aisles) are drawn lines a label
    outside them should not sit across, as the route; a label kept ``within`` one ignores them.
    """
    segments = list(itertools.pairwise(route))
    edges = [
        edge
        for o in outlines
        for edge in itertools.pairwise(
            [(o.x, o.y), (o.right, o.y), (o.right, o.top), (o.x, o.top), (o.x, o.y)]
        )
    ]
    taken: list[Box] = [m.inflate(GAP) for m in markers]
    placed: list[PlacedLabel] = []

    def clash(box: Box) -> float:
        return sum(box.overlap(t) for t in taken)

    def clashes(box: Box) -> bool:
        x0, y0, x1, y1 = box.x, box.y, box.right, box.top
        return any(min(x1, t.right) > max(x0, t.x) and min(y1, t.top) > max(y0, t.y) for t in taken)

    def on_route(box: Box) -> bool:
        padded = box.inflate(GAP)
        return any(padded.crosses(a, b) for a, b in segments)

    def on_edge(box: Box) -> bool:
        return any(box.crosses(a, b) for a, b in edges)

    def free_place(spec: LabelSpec) -> Box | None:
        # Lazily, best first: most labels find their place among the first few candidates
        # (this runs on the Kivy thread whenever the map redraws).
        area = spec.within or bounds
        first_free: Box | None = None
        first_clear: Box | None = None
        for box in _candidates(spec, bounds):
            if not box.inside(area) or clashes(box):
                continue
            first_clear = first_clear or box
            if on_route(box) or (spec.within is None and on_edge(box)):
                continue
            if prefer is None or box.inside(prefer):
                return box
            first_free = first_free or box
        return first_free or first_clear

    for wanted in specs:
        spec = wanted
        chosen = free_place(spec)
        for factor in wanted.shrink:
            if chosen is not None:
                break
            w, h = wanted.size
            spec = replace(wanted, size=(w * factor, h * factor), font=wanted.font * factor)
            chosen = free_place(spec)
        if chosen is None:
            # Nowhere free (a map squeezed very small): the least-covered place, still readable.
            options = list(_candidates(spec, bounds))
            chosen = min(options, key=lambda b: (clash(b), on_route(b)))
        taken.append(chosen.inflate(GAP / 2))
        placed.append(PlacedLabel(spec.key, spec.text, chosen, spec.font, spec.bold, spec.upright))
    return tuple(placed)


# -- the store map's labels ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MapFrame:
    """How the layout's metres map onto the widget's pixels (the store's front at the bottom)."""

    scale: float
    ox: float
    oy: float

    def at(self, x: float, y: float) -> Point2:
        """Pixels of a layout position."""
        return self.ox + x * self.scale, self.oy + y * self.scale


def map_frame(view: MapView, pos: Point2, size: Point2, margin: float = 24.0) -> MapFrame:
    """Fit the store into a widget at ``pos`` of ``size``, centred, keeping its proportions."""
    width, height = size
    scale = min((width - 2 * margin) / view.width_m, (height - 2 * margin) / view.depth_m)
    ox = pos[0] + (width - view.width_m * scale) / 2
    oy = pos[1] + (height - view.depth_m * scale) / 2
    return MapFrame(scale, ox, oy)


@dataclass(frozen=True, slots=True)
class MapTexts:
    """The translated words the map writes itself."""

    you: str
    entrance: str


def map_markers(view: MapView, frame: MapFrame) -> list[Box]:
    """The boxes of every marker the map draws (labels must keep clear of them)."""
    markers: list[Box] = [
        Box.around(frame.at(pos.x, pos.y), BAY_SIZE, BAY_SIZE) for _bay, pos in view.bays
    ]
    if view.route:
        you = view.route[0]
        markers.append(Box.around(frame.at(you.x, you.y), 2 * YOU_RADIUS, 2 * YOU_RADIUS))
    for number, pos in view.route_stops:
        r = FIRST_STOP_RADIUS if number == 1 else STOP_RADIUS
        markers.append(Box.around(frame.at(pos.x, pos.y), 2 * r, 2 * r))
    if view.highlight is not None:
        d = 2 * HIGHLIGHT_RADIUS
        markers.append(Box.around(frame.at(view.highlight.x, view.highlight.y), d, d))
    for _lane, pos in view.exits:
        x, y = frame.at(pos.x, pos.y)
        markers.append(Box(x - 14, y - 10, 28, 14))
    ex, ey = frame.at(view.entrance.x, view.entrance.y)
    markers.append(Box(ex - 14, ey - 4, 28, 14))
    return markers


def map_labels(
    view: MapView, frame: MapFrame, bounds: Box, measure: Measure, texts: MapTexts, *, fs: float
) -> tuple[PlacedLabel, ...]:
    """Every text label of the map, placed (see :func:`place_labels`)."""
    specs: list[LabelSpec] = []

    def size(text: str, font: float, bold: bool, upright: bool = False) -> tuple[float, float]:
        w, h = measure(text, font * fs, bold)
        return (h, w) if upright else (w, h)

    for aisle in view.aisles:
        box = _pixel_box(aisle.polygon, frame)
        # A narrow, deep aisle gets its name along its length.
        upright = box.h > 2 * box.w
        specs.append(
            LabelSpec(
                f"aisle:{aisle.aisle_id}",
                aisle.name,
                frame.at(aisle.centre.x, aisle.centre.y),
                size(aisle.name, 15, True, upright),
                15,
                True,
                within=box.inflate(-2),
                centred_first=True,
                upright=upright,
                shrink=(0.85, 0.7),
            )
        )
    up_first = (NORTH, EAST, WEST, *DIAGONALS)
    for lane, pos in view.exits:
        chosen = lane == view.exit_lane
        text = ("▼ " if chosen else "") + lane
        anchor = frame.at(pos.x, pos.y)
        specs.append(
            LabelSpec(
                f"lane:{lane}", text, anchor, size(text, 13, chosen), 13, chosen, 16, up_first
            )
        )
    text = "▲ " + texts.entrance
    anchor = frame.at(view.entrance.x, view.entrance.y)
    entrance = LabelSpec("entrance", text, anchor, size(text, 14, False), 14, False, 16, up_first)
    specs.append(entrance)
    if view.route:
        you = view.route[0]
        specs.append(
            LabelSpec(
                "you",
                texts.you,
                frame.at(you.x, you.y),
                size(texts.you, 15, True),
                15,
                True,
                clearance=YOU_RADIUS,
            )
        )
    if view.highlight is not None:
        text = "◎ " + view.highlight_label
        specs.append(
            LabelSpec(
                "highlight",
                text,
                frame.at(view.highlight.x, view.highlight.y),
                size(text, 15, True),
                15,
                True,
                clearance=HIGHLIGHT_RADIUS,
                directions=(SOUTH, NORTH, EAST, WEST, *DIAGONALS),
            )
        )
    route = [frame.at(p.x, p.y) for p in view.route]
    x0, y0 = frame.at(0, 0)
    store = Box(x0, y0, view.width_m * frame.scale, view.depth_m * frame.scale).inflate(-2)
    outlines = [_pixel_box(aisle.polygon, frame) for aisle in view.aisles]
    return place_labels(
        specs,
        bounds=bounds,
        markers=map_markers(view, frame),
        route=route,
        prefer=store,
        outlines=outlines,
    )


def _pixel_box(polygon: Sequence[Point], frame: MapFrame) -> Box:
    """The pixel rectangle around a layout polygon."""
    xs = [frame.at(p.x, p.y)[0] for p in polygon]
    ys = [frame.at(p.x, p.y)[1] for p in polygon]
    return Box(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
