"""The scrolling lists' rows under Xvfb (``ui/rows.py``): a row keeps its view when the data
changes, the layout shows exactly the rows in view with their own data whatever the data does,
spare views built ahead serve the first rows, and every screen is sized (and primed) before it
is first shown.

Uses the session's app window (one Kivy window per process); each list test adds its own list
to the window and takes it away again.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import KivyHarness

pytestmark = pytest.mark.ui

ROW_H = 50
LIST_H = 400  # eight rows and a bit in view


def probe_class() -> Any:
    """A one-label row that counts its instances and its texture renders."""
    from kivy.uix.label import Label

    class RowProbe(Label):  # type: ignore[misc]
        built = 0
        renders = 0

        def __init__(self, **kwargs: Any) -> None:
            type(self).built += 1
            super().__init__(**kwargs)

        def texture_update(self, *args: Any) -> None:
            type(self).renders += 1
            super().texture_update(*args)

    return RowProbe


def list_on_window(probe: Any, **options: Any) -> Any:
    """A ClipRecycleView (KeepingAdapter) of ``probe`` rows over a KeepingBoxLayout, added to
    the window at its bottom left."""
    from kivy.core.window import Window

    from ui.clipping import ClipRecycleView
    from ui.rows import KeepingBoxLayout

    rv = ClipRecycleView(size_hint=(None, None), size=(300, LIST_H), pos=(0, 0), **options)
    layout = KeepingBoxLayout(
        orientation="vertical",
        default_size=(None, ROW_H),
        default_size_hint=(1, None),
        size_hint_y=None,
    )
    layout.bind(minimum_height=layout.setter("height"))
    rv.add_widget(layout)
    rv.viewclass = probe  # once the layout is in: the view class is the layout's
    Window.add_widget(rv)
    return rv


@pytest.fixture(params=["", "id"])
def rows_list(kivy_app: KivyHarness, request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any]]:
    """A ClipRecycleView (KeepingAdapter) over a KeepingBoxLayout, on the window; rows kept
    by index (no key) and by their ``id`` field."""
    from kivy.core.window import Window

    probe = probe_class()
    rv = list_on_window(probe, row_key=request.param)
    kivy_app.pump(2)
    try:
        yield rv, probe
    finally:
        Window.remove_widget(rv)
        kivy_app.pump(1)


def data(texts: list[str]) -> list[dict[str, Any]]:
    """Rows whose ``id`` is their text's first word (``line 3`` and ``line 3 × 2`` are one row)."""
    return [{"text": t, "id": t.split()[0] if " " in t else t} for t in texts]


def shown(rv: Any) -> dict[int, Any]:
    """Index → view for the rows in the layout, checked to be exactly the adapter's views."""
    layout = rv.layout_manager
    views = dict(rv.view_adapter.views)
    assert set(layout.children) == set(views.values()), "a row in the layout is not in view"
    assert len(set(map(id, views.values()))) == len(views), "one view shows two rows"
    return views


def fill(kivy_app: KivyHarness, rv: Any, rows: int) -> list[str]:
    """Give the list ``rows`` rows (``line0``, ``line1``, ...) and let it show them."""
    texts = [f"line{i}" for i in range(rows)]
    rv.data = data(texts)
    kivy_app.pump(3)
    return texts


def test_a_row_keeps_its_view_and_only_changed_texts_render(
    kivy_app: KivyHarness, rows_list: tuple[Any, Any]
) -> None:
    rv, probe = rows_list
    texts = fill(kivy_app, rv, 20)
    before = shown(rv)
    assert sorted(before)[:8] == list(range(8))  # the top of the list is in view
    renders = probe.renders

    # What the basket does on every snapshot: a new list, one line changed, one more at the end.
    texts[2] = "line2 × 2"
    rv.data = data([*texts, "line20"])
    kivy_app.pump(3)
    after = shown(rv)
    assert after.keys() == before.keys()
    assert all(after[i] is before[i] for i in before), "rows moved to other views"
    assert [after[i].text for i in sorted(after)] == [texts[i] for i in sorted(after)]
    # Kivy's own layout hands every view another row's data here (each label renders again).
    assert probe.renders - renders == 1


