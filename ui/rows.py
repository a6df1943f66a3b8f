"""List rows that keep their place when the list's data changes.

Kivy's ``RecycleView`` throws every row view into a shared cache whenever its ``data`` changes
(``clear_layout`` → ``invalidate``) and hands them back last-in first-out, so the view that
showed row 0 now shows row 7: every visible row gets another line's texts and renders all its
labels again, and every row is taken out of the layout and put back (``clear_widgets``). The
basket's data changes with every item that goes in, so one item re-rendered 40–60 label textures
(about half the Kivy thread's frame; ``python -m bench.ui_bench --worst 8`` counts them).

Here a row view stays with its index across a data change and is brought up to date with that
index's data: a property set to the value it already has dispatches nothing, so only texts that
changed render. Views no longer visible leave the layout and wait, with their index, to be
reused.

- :class:`KeepingAdapter`: a dirty view found at its own index is refreshed from the data
  (Kivy assumes it is still in sync, true only when the data did not change).
- :class:`KeepingBoxLayout`: a ``RecycleBoxLayout`` whose ``clear_layout`` marks the views
  dirty instead of invalidating them and removing every child.

Building a row view from its kv rule costs 5–12 ms (a basket row is eleven widgets); the first
items of a trip each built one inside the frame that showed them. A list with ``prebuild`` on
(:func:`prebuild_rows`) builds spare views ahead, one per frame from start-up, enough to fill the
window's height, and a new row takes a spare before it builds one.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from kivy.clock import Clock
from kivy.uix.recycleboxlayout import RecycleBoxLayout
from kivy.uix.recycleview.views import RecycleDataAdapter

SETUP_FRAMES = 60
"""How many frames :func:`prebuild_rows` waits for the list's layout and view class."""
MIN_ROW_HEIGHT = 40.0
"""Rows are never counted smaller than this (a list without a default row height)."""


class KeepingAdapter(RecycleDataAdapter):  # type: ignore[misc]
    """Hands a row its own previous view, brought up to date (see the module docstring).

    ``key`` names a data field that identifies a row (a basket line's ``line_id``): its view
    then follows the row when rows above it come or go, instead of staying at the index and
    taking the next row's texts. Without a key a view stays with its index.
    """

    def __init__(self, key: str = "", **kwargs: Any) -> None:
        """No spare views yet (:func:`prebuild_rows` makes them)."""
        super().__init__(**kwargs)
        self.key = key
        self.spares: defaultdict[Any, list[Any]] = defaultdict(list)
        self._keys: dict[int, Any] = {}  # id(view) -> the key of the row it shows

    def view_count(self, viewclass: Any) -> int:
        """Views of ``viewclass`` this adapter holds: shown, kept for their index, spare."""
        shown = sum(1 for view in self.views.values() if view.__class__ is viewclass)
        return shown + len(self.dirty_views.get(viewclass, ())) + len(self.spares[viewclass])

    def invalidate(self) -> None:
        """Keep the views (dirty, by index) instead of handing them to Kivy's shared cache."""
        self.make_views_dirty()

    def refresh_view_attrs(self, index: int, data_item: Any, view: Any) -> None:
        """Copy the row's data into the view (unchanged values dispatch nothing)."""
        super().refresh_view_attrs(index, data_item, view)
        if self.key:
            self._keys[id(view)] = data_item.get(self.key)

    def get_view(self, index: int, data_item: Any, viewclass: Any) -> Any:
        """The row's own view (same key, else same index), a spare, any kept view, or a new one;
        always brought up to date with the row's data."""
        if viewclass is None:
            return None
        dirty = self.dirty_views.get(viewclass) or {}
        slot = self._own_slot(dirty, index, data_item)
        if slot is not None:
            view = dirty.pop(slot)
        elif self.spares.get(viewclass):
            view = self.spares[viewclass].pop()
        elif dirty:
            view = dirty.pop(next(iter(dirty)))
        else:
            return self.create_view(index, data_item, viewclass)
        self.refresh_view_attrs(index, data_item, view)
        return view

    def _own_slot(self, dirty: dict[int, Any], index: int, data_item: Any) -> int | None:
        if not self.key:
            return index if index in dirty else None
        wanted = data_item.get(self.key)
        keys = self._keys
        if index in dirty and keys.get(id(dirty[index])) == wanted:
            return index
        return next((i for i, view in dirty.items() if keys.get(id(view)) == wanted), None)


class KeepingBoxLayout(RecycleBoxLayout):  # type: ignore[misc]
    """A ``RecycleBoxLayout`` that keeps its row views in place across data changes."""

    def clear_layout(self) -> None:
        """Mark the views dirty, keyed by index, and leave them in the layout for now."""
        rv = self.recycleview
        adapter = rv.view_adapter if rv is not None else None
        if isinstance(adapter, KeepingAdapter):
            adapter.make_views_dirty()
            # Every view is placed again by set_visible_views (the data may be shorter now).
            self.view_indices: dict[Any, int] = {}
            self._size_needs_update = False
        else:
            super().clear_layout()

    def set_visible_views(self, indices: Any, data: Any, viewport: Any) -> None:
        """Show the rows in view, then take out the kept views that no row uses now."""
        super().set_visible_views(indices, data, viewport)
        adapter = self.recycleview.view_adapter
        in_use = set(adapter.views.values())
        for child in [c for c in self.children if c not in in_use]:
            self.remove_widget(child)
            self.view_indices.pop(child, None)


def prebuild_rows(rv: Any) -> None:
    """Build ``rv``'s spare row views, one per frame, until it holds enough to fill the window.

    ``rv`` is a RecycleView with a :class:`KeepingAdapter` and a :class:`KeepingBoxLayout`
    whose ``default_size`` gives the smallest row height.
    """

    from kivy.core.window import Window
    from kivy.factory import Factory

    waited = [0]

    def step(_dt: float) -> bool:
        adapter = rv.view_adapter
        viewclass = rv.viewclass
        layout = rv.layout_manager
        if not isinstance(adapter, KeepingAdapter):
            return False
        if viewclass is None or layout is None:  # not put together yet: wait a few frames
            waited[0] += 1
            return waited[0] < SETUP_FRAMES
        if isinstance(viewclass, str):
            viewclass = getattr(Factory, viewclass)
        row = max(float(layout.default_size[1] or 0.0), MIN_ROW_HEIGHT)
        wanted = math.ceil(Window.height / row) + 1
        if adapter.view_count(viewclass) >= wanted:
            return False
        adapter.spares[viewclass].append(viewclass())
        return True

    Clock.schedule_interval(step, 0)
