"""The welcome screen and which screen the shopper sees: start, language, bags, scanned codes.

Codes scanned at the welcome screen (by the basket scanner, passed to the UI by the app):

- ``SCAPP:<member id>[;list=SKU,SKU,...]`` — the store app's code: starts the trip and loads
  the shopping list;
- ``SCSTAFF:<badge id>`` — a staff badge: opens maintenance once the store verifies it;
- ``SB1:<signed badge>`` — a staff badge signed by the store: checked on the cart, offline;
- any other code — a loyalty card number: starts the trip.

Privacy: the ledger (and so the audit screen and diagnostics) says *how* a trip started, never
*who* started it: neither the loyalty card number nor the app's member id is recorded.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from cart_app.events import StartSession
from cart_app.session import SessionState
from cart_app.store.badge import BADGE_PREFIX
from ui.i18n import Translator

APP_PREFIX = "SCAPP:"
STAFF_PREFIX = "SCSTAFF:"
_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_CODE = 2000


class Screen(enum.StrEnum):
    """The screens of the app."""

    WELCOME = "welcome"
    BASKET = "basket"
    MAP = "map"
    SEARCH = "search"
    CHECKOUT = "checkout"
    HANDOFF = "handoff"
    LOCKED = "locked"
    STAFF_LOGIN = "staff_login"
    MAINTENANCE = "maintenance"


SHOPPING_TABS = frozenset({Screen.BASKET, Screen.MAP, Screen.SEARCH})


class CodeKind(enum.StrEnum):
    """What a scanned code at the welcome screen is."""

    APP = "app"
    STAFF = "staff"
    SIGNED_BADGE = "signed_badge"
    LOYALTY = "loyalty"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class ScannedCode:
    """A code read at the welcome screen, classified."""

    kind: CodeKind
    ident: str
    shopping_list: tuple[str, ...] = ()


def classify_code(text: str) -> ScannedCode:
    """Sort a scanned code into app code, staff badge, loyalty card or invalid."""
    text = text.strip()
    if not text or len(text) > MAX_CODE:
        return ScannedCode(CodeKind.INVALID, "")
    if text.startswith(BADGE_PREFIX):
        return ScannedCode(CodeKind.SIGNED_BADGE, text)
    if text.startswith(STAFF_PREFIX):
        badge = text[len(STAFF_PREFIX) :]
        return ScannedCode(CodeKind.STAFF if _ID.match(badge) else CodeKind.INVALID, badge)
    if text.startswith(APP_PREFIX):
        member, _, rest = text[len(APP_PREFIX) :].partition(";")
        if not _ID.match(member):
            return ScannedCode(CodeKind.INVALID, "")
        skus: tuple[str, ...] = ()
        if rest.startswith("list="):
            skus = tuple(s for s in rest[len("list=") :].split(",") if _ID.match(s))
        return ScannedCode(CodeKind.APP, member, skus)
    if _ID.match(text):
        return ScannedCode(CodeKind.LOYALTY, text)
    return ScannedCode(CodeKind.INVALID, "")


def screen_for(state: SessionState, tab: Screen, staff: bool) -> Screen:
    """The screen to show for the session's ``state``, the shopper's ``tab`` while shopping,
    and whether staff have maintenance open."""
    if staff:
        return Screen.MAINTENANCE
    if tab is Screen.STAFF_LOGIN:
        return Screen.STAFF_LOGIN
    match state:
        case SessionState.IDLE:
            return Screen.WELCOME
        case SessionState.SHOPPING:
            return tab if tab in SHOPPING_TABS else Screen.BASKET
        case SessionState.CHECKOUT:
            return Screen.CHECKOUT
        case SessionState.HANDED_OFF | SessionState.DONE:
            return Screen.HANDOFF
        case SessionState.LOCKED | SessionState.MAINTENANCE:
            return Screen.LOCKED


@dataclass(frozen=True, slots=True)
class WelcomeView:
    """The welcome screen's texts and language buttons."""

    title: str
    subtitle: str
    start: str
    bags: str
    scan_hint: str
    languages: tuple[tuple[str, str, bool], ...]
    """``(code, name, selected)`` per shipped language."""
    message: str


class SessionVM:
    """Starting a trip (tap, bags, scanned code) and the language."""

    def __init__(self, tr: Translator, store_name: str) -> None:
        """Texts in ``tr``'s language; ``store_name`` greets the shopper."""
        self._tr = tr
        self._store = store_name
        self._message = ""
        self.view = self._build()

    def set_language(self, code: str) -> WelcomeView:
        """Switch every screen's language."""
        self._tr.set_language(code)
        self.view = self._build()
        return self.view

    def start(self) -> StartSession:
        """The shopper tapped "Start shopping"."""
        return StartSession(reason="shopper tapped start")

    def start_with_bags(self) -> StartSession:
        """The shopper brought bags: start, and expect them to be weighed in first."""
        return StartSession(reason="shopper tapped start (own bags)")

    def scanned(self, code: ScannedCode) -> StartSession | None:
        """A loyalty or app code starts the trip; anything else only shows a message."""
        if code.kind is CodeKind.APP:
            return StartSession(reason="store app code")
        if code.kind is CodeKind.LOYALTY:
            return StartSession(reason="loyalty card")
        if code.kind is CodeKind.INVALID:
            self._message = self._tr("welcome.bad_code")
            self.view = self._build()
        return None

    def clear_message(self) -> None:
        """Forget the last message."""
        self._message = ""
        self.view = self._build()

    def _build(self) -> WelcomeView:
        tr = self._tr
        return WelcomeView(
            title=tr("welcome.title"),
            subtitle=tr("welcome.subtitle", store=self._store),
            start=tr("welcome.start"),
            bags=tr("welcome.bags"),
            scan_hint=tr("welcome.scan_hint"),
            languages=tuple((code, name, code == tr.language) for code, name in tr.languages()),
            message=self._message,
        )
