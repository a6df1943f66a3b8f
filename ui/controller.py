"""The UI's controller: view-models fed by the bridge, and the shopper's and staff's actions.

Plain Python (no Kivy): :class:`CartUi` owns every view-model, receives the bridge's batches
on the Kivy thread, and tells its observers which parts changed; the Kivy screens observe it
and copy the views into widgets. Actions go to the engine with ``submit`` (never waited on);
blocking work (handoff, PIN hash, badge check, audit log, calibration) goes to :class:`Jobs`.
Tests drive a whole trip through this class without a display.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from cart_app.basket import empty_basket
from cart_app.engine import CartSnapshot
from cart_app.events import Command, CommandRejected, EngineFault, Sensed
from cart_app.health import HealthState
from cart_app.session import SessionState
from cart_app.store.link import LinkStatus
from ui.bridge import Batch, Bridge
from ui.controller_picker import PickerMixin
from ui.controller_shopper import ShopperMixin
from ui.controller_staff import StaffMixin
from ui.controller_tools import ToolsMixin
from ui.deps import EngineLike, UiDeps
from ui.i18n import Translator
from ui.jobs import JobDone, Jobs
from ui.parts import ALL_PARTS, Part
from ui.viewmodels.basket import BasketVM
from ui.viewmodels.calibration import CalibrationVM
from ui.viewmodels.checkout import CheckoutVM
from ui.viewmodels.maintenance import AuditRow, MaintenanceVM, StaffAuth
from ui.viewmodels.map import MapVM, SearchResultView
from ui.viewmodels.picker import ProductPickerVM
from ui.viewmodels.prompt import PromptVM
from ui.viewmodels.session import Screen, SessionVM, screen_for

log = logging.getLogger(__name__)

PAID_RESET_S = 45.0
"""A paid cart returns to the welcome screen by itself after this long."""


__all__ = ["ALL_PARTS", "CartUi", "EngineLike", "Part", "ScannedText", "UiDeps"]


@dataclass(frozen=True, slots=True)
class ScannedText:
    """A code the basket scanner read (post it to the bridge from any thread): a product code,
    a staff badge, a store-app or loyalty code; :meth:`CartUi.code_scanned` sorts it out."""

    text: str


Observer = Callable[[frozenset[Part]], None]


class CartUi(ShopperMixin, PickerMixin, StaffMixin, ToolsMixin):
    """View-models + actions; everything here runs on the Kivy thread (or a test's thread).

    The shopper's actions are :class:`ui.controller_shopper.ShopperMixin`'s; the "Something
    else" picker's :class:`ui.controller_picker.PickerMixin`'s; maintenance's
    :class:`ui.controller_staff.StaffMixin`'s; scanned codes, the budget dialog, enrolment and
    the developer panel :class:`ui.controller_tools.ToolsMixin`'s.
    """

    def __init__(self, deps: UiDeps) -> None:
        """Build the view-models; nothing listens until :meth:`attach`."""
        self.deps = deps
        self.tr = Translator(deps.language)
        tr = self.tr
        cur = deps.currency
        self.basket = BasketVM(
            deps.catalog, cur, tr, deps.thumbs, budget_warn_ratio_bp=deps.budget_warn_ratio_bp
        )
        self.prompt = PromptVM(deps.catalog, cur, tr, deps.wall, deps.thumbs)
        self.map = MapVM(deps.layout, deps.catalog, cur, tr)
        self.picker = ProductPickerVM(self.map.search, deps.catalog, tr, deps.thumbs)
        self.checkout = CheckoutVM(
            cur,
            tr,
            deps.wall,
            has_store=deps.has_store,
            exit_lane=lambda: self.map.exit_lane,
        )
        self.session = SessionVM(tr, deps.store_name)
        self.staff = StaffAuth(
            deps.pin_hash,
            tr,
            deps.monotonic,
            deps.auto_lock_s,
            lockout=deps.pin_lockout,
            wall=deps.wall,
        )
        self.maintenance = MaintenanceVM(deps.catalog, cur, tr)
        self.calibration = CalibrationVM(
            available=deps.calibration_capture is not None,
            capture=deps.calibration_capture,
            apply=deps.calibration_apply,
            tr=tr,
        )
        self.health = deps.health
        if self.health is not None:
            self.health.use_translator(tr)
        self.bridge = Bridge(self._on_batch)
        self.jobs = Jobs(self.bridge.post)
        self.search_text = ""
        self.search_results: tuple[SearchResultView, ...] = ()
        self.audit: list[AuditRow] = []
        self.message = ""
        self.guidance = ""
        self.health_banner = ""
        """The cart's health banner (``CartHealth``'s), shown above every shopper screen."""
        self.cart_health: HealthState | None = None
        """The latest health state the screens show (None until one arrives)."""
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
        self._init_tools()
        if deps.profile == "laptop" and deps.warnings:
            # A developer's laptop says what it fell back to (no webcam, no model) at once; a
            # cart shows such notes to staff only (maintenance, Devices).
            self.message = tr("message.startup", notes="; ".join(deps.warnings))

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
        if self.deps.health_subscribe is not None:
            # Health changes arrive on device threads; the bridge brings them to this one.
            self._unsubscribe.append(self.deps.health_subscribe(self.bridge))
        status = self.deps.link_status()
        if status is not None:
            self.bridge.post(status)
        health = self.deps.cart_health()
        if health is not None:
            self.bridge.post(health)
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
        health = batch.latest.get(HealthState)
        if isinstance(health, HealthState):
            changed |= self._health_changed(health)
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
            return self.code_scanned(event.text)
        if self._tools_event(event):
            return {Part.DEV}
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
        self._picker_sync()
        self.map.update_basket(basket, self.basket.last_added_line)
        self.checkout.update(snap)
        self.maintenance.update(snap)
        self._tools_snapshot()
        self.applied_version = snap.version
        if basket.state is SessionState.DONE:
            if self._done_since is None:
                self._done_since = self.deps.monotonic()
        else:
            self._done_since = None
        changed = {Part.BASKET, Part.PROMPT, Part.PICKER, Part.MAP, Part.CHECKOUT, Part.STAFF}
        if self._route():
            changed.add(Part.SCREEN)
        return changed

    def _health_changed(self, health: HealthState) -> set[Part]:
        self.cart_health = health
        self.health_banner = health.banner
        self.checkout.health_changed(health.staff_check_due)
        self.maintenance.health_changed(health.staff_check_due)
        return {Part.BANNER, Part.CHECKOUT, Part.STAFF}

    def _state(self) -> SessionState:
        return self._snapshot.basket.state if self._snapshot else SessionState.IDLE

    def _route(self) -> bool:
        state = self._state()
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
    def _submit(self, command: Command | Sensed | None) -> None:
        if command is not None:
            self.deps.engine.submit(command)

    def _changed(self, *parts: Part) -> None:
        self._notify(frozenset(parts))

    def set_language(self, code: str) -> None:
        """Switch language; every view is rebuilt from the last snapshot."""
        self.session.set_language(code)
        if self._snapshot is not None:
            self._apply(self._snapshot)
        else:
            self.map.update_basket(empty_basket(), None)
        if self.search_text:
            self.search_results = self.map.search(self.search_text)
        self.picker.refresh()
        self.calibration.refresh()
        self._tools_language()
        self._notify(ALL_PARTS)

    def toggle_large_text(self) -> None:
        """Large text on or off."""
        self.large_text = not self.large_text
        self._notify(ALL_PARTS)

    def toggle_high_contrast(self) -> None:
        """High contrast theme on or off."""
        self.high_contrast = not self.high_contrast
        self._notify(ALL_PARTS)

    # -- time ------------------------------------------------------------------------------------
    def tick(self) -> frozenset[Part]:
        """Once a second: countdowns, auto-lock, expired codes, the paid screen's reset."""
        changed: set[Part] = {Part.PROMPT} if self.prompt.view is not None else set()
        if self.staff.tick():
            changed |= {Part.STAFF}
            if self._picker_sync():
                changed.add(Part.PICKER)
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
