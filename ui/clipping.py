"""Cheap clipping for the scrolling lists, and a screen manager that does not clip at all.

Kivy clips a ``ScrollView`` (so every ``RecycleView``) and a ``ScreenManager`` with the stencil
buffer: each frame it draws the widget's rectangle into the stencil twice (push and pop) and
tests every fragment inside against it. On a GPU that is free; with Mesa's llvmpipe (software
OpenGL, the bench machine and the laptop profile without a GPU) every one of those fragments is
CPU time on the Kivy thread's frame. The basket screen drew 5.5 screens' worth of fragments per
frame, 2.7 of them stencil rectangles (``bench/ui_bench.py``, ``docs/ui.md``).

- :class:`ClipRecycleView` and :class:`ClipScrollView` clip with the scissor test instead: a
  rectangle in window pixels that costs no fragments. Their kv rules (``theme.kv``) drop
  ``StencilView``'s and keep ``ScrollView``'s scroll bars.
- :class:`FlatScreenManager` does not clip: with ``NoTransition`` every screen exactly covers
  the manager, so there is nothing outside it to hide.

The scissor rectangle is in window coordinates; it follows the widget's own position and size
and the position of every ancestor (a ``RelativeLayout`` such as a ``Screen`` moves its
children's window position without changing their ``pos``), and is recomputed once before the
next frame however many of them changed.
"""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.graphics.scissor_instructions import ScissorPop, ScissorPush
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.recycleview import RecycleView
from kivy.uix.screenmanager import ScreenManager
from kivy.uix.scrollview import ScrollView

from ui.rows import KeepingAdapter, prebuild_rows


class ScissorClip:
    """Mixin for a ``ScrollView`` subclass whose kv rule has no stencil: clip by scissor."""

    canvas: Any
    parent: Any
    pos: Any
    size: Any

    def _init_clip(self) -> None:
        self._scissor = ScissorPush(x=0, y=0, width=0, height=0)
        self.canvas.before.insert(0, self._scissor)
        self.canvas.after.add(ScissorPop())
        self._watched: list[tuple[Any, int, int]] = []
        self._update = Clock.create_trigger(self._rewatch, -1)
        self.fbind("pos", self._update)  # type: ignore[attr-defined]
        self.fbind("size", self._update)  # type: ignore[attr-defined]
        self.fbind("parent", self._update)  # type: ignore[attr-defined]

    def _rewatch(self, *_: Any) -> None:
        """Watch every ancestor's position and parent; set the scissor rectangle."""
        for widget, pos_uid, parent_uid in self._watched:
            widget.unbind_uid("pos", pos_uid)
            widget.unbind_uid("parent", parent_uid)
        self._watched = []
        ancestor = self.parent
        while ancestor is not None and hasattr(ancestor, "fbind"):
            pos_uid = ancestor.fbind("pos", self._update)
            parent_uid = ancestor.fbind("parent", self._update)
            self._watched.append((ancestor, pos_uid, parent_uid))
            nxt = ancestor.parent
            if nxt is ancestor:  # the window is its own parent
                break
            ancestor = nxt
        x, y = self.to_window(*self.pos)  # type: ignore[attr-defined]
        width, height = self.size
        scissor = self._scissor
        box = (round(x), round(y), max(round(width), 0), max(round(height), 0))
        if (scissor.x, scissor.y, scissor.width, scissor.height) != box:
            scissor.x, scissor.y, scissor.width, scissor.height = box


class ClipScrollView(ScissorClip, ScrollView):  # type: ignore[misc]
    """A ``ScrollView`` clipped by the scissor test (see the module docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        """Build as a ScrollView, then add the scissor around its content."""
        super().__init__(**kwargs)
        self._init_clip()


class ClipRecycleView(ClipScrollView, RecycleView):  # type: ignore[misc]
    """A ``RecycleView`` clipped by the scissor test (see the module docstring), whose rows keep
    their views when the data changes (:mod:`ui.rows`; lay it out with ``KeepingBoxLayout``)."""

    prebuild = BooleanProperty(False)
    """Build spare row views from start-up (:func:`ui.rows.prebuild_rows`): the lists a trip
    fills as it goes (basket, list, search, summary) show their first rows without a stall."""

    row_key = StringProperty("")
    """The data field that identifies a row (:class:`ui.rows.KeepingAdapter`'s ``key``)."""

    def __init__(self, **kwargs: Any) -> None:
        """Build with a :class:`ui.rows.KeepingAdapter` unless given another adapter."""
        kwargs.setdefault("view_adapter", KeepingAdapter())
        super().__init__(**kwargs)
        self.fbind("row_key", self._set_row_key)
        self._set_row_key()
        # After the kv rule has set viewclass and prebuild.
        Clock.schedule_once(lambda _dt: prebuild_rows(self) if self.prebuild else None, 0)

    def _set_row_key(self, *_: Any) -> None:
        if isinstance(self.view_adapter, KeepingAdapter):
            self.view_adapter.key = self.row_key


class FlatScreenManager(ScreenManager):  # type: ignore[misc]
    """A ``ScreenManager`` without the stencil (its kv rule drops it; ``NoTransition`` only)
    that keeps every screen, shown or not, at its own size and position.

    Kivy sizes only the screen on show; the others stayed at 100×100 until their first visit,
    and that frame laid the whole screen out and rendered every label again at its real width
    (a switch to the map for the first time: 30–40 texts, 52–64 ms in ``bench/ui_bench.py``).
    Sized from the start, a screen is laid out and its texts rendered when it is built (at
    start-up) and when its data changes, not when it comes on show.
    """

    def __init__(self, **kwargs: Any) -> None:
        """Size the screens whenever the manager's own size or position changes."""
        super().__init__(**kwargs)
        self.fbind("size", self._fit_screens)
        self.fbind("pos", self._fit_screens)

    def add_widget(self, widget: Any, *args: Any, **kwargs: Any) -> None:
        """Add a screen, sized as the manager."""
        super().add_widget(widget, *args, **kwargs)
        self._fit_screens()

    def _fit_screens(self, *_: Any) -> None:
        for screen in self.screens:
            screen.pos = self.pos
            screen.size = self.size
