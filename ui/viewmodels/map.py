"""The shopping list, the store map with the route through what is left, and product search.

The route comes from :class:`cart_app.navigation.Router` (business logic in the core). Where
the shopper is, the cart cannot see: the route starts at the bay of the last item that went
into the basket (they were just there), or at the entrance before anything did.
"""

from __future__ import annotations

from dataclasses import dataclass

from cart_app.basket import BasketState
from cart_app.domain import Product
from cart_app.navigation import Route, Router, RoutingError, Stop
from cart_app.store_layout import Point, StoreLayout
from ui.i18n import Translator
from ui.viewmodels import formatting as fmt
from ui.viewmodels.common import ProductSearch

FOUND_ICON = "✓"
TODO_ICON = "○"
MAX_LIST = 60
"""Most items on a shopping list (a screenful of large rows, several times over)."""


@dataclass(frozen=True, slots=True)
class ListItemView:
    """One shopping-list row: state shown by an icon and words, not colour alone."""

    sku: str
    name: str
    found: bool
    icon: str
    status: str
    where: str
    is_next: bool


@dataclass(frozen=True, slots=True)
class AisleShape:
    """An aisle to draw: its polygon and a label at its centre."""

    aisle_id: str
    name: str
    polygon: tuple[Point, ...]
    centre: Point


@dataclass(frozen=True, slots=True)
class MapView:
    """Everything the map and list screen shows; positions are metres in the layout."""

    store_name: str
    width_m: float
    depth_m: float
    aisles: tuple[AisleShape, ...]
    bays: tuple[tuple[str, Point], ...]
    entrance: Point
    exits: tuple[tuple[str, Point], ...]
    route: tuple[Point, ...]
    route_stops: tuple[tuple[int, Point], ...]
    """Numbered markers: visiting order (1-based) and the bay's position."""
    next_item: str
    next_position: Point | None
    highlight: Point | None
    highlight_label: str
    items: tuple[ListItemView, ...]
    summary: str
    exit_text: str
    exit_lane: str = ""
    """The lane the route ends at: the map marks it and the handoff screen names it."""


@dataclass(frozen=True, slots=True)
class SearchResultView:
    """A search hit: name, price, where it is, and whether it is on the list already."""

    sku: str
    name: str
    price: str
    where: str
    on_list: bool


def centre(polygon: tuple[Point, ...]) -> Point:
    """The mean of the corners: good enough to place a label in a convex aisle."""
    if not polygon:
        return Point(0.0, 0.0)
    return Point(sum(p.x for p in polygon) / len(polygon), sum(p.y for p in polygon) / len(polygon))


