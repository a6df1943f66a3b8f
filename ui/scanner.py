"""The basket's USB barcode scanner: it types the code and Enter, like a keyboard.

:class:`KeyboardWedge` collects the characters the window receives and hands over the code
when Enter comes. No Kivy here: the app feeds it from ``Window.on_textinput`` and
``on_key_down`` (``ui.app``), tests feed it directly. A developer can type a code and Enter on
the laptop's keyboard to "scan" it.

Characters that sat in the buffer longer than :data:`STALE_S` before the next one are dropped:
a scanner types a code in a few milliseconds, so such a remnant is a stray key press, not the
start of this code. The clock is injected; tests never wait.

:func:`product_gtin` says whether a code can be a product's (a GTIN with a valid check digit);
the controller (:meth:`ui.controller.CartUi.code_scanned`) decides what a scanned code does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

from ui.viewmodels.session import MAX_CODE
from vision.gtin import InvalidGtin, normalize_gtin

STALE_S: Final = 2.0
SYMBOLOGY: Final = "keyboard"
"""What a code typed by the scanner is recorded as (it does not say its symbology)."""


def product_gtin(code: str) -> str | None:
    """The code as a GTIN-14 when it can be a product's (check digit verified), else None."""
    try:
        return normalize_gtin(code.strip())
    except InvalidGtin:
        return None


class KeyboardWedge:
    """Keyboard input into codes: characters, then Enter."""

    def __init__(
        self,
        on_code: Callable[[str], None],
        monotonic: Callable[[], float] = time.monotonic,
        stale_s: float = STALE_S,
    ) -> None:
        """``on_code`` gets each code (stripped, never empty) on the thread that fed it."""
        self._on_code = on_code
        self._now = monotonic
        self._stale_s = stale_s
        self._buffer: list[str] = []
        self._last = 0.0

    @property
    def pending(self) -> str:
        """What was typed since the last Enter."""
        return "".join(self._buffer)

    def text(self, chars: str) -> None:
        """Printable characters typed (``Window.on_textinput``)."""
        now = self._now()
        if self._buffer and now - self._last > self._stale_s:
            self._buffer.clear()
        self._last = now
        for char in chars:
            if char in "\r\n":
                self.enter()
            elif char.isprintable() and len(self._buffer) < MAX_CODE:
                self._buffer.append(char)

    def enter(self) -> None:
        """Enter: the code is complete."""
        code = "".join(self._buffer).strip()
        self._buffer.clear()
        if code:
            self._on_code(code)

    def reset(self) -> None:
        """Forget a half-typed code."""
        self._buffer.clear()
