"""The UI's controller: view-models fed by the bridge, and the shopper's and staff's actions.

Plain Python (no Kivy): :class:`CartUi` owns every view-model, receives the bridge's batches
on the Kivy thread, and tells its observers which parts changed; the Kivy screens observe it
and copy the views into widgets. Actions go to the engine with ``submit`` (never waited on);
blocking work (handoff, PIN hash, badge check, audit log, calibration) goes to :class:`Jobs`.
Tests drive a whole trip through this class without a display.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from cart_app.basket import empty_basket
from cart_app.engine import CartSnapshot, EngineEvent
from cart_app.events import Command, CommandRejected, EngineFault, Sensed
from cart_app.ledger import LedgerEntry
from cart_app.session import SessionState
from cart_app.store.contract import BadgeVerifyResult
from cart_app.store.link import HandoffTicket, LinkStatus
from cart_app.store_layout import StoreLayout
from scale.calibration import Calibration
from ui.bridge import Batch, Bridge
from ui.handoff import HandoffPort
from ui.i18n import Translator
from ui.jobs import JobDone, Jobs
from ui.staff_auth import verify_pin
from ui.viewmodels.basket import BasketVM
from ui.viewmodels.calibration import CalibrationVM
from ui.viewmodels.checkout import CheckoutVM
from ui.viewmodels.common import NoThumbnails, ProductSearch, Thumbnails
from ui.viewmodels.health import HealthVM
from ui.viewmodels.maintenance import AuditRow, MaintenanceVM, StaffAuth, audit_rows
from ui.viewmodels.map import MapVM, SearchResultView
from ui.viewmodels.prompt import PromptVM
from ui.viewmodels.session import CodeKind, Screen, SessionVM, classify_code, screen_for

log = logging.getLogger(__name__)

PAID_RESET_S = 45.0
"""A paid cart returns to the welcome screen by itself after this long."""


class Part(enum.StrEnum):
    """What changed, for observers that redraw only their part."""

    BASKET = "basket"
    PROMPT = "prompt"
    MAP = "map"
    SEARCH = "search"
    CHECKOUT = "checkout"
    WELCOME = "welcome"
    SCREEN = "screen"
    STAFF = "staff"
    HEALTH = "health"
    AUDIT = "audit"
    MESSAGE = "message"
    LANGUAGE = "language"


ALL_PARTS = frozenset(Part)


@dataclass(frozen=True, slots=True)
class ScannedText:
    """A code the basket scanner read that is not a product (post it to the bridge)."""

    text: str


class EngineLike(Protocol):
    """What the UI uses of the engine."""

    @property
    def snapshot(self) -> CartSnapshot:
        """The latest snapshot."""
        ...

    def submit(self, command: Command | Sensed) -> None:
        """Queue a command."""
        ...

    def subscribe(self, listener: Callable[[EngineEvent], None]) -> Callable[[], None]:
        """Hear every engine event (on the engine thread)."""
        ...


@dataclass
class UiDeps:
    """Everything the UI needs from the cart, injected (``ui.wiring`` builds it from CartApp)."""

    engine: EngineLike
    catalog: ProductSearch
    currency: str
    store_name: str
    layout: StoreLayout
    handoff: HandoffPort
    language: str = "en"
    wall: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic
    thumbs: Thumbnails = field(default_factory=NoThumbnails)
    has_store: bool = False
    link_status: Callable[[], LinkStatus | None] = lambda: None
    link_subscribe: Callable[[Callable[[LinkStatus], None]], Callable[[], None]] | None = None
    verify_badge: Callable[[str], BadgeVerifyResult] | None = None
    ledger_entries: Callable[[str], list[LedgerEntry]] | None = None
    pin_hash: str = ""
    auto_lock_s: float = 120.0
    health: HealthVM | None = None
    export_diagnostics: Callable[[], Path] | None = None
    call_staff: Callable[[str], None] | None = None
    calibration_capture: Callable[[], Sequence[float]] | None = None
    calibration_apply: Callable[[Calibration], str] | None = None
    camera_frame: Callable[[], tuple[Any, tuple[float, float, float, float]] | None] | None = None
    """The newest frame of the first camera and its basket region, for the preview."""
    warnings: tuple[str, ...] = ()


Observer = Callable[[frozenset[Part]], None]


class CartUi:
    """View-models + actions; everything here runs on the Kivy thread (or a test's thread)."""

    def __init__(self, deps: UiDeps) -> None:
        """Build the view-models; nothing listens until :meth:`attach`."""
        self.deps = deps
        self.tr = Translator(deps.language)
        tr = self.tr
        cur = deps.currency
        self.basket = BasketVM(deps.catalog, cur, tr, deps.thumbs)
        self.prompt = PromptVM(deps.catalog, cur, tr, deps.wall, deps.thumbs)
        self.map = MapVM(deps.layout, deps.catalog, cur, tr)
        self.checkout = CheckoutVM(
            cur,
            tr,
            deps.wall,
            has_store=deps.has_store,
            exit_lane=lambda: self.map.router.nearest_exit(self.map.position_node).waypoint_id,
        )
        self.session = SessionVM(tr, deps.store_name)
        self.staff = StaffAuth(deps.pin_hash, tr, deps.monotonic, deps.auto_lock_s)
        self.maintenance = MaintenanceVM(deps.catalog, cur, tr)
        self.calibration = CalibrationVM(
            available=deps.calibration_capture is not None,
            capture=deps.calibration_capture,
            apply=deps.calibration_apply,
        )
        self.health = deps.health
        self.bridge = Bridge(self._on_batch)
        self.jobs = Jobs(self.bridge.post)
        self.search_text = ""
        self.search_results: tuple[SearchResultView, ...] = ()
        self.audit: list[AuditRow] = []
        self.message = ""
        self.guidance = ""
        self.large_text = False
        self.high_contrast = False
        self.screen = Screen.WELCOME
        self.applied_version = 0
        self.on_snapshot_applied: Callable[[CartSnapshot, float], None] | None = None
        """Benchmark hook: called after a snapshot's views were built, with when it arrived."""
        self._tab = Screen.BASKET
        self._observers: list[Observer] = []
        self._snapshot: CartSnapshot | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._done_since: float | None = None
        self._guidance_for_next = False

    # -- wiring ----------------------------------------------------------------------------------
    def observe(self, observer: Observer) -> None:
        """Call ``observer`` with the parts that changed after each update."""
        self._observers.append(observer)

    def attach(self) -> None:
        """Listen to the engine and the store link; start the job thread."""
        self.jobs.start()
        self._unsubscribe.append(self.deps.engine.subscribe(self.bridge))
        if self.deps.link_subscribe is not None:
            self._unsubscribe.append(self.deps.link_subscribe(self.bridge))
        status = self.deps.link_status()
        if status is not None:
            self.bridge.post(status)
        self.bridge.post(self.deps.engine.snapshot)

    def detach(self) -> None:
        """Stop listening; finish queued jobs."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self.jobs.stop()

    def _notify(self, parts: frozenset[Part]) -> None:
        for observer in list(self._observers):
            try:
                observer(parts)
            except Exception:  # one broken screen must not keep the others stale
                log.exception("UI observer failed")

    # -- the bridge's batches (Kivy thread) ------------------------------------------------------
    def _on_batch(self, batch: Batch) -> None:
        changed: set[Part] = set()
        for event in batch.events:
            changed |= self._on_event(event)
        status = batch.latest.get(LinkStatus)
        if isinstance(status, LinkStatus):
            self.checkout.link_changed(status)
            changed.add(Part.CHECKOUT)
        snap = batch.snapshot
        if snap is not None:
            changed |= self._apply(snap)
            if self.on_snapshot_applied is not None:
                self.on_snapshot_applied(snap, batch.received_at.get(CartSnapshot, 0.0))
        if changed:
            self._notify(frozenset(changed))

    def _on_event(self, event: object) -> set[Part]:
        if isinstance(event, JobDone):
            event.deliver()
            return set(ALL_PARTS)
        if isinstance(event, CommandRejected):
            self.message = self.tr("message.refused", reason=event.reason)
            return {Part.MESSAGE}
        if isinstance(event, EngineFault):
            self.message = self.tr("message.fault", problem=event.message)
            return {Part.MESSAGE}
        if isinstance(event, ScannedText):
            return self.scanned(event.text)
        log.debug("UI ignores %r", event)
        return set()

    def _apply(self, snap: CartSnapshot) -> set[Part]:
        previous = self._snapshot
        self._snapshot = snap
        basket = snap.basket
        if previous is None or previous.basket.session_id != basket.session_id:
            # A new trip starts without the last one's hints (bags: the hint is for this one).
            if not self._guidance_for_next:
                self.guidance = ""
            self._guidance_for_next = False
        if basket.state is SessionState.IDLE:
            self.prompt.bags_mode = False
        self.basket.update(snap)
        self.prompt.update(basket)
        self.map.update_basket(basket, self.basket.last_added_line)
        self.checkout.update(snap)
        self.maintenance.update(snap)
        self.applied_version = snap.version
        if basket.state is SessionState.DONE:
            if self._done_since is None:
                self._done_since = self.deps.monotonic()
        else:
            self._done_since = None
        changed = {Part.BASKET, Part.PROMPT, Part.MAP, Part.CHECKOUT, Part.STAFF}
        if self._route():
            changed.add(Part.SCREEN)
        return changed

    def _route(self) -> bool:
        state = self._snapshot.basket.state if self._snapshot else SessionState.IDLE
        screen = screen_for(state, self._tab, self.staff.unlocked)
        if screen is not self.screen:
            self.screen = screen
            if screen is Screen.WELCOME:
                self._tab = Screen.BASKET
            return True
        return False

    @property
    def snapshot(self) -> CartSnapshot | None:
        """The snapshot the screens show."""
        return self._snapshot

    # -- shopper actions -------------------------------------------------------------------------
    def _submit(self, command: Command | None) -> None:
        if command is not None:
            self.deps.engine.submit(command)

    def _changed(self, *parts: Part) -> None:
        self._notify(frozenset(parts))

    def start(self) -> None:
        """ "Start shopping"."""
        self._submit(self.session.start())

    def start_with_bags(self) -> None:
        """ "I brought my own bags": start, and label "this is mine" as "these are my bags"."""
        self.prompt.bags_mode = True
        self.guidance = self.tr("guidance.bags")
        self._guidance_for_next = True
        self._submit(self.session.start_with_bags())
        self._changed(Part.BASKET)

    def set_language(self, code: str) -> None:
        """Switch language; every view is rebuilt from the last snapshot."""
        self.session.set_language(code)
        if self._snapshot is not None:
            self._apply(self._snapshot)
        else:
            self.map.update_basket(empty_basket(), None)
        if self.search_text:
            self.search_results = self.map.search(self.search_text)
        self._notify(ALL_PARTS)

    def toggle_large_text(self) -> None:
        """Large text on or off."""
        self.large_text = not self.large_text
        self._notify(ALL_PARTS)

    def toggle_high_contrast(self) -> None:
        """High contrast theme on or off."""
        self.high_contrast = not self.high_contrast
        self._notify(ALL_PARTS)

    def go(self, tab: Screen) -> None:
        """Switch between basket, list & map and search while shopping."""
        self._tab = tab
        if self._route():
            self._changed(Part.SCREEN)

    def answer(self, answer: str) -> None:
        """A prompt button was tapped."""
        command = self.prompt.choose(answer)
        if answer == "" and self.deps.call_staff is not None:
            view = self.prompt.view
            self.deps.call_staff(view.reason if view else "help")
        self._submit(command)
        self._changed(Part.PROMPT)

    def prompt_back(self) -> None:
        """Back from a scan/show/staff instruction to the prompt's buttons."""
        self.prompt.back_to_choices()
        self._changed(Part.PROMPT)

    def explain_remove(self, line_id: int) -> None:
        """ "Remove" on a line: removal happens by taking the item out (the scale sees it)."""
        line = self._snapshot.basket.line(line_id) if self._snapshot else None
        if line is not None:
            name = self._name(line.sku)
            self.guidance = self.tr("guidance.remove", name=name)
            self._changed(Part.BASKET)

    def dismiss_guidance(self) -> None:
        """Close the guidance banner."""
        self.guidance = ""
        self._changed(Part.BASKET)

    def dismiss_message(self) -> None:
        """Close the message banner."""
        self.message = ""
        self._changed(Part.MESSAGE)

    def _name(self, sku: str) -> str:
        product = self.deps.catalog.by_sku(sku)
        return product.name if product else sku

    def search(self, text: str) -> None:
        """Search products by name or code."""
        self.search_text = text
        self.search_results = self.map.search(text)
        self._changed(Part.SEARCH)

    def show_on_map(self, sku: str) -> None:
        """A search result was tapped: show where it is."""
        self.map.show_product(sku)
        self.go(Screen.MAP)
        self._changed(Part.MAP)

    def add_to_list(self, sku: str) -> None:
        """Put a search result on the shopping list."""
        self.map.add_to_list(sku)
        self.search_results = self.map.search(self.search_text)
        self._changed(Part.MAP, Part.SEARCH)

    def checkout_request(self) -> None:
        """ "Go to checkout"."""
        self._submit(self.checkout.request_checkout())

    def back_to_shopping(self) -> None:
        """Back from checkout or the handoff screen."""
        self._submit(self.checkout.back_to_shopping())

    def pay(self) -> None:
        """ "Pay at the exit": hand the basket off (off the Kivy thread)."""
        if self.jobs.run("handoff", self.deps.handoff.hand_off, self._handed_off):
            self.checkout.sending()
            self._changed(Part.CHECKOUT)

    def _handed_off(self, ticket: HandoffTicket | None, error: BaseException | None) -> None:
        if error is not None or ticket is None:
            self.checkout.handoff_failed(str(error))
        else:
            self.checkout.handed_off(ticket)

    def renew_code(self) -> None:
        """The code expired: go back to checkout and hand off again."""
        self._submit(self.checkout.back_to_shopping())
        self._submit(self.checkout.request_checkout())

    def finish(self) -> None:
        """ "Done" on the paid screen."""
        self._submit(self.checkout.finish())

    def scanned(self, text: str) -> set[Part]:
        """A non-product code was scanned (loyalty card, store app, staff badge)."""
        code = classify_code(text)
        state = self._snapshot.basket.state if self._snapshot else SessionState.IDLE
        if code.kind is CodeKind.STAFF:
            self.check_badge(code.ident)
            return {Part.STAFF}
        if code.kind is CodeKind.APP and code.shopping_list:
            self.map.set_list(list(code.shopping_list))
        if state is SessionState.IDLE:
            self._submit(self.session.scanned(code))
        return {Part.WELCOME, Part.MAP}

    # -- time ------------------------------------------------------------------------------------
    def tick(self) -> frozenset[Part]:
        """Once a second: countdowns, auto-lock, expired codes, the paid screen's reset."""
        changed: set[Part] = {Part.PROMPT} if self.prompt.view is not None else set()
        if self.staff.tick():
            changed |= {Part.STAFF}
            if self._route():
                changed.add(Part.SCREEN)
        if self._snapshot is not None and self.checkout.token_expired():
            self.checkout.update(self._snapshot)
            changed.add(Part.CHECKOUT)
        if (
            self._done_since is not None
            and self.deps.monotonic() - self._done_since >= PAID_RESET_S
        ):
            self._done_since = None
            self.finish()
        if changed:
            self._notify(frozenset(changed))
        return frozenset(changed)

    # -- staff -----------------------------------------------------------------------------------
    def open_staff_login(self) -> None:
        """The discreet staff key: show the PIN pad."""
        self.go(Screen.STAFF_LOGIN)

    def close_staff_login(self) -> None:
        """Back from the PIN pad to the shopper's screen."""
        self.go(Screen.BASKET)

    def staff_key(self, key: str) -> None:
        """A PIN pad key: a digit, ``"back"`` or ``"ok"``."""
        if key == "back":
            self.staff.backspace()
        elif key == "ok":
            pin = self.staff.submit()
            if pin is not None:
                stored = self.staff.pin_hash
                self.jobs.run("pin", lambda: verify_pin(pin, stored), self._pin_checked)
        else:
            self.staff.press(key)
        self._changed(Part.STAFF)

    def _pin_checked(self, ok: Any, error: BaseException | None) -> None:
        self.staff.pin_checked(bool(ok) and error is None)
        self._staff_opened()

    def check_badge(self, badge_id: str) -> None:
        """A staff badge was scanned: the store says whether it may unlock."""
        verify = self.deps.verify_badge
        if verify is None:
            self.staff.badge_failed(self.tr("staff.no_store"))
            self._changed(Part.STAFF)
            return
        self.jobs.run("badge", lambda: verify(badge_id), self._badge_checked)

    def _badge_checked(self, result: Any, error: BaseException | None) -> None:
        if error is not None or not isinstance(result, BadgeVerifyResult):
            self.staff.badge_failed(str(error))
        else:
            self.staff.badge_checked(result.valid, result.staff_id, result.reason)
        self._staff_opened()

    def _staff_opened(self) -> None:
        if self.staff.unlocked:
            self._tab = Screen.BASKET
            self.load_audit()
        self._route()

    def staff_touch(self) -> None:
        """Any touch in maintenance restarts the auto-lock timer."""
        self.staff.touch()

    def staff_lock(self) -> None:
        """ "Lock" in maintenance."""
        self.staff.lock()
        self._tab = Screen.BASKET
        self._route()
        self._notify(ALL_PARTS)

    def staff_do(self, commands: list[Command]) -> None:
        """Submit staff commands in order, then refresh the audit log."""
        self.staff.touch()
        for command in commands:
            self._submit(command)
        self.load_audit()

    def void_line(self, line_id: int) -> None:
        """Staff void a line."""
        self.staff_do([self.maintenance.void_line(line_id, self.staff.staff_id)])

    def resolve_prompt(self, prompt_id: str, answer: str) -> None:
        """Staff answer a flagged prompt."""
        self.staff_do([self.maintenance.resolve_prompt(prompt_id, answer)])

    def unlock_cart(self) -> None:
        """Staff unlock a locked cart."""
        self.staff_do([self.maintenance.unlock_cart(self.staff.staff_id)])

    def end_trip(self) -> None:
        """Staff end the trip (paid at a staffed lane, or abandoned)."""
        self.staff_do(self.maintenance.end_session(self.staff.staff_id))

    def load_audit(self) -> None:
        """Read the session's ledger off the Kivy thread."""
        entries = self.deps.ledger_entries
        snap = self._snapshot
        if entries is None or snap is None or not snap.basket.session_id:
            return
        session = snap.basket.session_id
        self.jobs.run("audit", lambda: audit_rows(entries(session), self._name), self._audit)

    def _audit(self, rows: Any, error: BaseException | None) -> None:
        if error is not None:
            self.audit = [AuditRow(0, "", self.tr("staff.audit_failed", reason=error), "")]
        else:
            self.audit = list(rows)

    def export_diagnostics(self) -> None:
        """Write the diagnostics bundle off the Kivy thread."""
        export = self.deps.export_diagnostics
        if export is None:
            return
        self.staff.touch()
        self.jobs.run("diagnostics", export, self._exported)

    def _exported(self, path: Any, error: BaseException | None) -> None:
        if error is not None:
            self.message = self.tr("staff.export_failed", reason=error)
        else:
            self.message = self.tr("staff.exported", path=path)

    def calibration_reference(self, delta_g: float) -> None:
        """The wizard's +/- reference weight buttons."""
        self.staff.touch()
        self.calibration.change_reference(delta_g)
        self._changed(Part.STAFF)

    def calibration_start(self) -> None:
        """Start (or restart) the calibration wizard."""
        self.staff.touch()
        self.calibration.start()
        self._changed(Part.STAFF)

    def calibration_capture(self) -> None:
        """Capture the current step (off the Kivy thread: it listens for seconds)."""
        self.staff.touch()
        job = self.calibration.capture_job()
        if job is not None:
            self.jobs.run("calibration", job, self.calibration.captured)
        self._changed(Part.STAFF)

    def calibration_save(self) -> None:
        """Save and use the solved calibration."""
        self.staff.touch()
        self.calibration.save()
        self._changed(Part.STAFF)

    def poll_health(self) -> None:
        """Read device health (maintenance is open)."""
        if self.health is not None:
            self.health.poll()
            self._changed(Part.HEALTH)