@pytest.mark.parametrize("rows_list", ["id"], indirect=True)
def test_a_keyed_row_keeps_its_view_when_a_row_above_goes(
    kivy_app: KivyHarness, rows_list: tuple[Any, Any]
) -> None:
    rv, probe = rows_list
    texts = fill(kivy_app, rv, 20)
    before = {view.text: view for view in shown(rv).values()}
    renders = probe.renders

    del texts[1]  # a line taken out: every row below moves up one
    rv.data = data(texts)
    kivy_app.pump(3)
    after = shown(rv)
    assert [after[i].text for i in sorted(after)] == [texts[i] for i in sorted(after)]
    assert all(view is before[view.text] for view in after.values() if view.text in before)
    # Only the row that scrolled into view at the bottom renders (by index: all of them).
    newcomers = sum(1 for view in after.values() if view.text not in before)
    assert newcomers == 1
    assert probe.renders - renders == newcomers


def test_rows_shown_always_match_the_data(
    kivy_app: KivyHarness, rows_list: tuple[Any, Any]
) -> None:
    rv, _probe = rows_list
    rng = random.Random(5)
    texts = [f"a{i}" for i in range(15)]
    for step in range(40):
        action = rng.choice(["shrink", "grow", "edit", "scroll", "empty"])
        if action == "shrink" and texts:
            del texts[rng.randrange(len(texts)) :]
        elif action == "grow":
            texts += [f"s{step}-{i}" for i in range(rng.randint(1, 12))]
        elif action == "edit" and texts:
            texts[rng.randrange(len(texts))] = f"edited {step}"
        elif action == "scroll":
            rv.scroll_y = rng.random()
        elif action == "empty":
            texts = []
        rv.data = data(list(texts))
        kivy_app.pump(3)
        views = shown(rv)
        assert all(0 <= i < len(texts) for i in views), (step, action)
        assert all(view.text == texts[i] for i, view in views.items()), (step, action)
        if texts:
            in_view = min(len(texts), LIST_H // ROW_H)
            assert len(views) >= in_view, (step, action, len(views), in_view)
            tops = sorted((view.y, i) for i, view in views.items())
            assert [i for _y, i in tops] == sorted(views, reverse=True)  # in order, top down


def test_spare_rows_serve_the_first_rows(kivy_app: KivyHarness) -> None:
    from kivy.core.window import Window

    probe = probe_class()
    rv = list_on_window(probe, prebuild=True)
    try:
        kivy_app.pump(40)
        spares = len(rv.view_adapter.spares[probe])
        # Enough to fill the window's height at the smallest row height, built one per frame.
        assert spares == Window.height // ROW_H + 1
        assert probe.built == spares
        rv.data = data([f"line {i}" for i in range(6)])
        kivy_app.pump(3)
        assert len(shown(rv)) == 6
        assert probe.built == spares  # the rows took spares; none was built for them
        assert len(rv.view_adapter.spares[probe]) == spares - 6
    finally:
        Window.remove_widget(rv)
        kivy_app.pump(1)


def test_every_screen_is_sized_before_it_is_shown(kivy_app: KivyHarness) -> None:
    sm = kivy_app.app.sm
    for screen in sm.screens:
        assert tuple(screen.size) == tuple(sm.size), screen.name
        assert tuple(screen.pos) == tuple(sm.pos), screen.name


def test_the_screens_a_trip_visits_are_primed_unseen(kivy_app: KivyHarness, tmp_path: Path) -> None:
    from kivy.core.window import Window
    from PIL import Image, ImageChops

    from ui.priming import PRIMED_SCREENS

    h = kivy_app
    h.back_to_welcome()
    h.pump(5)
    # The search screen has no view of its own (it shows the map's search results).
    hidden = [s.value for s in PRIMED_SCREENS if s.value != "search"]
    assert len(hidden) == len(PRIMED_SCREENS) - 1
    for name in hidden:
        h.screen(name).view = None
    before = list(Window.canvas.children)
    plain = Image.open(Window.screenshot(name=str(tmp_path / "plain.png"))).convert("RGB")

    primer = h.app._prime_screens()
    underdrawn = 0
    for _ in range(4 * len(PRIMED_SCREENS)):
        if primer.done:
            break
        h.pump(1)
        if Window.canvas.children[0] not in before:  # a screen drawn underneath this frame
            underdrawn += 1
            shot = Window.screenshot(name=str(tmp_path / f"under{underdrawn}.png"))
            seen = Image.open(shot).convert("RGB")
            assert ImageChops.difference(plain, seen).getbbox() is None, "the primed screen shows"
    assert primer.done
    assert underdrawn == len(PRIMED_SCREENS)
    assert list(Window.canvas.children) == before  # nothing left in the window's drawing
    assert h.shown() == "welcome"
    assert all(h.screen(name).view is not None for name in hidden)
