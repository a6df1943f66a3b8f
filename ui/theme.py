"""Colours and sizes of the two themes (plain Python; the Kivy app copies them into properties).

Text colours are chosen against their backgrounds for WCAG contrast (a test checks at least
4.5:1 in the normal theme and 7:1 in high contrast). Colour never carries meaning alone: every
state also has an icon and words.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Final

Rgba = tuple[float, float, float, float]

LARGE_TEXT_SCALE: Final = 1.3
MIN_TOUCH_PX: Final = 64
"""Smallest touch target: a gloved fingertip while the other hand pushes the cart."""


@dataclass(frozen=True, slots=True)
class Theme:
    """One theme's colours (RGBA, 0..1)."""

    bg: Rgba
    panel: Rgba
    fg: Rgba
    muted: Rgba
    accent: Rgba
    accent_fg: Rgba
    secondary: Rgba
    secondary_fg: Rgba
    highlight: Rgba
    border: Rgba
    ok: Rgba
    warn: Rgba
    bad: Rgba
    disabled: Rgba
    disabled_fg: Rgba
    bar: Rgba
    bar_fg: Rgba
    map_aisle: Rgba
    map_route: Rgba

    def as_dict(self) -> dict[str, Rgba]:
        """Colour name to value."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


NORMAL: Final = Theme(
    bg=(0.94, 0.95, 0.93, 1),
    panel=(1, 1, 1, 1),
    fg=(0.07, 0.08, 0.09, 1),
    muted=(0.30, 0.32, 0.36, 1),
    accent=(0.0, 0.38, 0.31, 1),
    accent_fg=(1, 1, 1, 1),
    secondary=(0.86, 0.89, 0.88, 1),
    secondary_fg=(0.07, 0.08, 0.09, 1),
    highlight=(1.0, 0.93, 0.68, 1),
    border=(0.62, 0.65, 0.66, 1),
    ok=(0.04, 0.40, 0.13, 1),
    warn=(0.55, 0.31, 0.0, 1),
    bad=(0.70, 0.07, 0.07, 1),
    disabled=(0.80, 0.81, 0.82, 1),
    disabled_fg=(0.25, 0.26, 0.28, 1),
    bar=(0.0, 0.27, 0.22, 1),
    bar_fg=(1, 1, 1, 1),
    map_aisle=(0.84, 0.90, 0.87, 1),
    map_route=(0.80, 0.22, 0.0, 1),
)

HIGH_CONTRAST: Final = Theme(
    bg=(0, 0, 0, 1),
    panel=(0, 0, 0, 1),
    fg=(1, 1, 1, 1),
    muted=(0.92, 0.92, 0.92, 1),
    accent=(1.0, 0.86, 0.0, 1),
    accent_fg=(0, 0, 0, 1),
    secondary=(0.18, 0.18, 0.18, 1),
    secondary_fg=(1, 1, 1, 1),
    highlight=(0.22, 0.22, 0.0, 1),
    border=(1, 1, 1, 1),
    ok=(0.45, 1.0, 0.45, 1),
    warn=(1.0, 0.86, 0.0, 1),
    bad=(1.0, 0.55, 0.55, 1),
    disabled=(0.22, 0.22, 0.22, 1),
    disabled_fg=(0.90, 0.90, 0.90, 1),
    bar=(0, 0, 0, 1),
    bar_fg=(1, 1, 1, 1),
    map_aisle=(0.16, 0.16, 0.16, 1),
    map_route=(1.0, 0.86, 0.0, 1),
)


def luminance(colour: Rgba) -> float:
    """WCAG relative luminance of an sRGB colour."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b, _ = colour
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: Rgba, b: Rgba) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


TEXT_PAIRS: Final = (
    ("fg", "bg"),
    ("fg", "panel"),
    ("muted", "panel"),
    ("muted", "bg"),
    ("accent_fg", "accent"),
    ("secondary_fg", "secondary"),
    ("fg", "highlight"),
    ("ok", "panel"),
    ("warn", "panel"),
    ("bad", "panel"),
    ("disabled_fg", "disabled"),
    ("bar_fg", "bar"),
    ("fg", "map_aisle"),
)
"""(text, background) pairs that appear on screen."""
