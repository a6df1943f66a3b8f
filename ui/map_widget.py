"""The store map widget: aisles, bays, entrance, exit lanes, the route and its numbered stops,
with the labels placed by :func:`ui.viewmodels.map_labels.map_labels`."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.graphics import (
    Canvas,
    Color,
    Ellipse,
    InstructionGroup,
    Line,
    PopMatrix,
    PushMatrix,
    Rectangle,
    Rotate,
)
from kivy.graphics.texture import Texture
from kivy.properties import ObjectProperty, StringProperty
from kivy.uix.widget import Widget

from ui.viewmodels.map import MapView
from ui.viewmodels.map_labels import (
    BAY_SIZE,
    FIRST_STOP_RADIUS,
    HIGHLIGHT_RADIUS,
    STOP_RADIUS,
    YOU_RADIUS,
    Box,
    MapTexts,
    map_frame,
    map_labels,
)
from ui.widgets import text_texture

MAP_TEXTURE_CACHE = 400
"""At most this many rendered map texts are kept (the demo store's map uses about 60)."""


class MapWidget(Widget):  # type: ignore[misc]
    """The store map: aisles, bays, entrance, exit lanes, the route and its numbered stops."""

    view = ObjectProperty(None, allownone=True)
    theme_key = StringProperty("")
    """Changes with the theme and text size, so the map redraws in the new colours."""
    labels = ObjectProperty(())
    """The labels as last placed (:func:`ui.viewmodels.map_labels.map_labels`), for tests."""

    def __init__(self, **kwargs: Any) -> None:
        """Redraw when the view, size or position changes."""
        super().__init__(**kwargs)
        self._textures: dict[tuple[str, float, bool], Texture] = {}
        """Rendered label texts, kept across redraws: a snapshot moves the route and the
        stops, not the aisles' names, so a redraw renders only texts it has not drawn before."""
        # One redraw per frame, however many of these change in it: a switch to the map moved,
        # sized and re-viewed it at once, and each redrew it (six redraws, 7 ms, in one frame
        # of bench/ui_bench.py). -1: before the frame is drawn, so it never shows stale.
        self._redraw_soon = Clock.create_trigger(self._redraw, -1)
        # The store itself (aisles, bays, entrance, lanes) is drawn apart from the route, and
        # again only when the store, its placing or the colours change: a snapshot moves the
        # route and its stops, and each redraw of the store made its outlines' geometry and
        # vertex buffers anew (10-20 ms of drawing in a switch to the map, bench/ui_bench.py).
        self._store = InstructionGroup()
        self._route = Canvas()  # a canvas: drawn into with ``with``
        self._store_key: tuple[Any, ...] | None = None
        self.canvas.add(self._store)
        self.canvas.add(self._route)
        self.bind(
            view=self._redraw_soon,
            size=self._redraw_soon,
            pos=self._redraw_soon,
            theme_key=self._redraw_soon,
        )

    def _redraw(self, *_: Any) -> None:
        view: MapView | None = self.view
        self._route.clear()
        if view is None or self.width < 10 or self.height < 10:
            self._store.clear()
            self._store_key = None
            return
        app = App.get_running_app()
        frame = map_frame(view, (self.x, self.y), (self.width, self.height))
        colours = app.theme_colours if app else {}
        key: tuple[Any, ...] = (frame, tuple(sorted(colours.items())), view.aisles, view.bays)
        key += (view.entrance, view.exits, view.exit_lane, view.width_m, view.depth_m)
        if key != self._store_key:
            self._store.clear()
            self._draw_store(view, frame, colours)
            self._store_key = key
        self._draw_route(view, frame, colours, app)

    def _texture(self, text: str, size: float, bold: bool) -> Texture:
        textures = self._textures
        key = (text, size, bold)
        if key not in textures:
            if len(textures) >= MAP_TEXTURE_CACHE:
                textures.clear()
            textures[key] = text_texture(text, size, bold)
        return textures[key]

    def _draw_store(self, view: MapView, frame: Any, colours: dict[str, Any]) -> None:
        at = frame.at
        w_px, h_px = view.width_m * frame.scale, view.depth_m * frame.scale
        group = self._store
        group.add(Color(*colours.get("panel", (1, 1, 1, 1))))
        group.add(Rectangle(pos=at(0, 0), size=(w_px, h_px)))
        group.add(Color(*colours.get("border", (0.5, 0.5, 0.5, 1))))
        group.add(Line(rectangle=(*at(0, 0), w_px, h_px), width=1.5))
        for aisle in view.aisles:
            points = [c for p in aisle.polygon for c in at(p.x, p.y)]
            xs, ys = points[0::2], points[1::2]
            group.add(Color(*colours.get("map_aisle", (0.85, 0.9, 0.85, 1))))
            group.add(
                Rectangle(pos=(min(xs), min(ys)), size=(max(xs) - min(xs), max(ys) - min(ys)))
            )
            group.add(Color(*colours.get("border", (0.5, 0.5, 0.5, 1))))
            group.add(Line(points=points, close=True, width=1.2))
        group.add(Color(*colours.get("muted", (0.4, 0.4, 0.4, 1))))
        for _bay_id, pos in view.bays:
            x, y = at(pos.x, pos.y)
            group.add(
                Rectangle(pos=(x - BAY_SIZE / 2, y - BAY_SIZE / 2), size=(BAY_SIZE, BAY_SIZE))
            )
        ex, ey = at(view.entrance.x, view.entrance.y)
        group.add(Color(*colours.get("ok", (0, 0.5, 0, 1))))
        group.add(Line(points=[ex - 14, ey + 10, ex, ey - 4, ex + 14, ey + 10], width=3))
        for lane, pos in view.exits:
            x, y = at(pos.x, pos.y)
            group.add(Color(*colours.get("bad", (0.7, 0, 0, 1))))
            # The lane the route ends at is drawn heavier (and its label says ▼ in words).
            width = 5 if lane == view.exit_lane else 3
            group.add(Line(points=[x - 14, y + 4, x, y - 10, x + 14, y + 4], width=width))

    def _draw_route(self, view: MapView, frame: Any, colours: dict[str, Any], app: Any) -> None:
        at = frame.at
        fs = app.fs if app else 1.0
        texture = self._texture

        def measure(text: str, size: float, bold: bool) -> tuple[float, float]:
            w, h = texture(text, size, bold).size
            return float(w), float(h)

        with self._route:
            if len(view.route) >= 2:
                Color(*colours.get("map_route", (0.8, 0.2, 0, 1)))
                Line(points=[c for p in view.route for c in at(p.x, p.y)], width=4, joint="round")
            if view.route:
                sx, sy = at(view.route[0].x, view.route[0].y)
                Color(*colours.get("accent", (0, 0.4, 0.3, 1)))
                Ellipse(pos=(sx - YOU_RADIUS, sy - YOU_RADIUS), size=(2 * YOU_RADIUS,) * 2)
            for number, pos in view.route_stops:
                x, y = at(pos.x, pos.y)
                radius = FIRST_STOP_RADIUS if number == 1 else STOP_RADIUS
                Color(*colours.get("map_route", (0.8, 0.2, 0, 1)))
                Ellipse(pos=(x - radius, y - radius), size=(2 * radius, 2 * radius))
                number_tex = texture(str(number), 16 * fs, True)
                tw, th = number_tex.size
                Color(*colours.get("accent_fg", (1, 1, 1, 1)))
                Rectangle(texture=number_tex, pos=(x - tw / 2, y - th / 2), size=(tw, th))
            if view.highlight is not None:
                x, y = at(view.highlight.x, view.highlight.y)
                Color(*colours.get("accent", (0, 0.4, 0.3, 1)))
                Line(circle=(x, y, HIGHLIGHT_RADIUS - 8), width=4)
                Line(circle=(x, y, HIGHLIGHT_RADIUS), width=2)
            texts = MapTexts(
                you=app.t("map.you", app.lang) if app else "You",
                entrance=app.t("map.entrance", app.lang) if app else "Entrance",
            )
            bounds = Box(self.x + 2, self.y + 2, self.width - 4, self.height - 4)
            self.labels = map_labels(view, frame, bounds, measure, texts, fs=fs)
            Color(*colours.get("fg", (0, 0, 0, 1)))
            for placed in self.labels:
                tex = texture(placed.text, placed.font * fs, placed.bold)
                box = placed.box
                if placed.upright:
                    cx, cy = box.centre
                    tw, th = tex.size
                    PushMatrix()
                    Rotate(angle=90, origin=(cx, cy))
                    Rectangle(texture=tex, pos=(cx - tw / 2, cy - th / 2), size=(tw, th))
                    PopMatrix()
                else:
                    Rectangle(texture=tex, pos=(box.x, box.y), size=(box.w, box.h))
