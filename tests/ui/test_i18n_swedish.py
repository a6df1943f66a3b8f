"""Every UI string is translated: the catalogues agree, Swedish has no English left, and the
view-models that write device health, calibration, the audit log and the tools speak Swedish."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

from cart_app.catalog import Catalog
from cart_app.clock import FakeClock
from cart_app.store.link import LinkState, LinkStatus
from ui.i18n import FALLBACK, Translator, load_catalogues, placeholders
from ui.viewmodels.calibration import CalibrationVM
from ui.viewmodels.devpanel import DevPanelVM
from ui.viewmodels.enrolment import EnrolmentVM
from ui.viewmodels.health import HealthVM
from ui.viewmodels.keypad import BudgetDialogVM

UNITS = re.compile(r"\{[a-z_]+\}|\b(?:g|kg|s|kr|GB|fps)\b|[^A-Za-zÅÄÖåäöéü]")
"""Placeholders, units and symbols: what may stay the same in every language."""


def words(text: str) -> str:
    """The words of ``text`` that a translation must change (placeholders and units removed)."""
    return UNITS.sub("", text)


def test_english_and_swedish_have_the_same_keys_and_placeholders() -> None:
    catalogues = load_catalogues()
    english, swedish = catalogues[FALLBACK], catalogues["sv"]
    assert set(english) == set(swedish), sorted(set(english) ^ set(swedish))
    for key, text in english.items():
        assert placeholders(swedish[key]) == placeholders(text), key


def test_no_english_is_left_in_swedish() -> None:
    catalogues = load_catalogues()
    english, swedish = catalogues[FALLBACK], catalogues["sv"]
    untranslated = [
        key
        for key, text in english.items()
        if key != "_language_name" and words(text) and swedish[key] == text
    ]
    assert untranslated == []


def differs(en: str, sv: str) -> bool:
    """A Swedish text is a translation: different wherever the English one has words."""
    return not words(en) or en != sv


def health(tr: Translator, tmp_path: Path, clock: FakeClock) -> HealthVM:
    sample = SimpleNamespace(t=1.0, grams=812.5)
    scale = SimpleNamespace(
        status=lambda: SimpleNamespace(state="ok", reason="frames arrive", last_sample=sample)
    )
    camera = SimpleNamespace(
        name="cam-top",
        stats=lambda: SimpleNamespace(
            camera_id="top", state="running", fps=14.8, frames=900, drops=3, last_error=None
        ),
    )
    link = LinkStatus(LinkState.DEGRADED, "HTTP 503", 0.0, 4)
    return HealthVM(
        cameras=[camera],
        scale=scale,
        link=lambda: link,
        data_dir=tmp_path,
        battery=lambda: (55, "Discharging"),
        monotonic=clock.monotonic,
        tr=tr,
    )


def test_device_health_in_swedish(tmp_path: Path, clock: FakeClock) -> None:
    en = health(Translator("en"), tmp_path, clock).poll()
    sv = health(Translator("sv"), tmp_path, clock).poll()
    for row_en, row_sv in zip(en.rows, sv.rows, strict=True):
        for field in ("name", "state", "detail"):
            a, b = getattr(row_en, field), getattr(row_sv, field)
            assert differs(a, b), f"{row_en.name}.{field}: {b!r} is English"
    rows = {r.name: r for r in sv.rows}
    assert rows["kamera top"].detail == "14,8 bilder/s, 900 bilder, 3 tappade"
    assert (rows["våg"].state, rows["våg"].detail) == ("i ordning", "viktdata kommer in")
    assert rows["butik"].detail == "HTTP 503; 4 väntar på att skickas"  # the link's own words
    assert rows["batteri"].detail == "55 %, laddas ur"
    assert sv.weight == "812,5 g"
    # The language follows the controller's switches.
    vm = health(Translator("en"), tmp_path, clock)
    vm.use_translator(Translator("sv"))
    assert vm.poll().rows[1].name == "våg"


def test_calibration_in_swedish() -> None:
    def views(tr: Translator) -> list[str]:
        vm = CalibrationVM(available=True, capture=lambda: (), apply=lambda c: "/x", tr=tr)
        out = [vm.view.reference]
        vm.start()
        out += [vm.view.progress, vm.view.step]
        off = CalibrationVM(available=False, tr=tr)
        return [*out, off.view.message]

    for en, sv in zip(views(Translator("en")), views(Translator("sv")), strict=True):
        assert differs(en, sv), sv
    assert views(Translator("sv"))[1:3] == ["steg 1 av 5", "Töm korgen och rör den inte."]


def test_the_tools_in_swedish(demo_catalog: Catalog) -> None:
    def texts(tr: Translator) -> list[str]:
        budget = BudgetDialogVM("SEK", tr)
        budget.open(None)
        budget.confirm()
        dev = DevPanelVM(None, (), tr)
        enrol = EnrolmentVM(demo_catalog, tr)
        return [
            budget.view.title,
            budget.view.message,
            dev.view.product,
            dev.view.shortcuts,
            enrol.view.note,
            enrol.view.count,
        ]

    for en, sv in zip(texts(Translator("en")), texts(Translator("sv")), strict=True):
        assert differs(en, sv), sv
