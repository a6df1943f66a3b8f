"""Rendered label texts, kept and shared: a label showing a text it (or any label) showed before,
in the same font, size, colour, wrapping and alignment, takes the texture already rendered.

Kivy renders a label's text again whenever the text or a text option changes, even back to one
it showed a moment ago. The cart shows the same texts over and over: the question's title and
buttons, the basket's prices and quantities as rows move, "Items: 12". A question opening
rendered 30–40 textures, about 15 ms of the Kivy thread's frame (``python -m bench.ui_bench
--worst 8``); most of them are texts an earlier question had.

The key is the text with every option Kivy renders it with (the core label's ``options``, its
``usersize`` for wrapping), so an equal key renders equal pixels. Kivy renders a texture when it
is first drawn (a label that is never drawn, on a covered screen say, costs nothing), from its
core label's state at that moment: a kept texture is handed a copy of that state as it was, and
the label lets go of it, so no later text of that label is drawn into a kept texture.
Markup labels are left alone (their references and anchors come from rendering). The cache
holds at most ``max_pixels`` texture pixels, least recently used first out.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

MAX_PIXELS = 8_000_000
"""About 32 MB of RGBA textures: every text of the cart's screens many times over."""


@dataclass(frozen=True, slots=True)
class CachedText:
    """A rendered text: its texture and whether the text was shortened to fit."""

    texture: Any
    shortened: bool


def _frozen(value: Any) -> Hashable:
    if isinstance(value, list | tuple):
        return tuple(_frozen(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    return value  # type: ignore[no-any-return]


def text_key(text: str, usersize: Any, options: dict[str, Any]) -> Hashable:
    """What decides a label's pixels: the text, the wrapping box and every render option."""
    return (text, _frozen(usersize), _frozen(options))


class TextCache:
    """Rendered texts by :func:`text_key`, least recently used first out past ``max_pixels``."""

    def __init__(self, max_pixels: int = MAX_PIXELS) -> None:
        self.max_pixels = max_pixels
        self._entries: OrderedDict[Hashable, CachedText] = OrderedDict()
        self._pixels = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> CachedText | None:
        """The text rendered under ``key``, or None (counted as a hit or a miss)."""
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return found

    def put(self, key: Hashable, entry: CachedText) -> None:
        """Keep ``entry``; drop the least recently used past the pixel budget."""
        old = self._entries.pop(key, None)
        if old is not None:
            self._pixels -= _pixels(old)
        self._entries[key] = entry
        self._pixels += _pixels(entry)
        while self._pixels > self.max_pixels and len(self._entries) > 1:
            _key, dropped = self._entries.popitem(last=False)
            self._pixels -= _pixels(dropped)


def _copied(value: Any) -> Any:
    return list(value) if isinstance(value, list) else value


def _pixels(entry: CachedText) -> int:
    width, height = entry.texture.size
    return int(width) * int(height)


def install(cache: TextCache) -> None:
    """Make every Kivy ``Label`` (buttons included) render through ``cache``.

    Called once by the app when it builds its screens (a later call swaps the cache).
    """
    from kivy.core.text.markup import MarkupLabel
    from kivy.uix.label import Label

    if getattr(Label, "_smartcart_text_cache", None) is not None:
        Label._smartcart_text_cache = cache
        return
    original = Label.texture_update

    def texture_update(self: Any, *largs: Any) -> None:
        core = self._label
        text = core.text
        shared: TextCache = Label._smartcart_text_cache
        if isinstance(core, MarkupLabel) or not text or not text.strip():
            original(self, *largs)
            return
        key = text_key(text, core.usersize, core.options)
        found = shared.get(key)
        if found is None:
            original(self, *largs)
            texture = core.texture
            if texture is None or texture is core.texture_1px:
                return
            # Rendered on first draw from a copy of the label's state now, not from whatever
            # text the label has by then; the label's next text gets a texture of its own.
            frozen = copy.copy(core)
            frozen.options = {k: _copied(v) for k, v in core.options.items()}
            frozen.texture = texture
            texture.ask_update(frozen._texture_fill)
            core.texture = None
            shared.put(key, CachedText(texture, bool(self.is_shortened)))
            return
        self.texture = None
        self.texture = found.texture
        self.texture_size = list(found.texture.size)
        self.is_shortened = found.shortened

    Label._smartcart_text_cache = cache
    Label.texture_update = texture_update
