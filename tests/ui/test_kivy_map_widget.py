"""The store map widget under Xvfb: a new route redraws the route, not the store under it; new
colours or a new size redraw the store too.

Uses the session's app (one Kivy window per process) and leaves it as it found it.
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.ui.conftest import KivyHarness

pytestmark = pytest.mark.ui


def test_a_new_route_leaves_the_store_drawn_as_it_was(kivy_app: KivyHarness) -> None:
    h = kivy_app
    widget = h.screen("map").ids.map
    h.app.sm.get_screen("map").refresh(h.ui)
    h.pump(3)
    view = widget.view
    assert view is not None and view.aisles
    store = list(widget._store.children)
    route = list(widget._route.children)
    assert store and route

    # The shopper moved on: the route starts elsewhere and has one stop fewer.
    moved = dataclasses.replace(view, route=view.route[1:], route_stops=view.route_stops[1:])
    widget.view = moved
    h.pump(2)
    assert widget._store.children == store  # the very same instructions
    assert widget._route.children != route

    h.ui.toggle_high_contrast()  # new colours: the store is drawn again, in them
    h.pump(3)
    try:
        assert widget._store.children != store
    finally:
        h.ui.toggle_high_contrast()
        h.pump(3)
    widget.view = view
    h.pump(2)
