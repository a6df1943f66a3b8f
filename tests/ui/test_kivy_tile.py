"""A product tile under Xvfb: its picture scaled to fit inside it, drawn without the stencil
clipping of Kivy's own Image rule; initials on the tinted square when there is no picture.

Uses the session's app window (one Kivy window per process); the tile is added to the window
and taken away again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import KivyHarness

pytestmark = pytest.mark.ui

RED = (220, 20, 20)


def walk_canvas(group: Any) -> list[Any]:
    from kivy.graphics.instructions import InstructionGroup

    out: list[Any] = []
    for child in group.children:
        out += walk_canvas(child) if isinstance(child, InstructionGroup) else [child]
    return out


def pixel(shot: Path, x: float, y: float) -> tuple[int, int, int]:
    """The colour at window coordinates (origin bottom left) in a window screenshot."""
    from PIL import Image

    image = Image.open(shot).convert("RGB")
    r, g, b = image.getpixel((round(x), image.height - 1 - round(y)))  # type: ignore[misc]
    return int(r), int(g), int(b)


@pytest.mark.parametrize("picture", [True, False])
def test_a_tile_shows_its_picture_or_its_initials(
    kivy_app: KivyHarness, tmp_path: Path, picture: bool
) -> None:
    from kivy.core.window import Window
    from kivy.graphics.stencil_instructions import StencilPush
    from PIL import Image

    from ui.widgets import Tile

    source = tmp_path / "wide.png"
    Image.new("RGB", (200, 100), RED).save(source)  # twice as wide as high
    tile = Tile(letters="MJ", source=str(source) if picture else "")
    Window.add_widget(tile)
    tile.pos = (40, 40)
    tile.size = (96, 96)  # as the question's and the last item's tiles are sized
    try:
        kivy_app.pump(4)
        shot = Path(Window.screenshot(name=str(tmp_path / "tile.png")))
        x, y = tile.to_window(*tile.pos)
        w, h = tile.size
        centre = pixel(shot, x + w / 2, y + h / 2)
        near_top = pixel(shot, x + w / 2, y + h - 6)  # above a picture scaled to fit
        if picture:
            assert all(abs(a - b) < 30 for a, b in zip(centre, RED, strict=True)), centre
            assert not all(abs(a - b) < 30 for a, b in zip(near_top, RED, strict=True))
        else:
            assert not all(abs(a - b) < 30 for a, b in zip(centre, RED, strict=True))
        drawn = [
            i
            for part in (tile.canvas.before, tile.canvas, tile.canvas.after)
            for i in walk_canvas(part)
        ]
        assert not any(isinstance(i, StencilPush) for i in drawn)
    finally:
        Window.remove_widget(tile)
        kivy_app.pump(1)
