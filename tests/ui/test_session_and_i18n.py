"""Scanned codes, which screen shows when, and the translation catalogues."""

from __future__ import annotations

import json
import logging

import pytest

from cart_app.events import StartSession
from cart_app.session import SessionState
from ui.i18n import FALLBACK, Translator, load_catalogues, placeholders
from ui.viewmodels.session import CodeKind, Screen, SessionVM, classify_code, screen_for


@pytest.mark.parametrize(
    ("text", "kind", "ident", "items"),
    [
        ("SCAPP:member-17", CodeKind.APP, "member-17", ()),
        ("SCAPP:m1;list=D-MILK-STD,FV-BANANA", CodeKind.APP, "m1", ("D-MILK-STD", "FV-BANANA")),
        ("SCAPP:m1;list=D-MILK-STD,bad sku!", CodeKind.APP, "m1", ("D-MILK-STD",)),
        ("SCSTAFF:badge-0042", CodeKind.STAFF, "badge-0042", ()),
        ("SCSTAFF:", CodeKind.INVALID, "", ()),
        ("7350012345678", CodeKind.LOYALTY, "7350012345678", ()),
        ("  ", CodeKind.INVALID, "", ()),
        ("SCAPP:a b", CodeKind.INVALID, "", ()),
        ("x" * 3000, CodeKind.INVALID, "", ()),
        ("<script>", CodeKind.INVALID, "", ()),
    ],
)
def test_classify_code(text: str, kind: CodeKind, ident: str, items: tuple[str, ...]) -> None:
    code = classify_code(text)
    assert (code.kind, code.ident, code.shopping_list) == (kind, ident, items)


@pytest.mark.parametrize(
    ("state", "tab", "staff", "screen"),
    [
        (SessionState.IDLE, Screen.BASKET, False, Screen.WELCOME),
        (SessionState.SHOPPING, Screen.BASKET, False, Screen.BASKET),
        (SessionState.SHOPPING, Screen.MAP, False, Screen.MAP),
        (SessionState.SHOPPING, Screen.SEARCH, False, Screen.SEARCH),
        (SessionState.SHOPPING, Screen.CHECKOUT, False, Screen.BASKET),
        (SessionState.CHECKOUT, Screen.MAP, False, Screen.CHECKOUT),
        (SessionState.HANDED_OFF, Screen.BASKET, False, Screen.HANDOFF),
        (SessionState.DONE, Screen.BASKET, False, Screen.HANDOFF),
        (SessionState.LOCKED, Screen.BASKET, False, Screen.LOCKED),
        (SessionState.MAINTENANCE, Screen.BASKET, False, Screen.LOCKED),
        (SessionState.LOCKED, Screen.STAFF_LOGIN, False, Screen.STAFF_LOGIN),
        (SessionState.SHOPPING, Screen.STAFF_LOGIN, True, Screen.MAINTENANCE),
        (SessionState.IDLE, Screen.BASKET, True, Screen.MAINTENANCE),
    ],
)
def test_screen_for(state: SessionState, tab: Screen, staff: bool, screen: Screen) -> None:
    assert screen_for(state, tab, staff) is screen


def test_session_vm_starts_and_switches_language() -> None:
    tr = Translator("en")
    vm = SessionVM(tr, "Demobutiken")
    assert vm.view.subtitle == "Shop with the smart cart at Demobutiken"
    assert vm.view.languages == (("en", "English", True), ("sv", "Svenska", False))
    assert isinstance(vm.start(), StartSession)
    # The member id is not kept: the ledger says how a trip started, not who started it.
    assert vm.scanned(classify_code("SCAPP:m1")) == StartSession(reason="store app code")
    assert vm.scanned(classify_code("SCSTAFF:b1")) is None
    assert vm.scanned(classify_code("<bad>")) is None
    assert vm.view.message == "That code is not a loyalty card or store app code."
    view = vm.set_language("sv")
    assert view.start == "Börja handla"
    assert view.languages[1] == ("sv", "Svenska", True)


def test_every_key_is_in_every_language_with_the_same_placeholders() -> None:
    catalogues = load_catalogues()
    assert set(catalogues) >= {"en", "sv"}
    english = catalogues[FALLBACK]
    for code, texts in catalogues.items():
        assert set(texts) == set(english), f"{code}: {sorted(set(texts) ^ set(english))}"
        for key, text in texts.items():
            assert text.strip(), f"{code}.{key} is empty"
            assert placeholders(text) == placeholders(english[key]), f"{code}.{key}"


def test_every_key_used_in_the_code_exists() -> None:
    """Literal keys in ``ui`` (Python and .kv) are all in the English catalogue."""
    import re
    from pathlib import Path

    import ui

    english = load_catalogues()[FALLBACK]
    root = Path(ui.__file__).parent
    pattern = re.compile(r"""\b(?:tr|_tr|t)\(\s*["']([a-z_]+(?:\.[a-z_]+)+)["']""")
    used: set[str] = set()
    for path in [*root.rglob("*.py"), *root.rglob("*.kv")]:
        used |= set(pattern.findall(path.read_text(encoding="utf-8")))
    assert used, "the pattern found no keys"
    assert used <= set(english), sorted(used - set(english))


def test_fallbacks(caplog: pytest.LogCaptureFixture) -> None:
    tr = Translator("sv", {"en": {"a": "A {n}", "b": "B"}, "sv": {"a": "Å {m}"}})
    with caplog.at_level(logging.WARNING):
        assert tr("b") == "B"  # missing in Swedish: English
        assert tr("nope") == "nope"  # missing everywhere: the key
        assert tr("a", n=1) == "A 1"  # broken Swedish placeholder: the English text
    assert Translator("xx").language == "en"


def test_catalogues_are_valid_json_files() -> None:
    from pathlib import Path

    import ui.i18n

    for path in Path(ui.i18n.__file__).parent.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        assert data["_language_name"]