class MapVM:
    """The list, the route and search over the store layout and catalog."""

    def __init__(
        self, layout: StoreLayout, catalog: ProductSearch, currency: str, tr: Translator
    ) -> None:
        """Route over ``layout``; names and places come from ``catalog``."""
        self._layout = layout
        self._router = Router(layout)
        self._catalog = catalog
        self._currency = currency
        self._tr = tr
        self._list: list[str] = []
        self._in_basket: set[str] = set()
        self._position: str | None = None
        self._highlight: tuple[Point, str] | None = None
        self._route_key: tuple[object, ...] | None = None
        self._route: Route | None = None
        self.view = self._build()

    @property
    def router(self) -> Router:
        """The router over the store's layout."""
        return self._router

    @property
    def exit_lane(self) -> str:
        """The exit lane to send the shopper to: where the route on the map ends.

        The one source of truth for the lane: the map's route text, the lane marked on the map
        and the handoff screen's instruction all read it, so they can never disagree. Without a
        route (a layout the router cannot walk) it is the lane nearest the shopper.
        """
        route = self._plan(self._remaining())
        if route is not None:
            return route.exit_lane.waypoint_id
        try:
            return self._router.nearest_exit(self.position_node).waypoint_id
        except RoutingError:
            lanes = self._layout.exit_lanes
            return lanes[0].waypoint_id if lanes else ""

    @property
    def position_node(self) -> str:
        """Where the shopper probably is: the last added item's bay node, else the entrance."""
        return self._position or self._layout.entrance.node_id

    @property
    def shopping_list(self) -> tuple[str, ...]:
        """SKUs on the list, in the order they were added."""
        return tuple(self._list)

    # -- inputs ----------------------------------------------------------------------------------
    def set_list(self, skus: list[str]) -> MapView:
        """Replace the list (from a scanned app code, or a test)."""
        self._list = list(dict.fromkeys(s for s in skus if self._catalog.by_sku(s)))[:MAX_LIST]
        self.view = self._build()
        return self.view

    def add_to_list(self, sku: str) -> MapView:
        """Put ``sku`` on the list (no duplicates)."""
        if sku not in self._list and len(self._list) < MAX_LIST and self._catalog.by_sku(sku):
            self._list.append(sku)
        self.view = self._build()
        return self.view

    def remove_from_list(self, sku: str) -> MapView:
        """Take ``sku`` off the list."""
        if sku in self._list:
            self._list.remove(sku)
        self.view = self._build()
        return self.view

    def update_basket(self, basket: BasketState, last_added_line: int | None) -> MapView:
        """Items in the basket count as found; the last one added says where the shopper is."""
        self._in_basket = {line.sku for line in basket.lines}
        if not basket.lines:
            self._position = None
        if last_added_line is not None:
            line = basket.line(last_added_line)
            product = self._catalog.by_sku(line.sku) if line else None
            if product is not None and product.location is not None:
                node = self._router.bay_node(product.location.bay)
                self._position = node or self._position
        self.view = self._build()
        return self.view

    def show_product(self, sku: str) -> MapView:
        """Mark where ``sku`` is on the map (a search result was tapped)."""
        product = self._catalog.by_sku(sku)
        self._highlight = None
        if product is not None and product.location is not None:
            bay = self._layout.bay(product.location.bay)
            if bay is not None:
                self._highlight = (bay.position, product.name)
        self.view = self._build()
        return self.view

    def search(self, text: str, limit: int = 12) -> tuple[SearchResultView, ...]:
        """Products by name or code, each with its aisle and bay."""
        if not text.strip():
            return ()
        return tuple(self._result(p) for p in self._catalog.search(text, limit))

    # -- building --------------------------------------------------------------------------------
    def where(self, product: Product) -> str:
        """``"Aisle Mejeri, shelf D-1"``, or that the store has not placed it."""
        if product.location is None:
            return self._tr("map.where.unknown")
        aisle = self._layout.aisle(product.location.aisle)
        name = aisle.name if aisle is not None else product.location.aisle
        return self._tr("map.where", aisle=name, bay=product.location.bay)

    def _result(self, product: Product) -> SearchResultView:
        price = fmt.money(product.price_cents, self._currency)
        if product.pricing_mode.value == "per_kg":
            price += "/kg"
        return SearchResultView(
            product.sku, product.name, price, self.where(product), product.sku in self._list
        )

    def _remaining(self) -> list[Product]:
        out = []
        for sku in self._list:
            product = self._catalog.by_sku(sku)
            if product is not None and sku not in self._in_basket:
                out.append(product)
        return out

    def _plan(self, remaining: list[Product]) -> Route | None:
        stops = [Stop(p.sku, p.location.bay) for p in remaining if p.location is not None]
        key = (tuple(stops), self.position_node)
        if key == self._route_key:
            return self._route  # same list, same place: the route has not changed
        try:
            route: Route | None = self._router.plan(stops, self.position_node)
        except RoutingError:
            route = None
        self._route_key, self._route = key, route
        return route

    def _build(self) -> MapView:
        tr = self._tr
        layout = self._layout
        remaining = self._remaining()
        route = self._plan(remaining)
        order = {stop.key: i for i, stop in enumerate(route.order)} if route else {}
        next_sku = route.next_stop.key if route and route.next_stop else None
        items: list[ListItemView] = []
        for sku in self._list:
            product = self._catalog.by_sku(sku)
            if product is None:
                continue
            found = sku in self._in_basket
            items.append(
                ListItemView(
                    sku,
                    product.name,
                    found,
                    FOUND_ICON if found else TODO_ICON,
                    tr("list.found") if found else tr("list.todo"),
                    self.where(product),
                    sku == next_sku,
                )
            )
        # Still to find first, in walking order; found ones after, as the list had them.
        items.sort(key=lambda i: (i.found, order.get(i.sku, len(order))))
        next_text = ""
        next_position: Point | None = None
        if next_sku is not None:
            product = self._catalog.by_sku(next_sku)
            if product is not None:
                next_text = tr("map.next", name=product.name, where=self.where(product))
                bay = layout.bay(product.location.bay) if product.location else None
                next_position = bay.position if bay else None
        elif self._list:
            next_text = tr("map.all_found")
        stops: list[tuple[int, Point]] = []
        if route is not None:
            for i, visit in enumerate(route.visits, start=1):
                bay = layout.bay(visit.stops[0].bay_id)
                if bay is not None:
                    stops.append((i, bay.position))
        summary = (
            tr("list.summary", left=len(remaining), total=len(self._list))
            if self._list
            else tr("list.empty")
        )
        exit_text = ""
        if route is not None:
            exit_text = tr(
                "map.route_length", metres=round(route.length_m), lane=route.exit_lane.waypoint_id
            )
        return MapView(
            store_name=layout.name,
            width_m=layout.width_m,
            depth_m=layout.depth_m,
            aisles=tuple(
                AisleShape(a.aisle_id, a.name, a.polygon, centre(a.polygon)) for a in layout.aisles
            ),
            bays=tuple((b.bay_id, b.position) for b in layout.bays),
            entrance=layout.entrance.position,
            exits=tuple((lane.waypoint_id, lane.position) for lane in layout.exit_lanes),
            route=route.points if route else (),
            route_stops=tuple(stops),
            next_item=next_text,
            next_position=next_position,
            highlight=self._highlight[0] if self._highlight else None,
            highlight_label=self._highlight[1] if self._highlight else "",
            items=tuple(items),
            summary=summary,
            exit_text=exit_text,
            exit_lane=self.exit_lane,
        )
