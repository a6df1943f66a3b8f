"""Rendered label texts kept and shared (``ui/text_cache.py``), under Xvfb with the session's
app (which installs the cache): equal texts share one texture with the right pixels, even when
the label that rendered it moved on before it was drawn; another colour or wrapping is another
texture; the cache keeps to its pixel budget.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.conftest import KivyHarness
from ui.text_cache import CachedText, TextCache, text_key

pytestmark = pytest.mark.ui


class FakeTexture:
    def __init__(self, width: int, height: int) -> None:
        self.size = (width, height)


def test_the_cache_keeps_to_its_pixel_budget_least_recently_used_out() -> None:
    cache = TextCache(max_pixels=1_000)
    for name in ("a", "b", "c"):
        cache.put(name, CachedText(FakeTexture(20, 15), False))  # 300 px each
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("d", CachedText(FakeTexture(20, 15), False))  # 1,200 px: b goes
    assert cache.get("b") is None
    assert [cache.get(k) is not None for k in ("a", "c", "d")] == [True, True, True]
    assert (cache.hits, cache.misses) == (4, 1)


def test_the_key_tells_apart_everything_that_changes_the_pixels() -> None:
    options = {"font_size": 19.0, "color": [0, 0, 0, 1], "padding": [0, 0, 0, 0]}
    key = text_key("Mjölk", (300, None), options)
    assert key == text_key("Mjölk", [300, None], dict(options))
    assert key != text_key("Mjölk ", (300, None), options)
    assert key != text_key("Mjölk", (200, None), options)
    assert key != text_key("Mjölk", (300, None), {**options, "color": [1, 0, 0, 1]})
    assert key != text_key("Mjölk", (300, None), {**options, "bold": True})


def ink(texture: Any) -> int:
    """How many of the texture's pixels the text covers (alpha above zero)."""
    texture.bind()  # render it if Kivy has not yet
    data: bytes = texture.pixels
    return sum(1 for alpha in data[3::4] if alpha)


def reference_ink(text: str, **options: Any) -> int:
    """The ink of the text rendered by a label of its own (outside the app's cache)."""
    from kivy.uix.label import Label

    shared = Label._smartcart_text_cache
    Label._smartcart_text_cache = TextCache()
    try:
        label = Label(text=text, **options)
        label.texture_update()
        return ink(label.texture)
    finally:
        Label._smartcart_text_cache = shared


def test_equal_texts_share_a_texture_with_the_text_drawn(kivy_app: KivyHarness) -> None:
    from kivy.uix.label import Label

    style: dict[str, Any] = {"font_size": 23, "color": (0, 0, 0, 1)}
    first = Label(text="Äpple Royal Gala", **style)
    first.texture_update()
    kept = first.texture
    # The first label moves on before its texture was ever drawn (Kivy renders on first draw):
    # the kept texture must still get the text it was kept for.
    first.text = "Kiwi"
    first.texture_update()
    assert first.texture is not kept
    second = Label(text="Äpple Royal Gala", **style)
    second.texture_update()
    assert second.texture is kept
    assert tuple(second.texture_size) == tuple(kept.size)
    # Kivy's own measurement of a text can differ by a pixel or two with what was rendered
    # before it, so the ink is compared, not the bytes.
    assert ink(kept) == pytest.approx(reference_ink("Äpple Royal Gala", **style), rel=0.1)
    assert ink(first.texture) == pytest.approx(reference_ink("Kiwi", **style), rel=0.1)
    assert ink(first.texture) < ink(kept) / 2

    # A next text of the very same size (digits are equally wide): Kivy would render it into the
    # label's texture in place, that is into the kept one.
    ones = Label(text="1111", **style)
    ones.texture_update()
    kept_ones = ones.texture
    ones.text = "8888"
    ones.texture_update()
    assert ones.texture is not kept_ones and ones.texture.size == kept_ones.size
    assert ink(kept_ones) == pytest.approx(reference_ink("1111", **style), rel=0.1)
    assert ink(ones.texture) == pytest.approx(reference_ink("8888", **style), rel=0.1)
    assert ink(ones.texture) > 1.3 * ink(kept_ones)

    red = Label(text="Äpple Royal Gala", font_size=23, color=(1, 0, 0, 1))
    red.texture_update()
    assert red.texture is not kept
    wrapped = Label(text="Äpple Royal Gala", text_size=(80, None), **style)
    wrapped.texture_update()
    assert wrapped.texture is not kept and wrapped.texture.size[1] > kept.size[1]
