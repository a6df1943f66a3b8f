"""Custom Kivy widgets: product tiles, the QR code, the weight plot, the camera preview and the
on-screen keyboard (the store map is :mod:`ui.map_widget`). They draw what a view says; they
decide nothing."""

from __future__ import annotations

import logging
from typing import Any

from kivy.app import App
from kivy.core.text import Label as CoreLabel
from kivy.graphics import (
    Color,
    Line,
    Rectangle,
)
from kivy.graphics.texture import Texture
from kivy.properties import (
    BooleanProperty,
    ListProperty,
    NumericProperty,
    StringProperty,
)
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.image import Image
from kivy.uix.relativelayout import RelativeLayout
from kivy.uix.widget import Widget

log = logging.getLogger(__name__)


def _app() -> Any:
    return App.get_running_app()


class BigButton(Button):  # type: ignore[misc]
    """The main action: accent colours, at least 80 px high (styled in theme.kv)."""

    kind = StringProperty("primary")
    """``primary`` (accent) or ``secondary`` (grey)."""
    base_font = NumericProperty(24)
    """Font size at normal text size; large text mode scales it (unless ``scales`` is off)."""
    scales = BooleanProperty(True)
    min_height = NumericProperty(80)
    """At least this high (more when the text wraps); 0 hides the button."""


class Tile(RelativeLayout):  # type: ignore[misc]
    """A product picture, or its initials on a tinted square when there is no picture."""

    source = StringProperty("")
    letters = StringProperty("")


class TileImage(Image):  # type: ignore[misc]
    """A tile's picture, drawn without Kivy's stencil clipping (its rule is in theme.kv)."""


class ToggleText(BigButton):
    """A toggle whose state shows as ``✓`` in its text, not only as colour."""

    active = BooleanProperty(False)
    label = StringProperty("")


def text_texture(text: str, size: float, bold: bool = False) -> Texture:
    """Render ``text`` to a texture (map labels are drawn, not widgets)."""
    label = CoreLabel(text=text, font_size=size, bold=bold)
    label.refresh()
    texture: Texture = label.texture
    return texture


class QrWidget(Widget):  # type: ignore[misc]
    """A QR code of ``payload`` on white (also in high contrast: scanners need dark on light)."""

    payload = StringProperty("")
    problem = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        """Rebuild the texture when the payload changes; redraw on resize."""
        super().__init__(**kwargs)
        self._texture: Texture | None = None
        self.bind(payload=self._rebuild, size=self._draw, pos=self._draw)

    def _rebuild(self, *_: Any) -> None:
        self._texture = None
        self.problem = ""
        if self.payload:
            try:
                self._texture = qr_texture(self.payload)
            except Exception as exc:  # a missing qrcode package must not break checkout
                log.exception("QR code not drawn")
                self.problem = str(exc)
        self._draw()

    def _draw(self, *_: Any) -> None:
        self.canvas.clear()
        side = min(self.width, self.height)
        x = self.x + (self.width - side) / 2
        y = self.y + (self.height - side) / 2
        with self.canvas:
            Color(1, 1, 1, 1)
            Rectangle(pos=(x, y), size=(side, side))
            if self._texture is not None:
                Rectangle(texture=self._texture, pos=(x, y), size=(side, side))


def qr_matrix(payload: str) -> list[list[bool]]:
    """The QR modules of ``payload`` (medium error correction, quiet zone included)."""
    import qrcode  # type: ignore[import-untyped]
    import qrcode.constants  # type: ignore[import-untyped]

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    qr.add_data(payload)
    qr.make(fit=True)
    matrix: list[list[bool]] = qr.get_matrix()
    return matrix


def qr_texture(payload: str) -> Texture:
    """A texture with one texel per module (scaled up with nearest filtering: sharp edges)."""
    matrix = qr_matrix(payload)
    n = len(matrix)
    rows = bytearray()
    # Textures start at the bottom row; the matrix at the top one.
    for row in reversed(matrix):
        for dark in row:
            rows += b"\x00\x00\x00" if dark else b"\xff\xff\xff"
    texture = Texture.create(size=(n, n), colorfmt="rgb")
    texture.mag_filter = "nearest"
    texture.min_filter = "nearest"
    # Rows of n*3 bytes: keep GL from assuming 4-byte aligned rows.
    texture.blit_buffer(bytes(rows), colorfmt="rgb", bufferfmt="ubyte")
    return texture


