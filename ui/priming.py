"""Bring the screens a trip visits up to date and draw them once, unseen, from start-up.

A screen is refreshed only while it is on show, and the first frame that draws a screen pays
for more than the later ones: its texts laid out and rendered, its vertex buffers created and,
with Mesa's llvmpipe (software OpenGL), the rasteriser's code generated for each new mix of
texture and blending. The first switch to the basket at the start of a trip drew for 22–25 ms
of CPU in ``bench/ui_bench.py``; once drawn before, it no longer shows among the longest frames
(see docs/ui.md, "Benchmark"). So from start-up, one screen after another, the primer

1. refreshes the screen (its texts render at their real widths: the manager keeps every screen
   sized, :class:`ui.clipping.FlatScreenManager`), then, on the next frame,
2. draws it underneath everything, under a window-sized rectangle of the background colour
   (the shopper sees the welcome screen as before), and takes it out again on the frame after.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ui.viewmodels.session import Screen

PRIMED_SCREENS = (Screen.BASKET, Screen.MAP, Screen.SEARCH, Screen.CHECKOUT)
"""The screens a trip visits, primed at start-up."""


class ScreenPrimer:
    """Refresh and underdraw ``screens`` one after another, a step per frame (see the module
    docstring). ``refresh(name)`` brings the named screen up to date."""

    def __init__(self, manager: Any, window: Any, refresh: Any, screens: Sequence[Screen]) -> None:
        self._manager = manager
        self._window = window
        self._refresh = refresh
        self._pending = [s.value for s in screens]
        self._drawn: Any = None  # the group drawn underneath this frame
        self._screen: Any = None  # the screen waiting to be drawn underneath

    @property
    def done(self) -> bool:
        """Every screen primed and nothing left in the window's drawing."""
        return not self._pending and self._drawn is None and self._screen is None

    def start(self) -> None:
        """Run the steps on Kivy's clock, one per frame, until done."""
        from kivy.clock import Clock

        Clock.schedule_interval(lambda _dt: self.step(), 0)

    def step(self) -> bool:
        """One frame's work; False once done (which unschedules it)."""
        if self._drawn is not None:
            self._window.canvas.remove(self._drawn)
            self._drawn.clear()
            self._drawn = None
        if self._screen is not None:
            self._underdraw(self._screen)
            self._screen = None
        elif self._pending:
            name = self._pending.pop(0)
            if name != self._manager.current:
                self._refresh(name)
                self._screen = self._manager.get_screen(name)
        return not self.done

    def _underdraw(self, screen: Any) -> None:
        # A screen on show (the shopper was quick) is drawn anyway; one in the manager's
        # drawing cannot be drawn a second time.
        if screen.parent is not None:
            return
        from kivy.graphics import Color, InstructionGroup, Rectangle

        group = InstructionGroup()
        group.add(screen.canvas)
        group.add(Color(*self._window.clearcolor))
        group.add(Rectangle(pos=(0, 0), size=self._window.size))
        self._window.canvas.insert(0, group)
        self._drawn = group
