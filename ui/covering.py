"""Leave out the drawing of what a full-size dialog covers.

The question (and the product picker) covers 81 % of the window, and what shows around it is
dimmed. Kivy still draws every screen under it, each frame: on software OpenGL (Mesa llvmpipe,
the laptop and the CI machine) the buffer swap with a question open fell from 33 to 24 ms per
frame when the covered screens were not drawn (``bench/ui_bench.py``). The screens' widgets stay
as they are, only their canvas leaves the window's drawing, so uncovering costs nothing either;
the open dialog takes every touch meanwhile.
"""

from __future__ import annotations

from typing import Any


def set_covered(parent: Any, content: Any, covered: bool) -> None:
    """Take ``content``'s canvas out of ``parent``'s drawing while ``covered``, put it back
    (underneath the rest, where it was) when not."""
    drawn = content.canvas in parent.canvas.children
    if covered and drawn:
        parent.canvas.remove(content.canvas)
    elif not covered and not drawn:
        # Widgets are drawn in the order of their canvases: the content was the first child.
        parent.canvas.insert(0, content.canvas)