class WeightPlot(Widget):  # type: ignore[misc]
    """The live weight trace: ``(seconds ago, grams)`` points over the last half minute."""

    trace = ListProperty([])
    span_s = NumericProperty(30.0)

    def __init__(self, **kwargs: Any) -> None:
        """Redraw on new points and on resize."""
        super().__init__(**kwargs)
        self.bind(trace=self._draw, size=self._draw, pos=self._draw)

    def _draw(self, *_: Any) -> None:
        self.canvas.clear()
        app = _app()
        colours = app.theme_colours if app else {}
        with self.canvas:
            Color(*colours.get("panel", (1, 1, 1, 1)))
            Rectangle(pos=self.pos, size=self.size)
            Color(*colours.get("border", (0.5, 0.5, 0.5, 1)))
            Line(rectangle=(self.x, self.y, self.width, self.height), width=1)
            if len(self.trace) < 2:
                return
            grams = [g for _, g in self.trace]
            low, high = min(0.0, *grams), max(grams)
            span = max(high - low, 50.0)
            # Short traces fill the width (up to span_s): the plot reads from its first second.
            seconds = min(self.span_s, max(5.0, -self.trace[0][0]))
            pts: list[float] = []
            for ago, g in self.trace:
                pts.append(self.x + self.width * (1 + ago / seconds))
                pts.append(self.y + 8 + (self.height - 16) * (g - low) / span)
            Color(*colours.get("accent", (0, 0.4, 0.3, 1)))
            Line(points=pts, width=2)
            fg = colours.get("fg", (0, 0, 0, 1))
            for text, x, y in (
                (f"{low + span:.0f} g", self.x + 6, self.top - 22),
                (f"{low:.0f} g", self.x + 6, self.y + 4),
                (f"-{seconds:.0f} s", self.x + 80, self.y + 4),
            ):
                texture = text_texture(text, 14)
                Color(*fg)
                Rectangle(texture=texture, pos=(x, y), size=texture.size)


class CameraPreview(Widget):  # type: ignore[misc]
    """The newest frame of a camera with the basket region (ROI) drawn over it."""

    roi = ListProperty([0.0, 0.0, 1.0, 1.0])
    has_frame = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        """Nothing shown until :meth:`show` gets a frame."""
        super().__init__(**kwargs)
        self._texture: Texture | None = None
        self.bind(size=self._draw, pos=self._draw, roi=self._draw)

    def show(self, image: Any) -> None:
        """Show a BGR ``numpy`` image (height × width × 3)."""
        h, w = int(image.shape[0]), int(image.shape[1])
        if self._texture is None or tuple(self._texture.size) != (w, h):
            self._texture = Texture.create(size=(w, h), colorfmt="bgr")
            self._texture.flip_vertical()
        self._texture.blit_buffer(image.tobytes(), colorfmt="bgr", bufferfmt="ubyte")
        self.has_frame = True
        self._draw()

    def _draw(self, *_: Any) -> None:
        self.canvas.clear()
        if self._texture is None:
            return
        tw, th = self._texture.size
        scale = min(self.width / tw, self.height / th)
        w, h = tw * scale, th * scale
        x, y = self.x + (self.width - w) / 2, self.y + (self.height - h) / 2
        rx, ry, rw, rh = self.roi
        with self.canvas:
            Color(1, 1, 1, 1)
            Rectangle(texture=self._texture, pos=(x, y), size=(w, h))
            Color(1.0, 0.86, 0.0, 1)
            # ROI is (x, y, w, h) as fractions from the image's top-left corner.
            Line(rectangle=(x + rx * w, y + (1 - ry - rh) * h, rw * w, rh * h), width=3)


class Keyboard(GridLayout):  # type: ignore[misc]
    """An on-screen keyboard for product search (the cart has no physical one)."""

    __events__ = ("on_key",)
    ROWS = ("1234567890", "qwertyuiopå", "asdfghjklöä", "zxcvbnm")

    def __init__(self, **kwargs: Any) -> None:
        """Build the keys; each press dispatches ``on_key`` with its character."""
        super().__init__(**kwargs)
        self.cols = 1
        self.spacing = 6
        for row in self.ROWS:
            line = GridLayout(rows=1, spacing=6)
            for char in row:
                line.add_widget(self._key(char, char))
            if row == self.ROWS[-1]:
                line.add_widget(self._key("space", " ", "␣"))
                line.add_widget(self._key("back", "\b", "⌫"))
                line.add_widget(self._key("clear", "\x1b", "✕"))
            self.add_widget(line)

    def _key(self, name: str, value: str, label: str | None = None) -> Button:
        key = KeyButton(text=label or value.upper(), key_name=name)
        key.bind(on_release=lambda *_: self.dispatch("on_key", value))
        return key

    def on_key(self, value: str) -> None:
        """Default handler: nothing."""


class KeyButton(Button):  # type: ignore[misc]
    """One key of :class:`Keyboard` (styled in theme.kv)."""

    key_name = StringProperty("")
    base_font = NumericProperty(24)
