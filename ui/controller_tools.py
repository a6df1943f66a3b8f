"""The controller's newer actions: scanned codes, the shopper's budget, product enrolment and
the laptop's developer panel. A mixin of :class:`ui.controller.CartUi` (kept apart so that
neither module grows past a screenful of concerns); plain Python, no Kivy, Kivy thread only.

Blocking work goes to the job thread (enrolment captures and enrolling); the simulator's
futures report back through the bridge (:class:`ui.viewmodels.devpanel.DevResult`).
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from cart_app.events import Command, Sensed, StartSession
from cart_app.session import SessionState
from ui.parts import Part
from ui.scanner import SYMBOLOGY, KeyboardWedge, product_gtin
from ui.viewmodels.devpanel import SHORTCUTS, DevPanelVM, DevResult
from ui.viewmodels.enrolment import EnrolmentVM, EnrolOutcome
from ui.viewmodels.keypad import BudgetDialogVM
from ui.viewmodels.session import CodeKind, Screen, classify_code
from vision.types import BarcodeRead

if TYPE_CHECKING:
    from ui.bridge import Bridge
    from ui.deps import UiDeps
    from ui.i18n import Translator
    from ui.jobs import Jobs
    from ui.viewmodels.basket import BasketVM
    from ui.viewmodels.staff_login import StaffAuth

log = logging.getLogger(__name__)

SCANNING_STATES = frozenset({SessionState.SHOPPING, SessionState.CHECKOUT, SessionState.HANDED_OFF})
"""States in which a product scan goes to fusion (a scan while checking out is an item going
in; fusion and the scale reopen shopping if it does)."""


class ToolsMixin:
    """Scanner, budget, enrolment and developer panel actions for :class:`CartUi`."""

    if TYPE_CHECKING:
        deps: UiDeps
        tr: Translator
        bridge: Bridge
        jobs: Jobs
        staff: StaffAuth
        basket: BasketVM
        screen: Screen
        message: str

        def _submit(self, command: Command | Sensed | None) -> None: ...
        def _notify(self, parts: frozenset[Part]) -> None: ...
        def scanned(self, text: str) -> set[Part]: ...
        def _state(self) -> SessionState: ...

    def _init_tools(self) -> None:
        """Build the tools' view-models (called from ``CartUi.__init__``)."""
        deps = self.deps
        self.budget = BudgetDialogVM(deps.currency, self.tr)
        self.enrol = EnrolmentVM(
            deps.catalog, self.tr, feeds=deps.camera_feeds, enroller=deps.enroller
        )
        self.dev = DevPanelVM(deps.dev_scale, deps.dev_products, self.tr, warnings=deps.warnings)
        self.wedge = KeyboardWedge(self._wedge_code, deps.monotonic)
        self.staff_tab = "session"

    def _tools_changed(self, *parts: Part) -> None:
        self._notify(frozenset(parts))

    def _tools_snapshot(self) -> None:
        """A snapshot was applied: the budget dialog belongs to a shopping trip only."""
        if self.budget.view.open and self._state() is not SessionState.SHOPPING:
            self.budget.close()

    def _tools_language(self) -> None:
        """The language changed: rebuild the tools' texts."""
        self.budget.refresh()
        self.enrol.refresh()
        self.dev.refresh()

    # -- scanned codes ----------------------------------------------------------------------------
    def _wedge_code(self, code: str) -> None:
        self._notify(frozenset(self.code_scanned(code)))

    def text_typed(self, chars: str) -> None:
        """Characters from the keyboard (the USB scanner types its codes)."""
        self.wedge.text(chars)

    def key_pressed(self, name: str) -> bool:
        """A special key (``enter``, ``f5``…): True when it was used."""
        if name == "enter":
            self.wedge.enter()
            return True
        action = SHORTCUTS.get(name)
        if action is None or not self.dev.available:
            return False
        if action == "toggle":
            self.dev_toggle()
        elif action == "product":
            self.dev_next_product()
        else:
            self.dev_act(action)
        return True

    def code_scanned(self, text: str) -> set[Part]:
        """A code from the basket scanner (any kind); what it does depends on the screen.

        Staff badges and store-app codes as before (:meth:`CartUi.scanned`). In maintenance's
        enrolment tab a product code picks the product. Otherwise a product code becomes the
        engine's scanned-code reading (``Sensed(BarcodeRead)``), which fusion uses as evidence
        for the next item or as the answer to a prompt waiting for a scan; on the welcome
        screen it starts the trip first.
        """
        code = text.strip()
        if not code:
            return set()
        kind = classify_code(code).kind
        if self.staff.unlocked and self.screen is Screen.MAINTENANCE:
            if kind is not CodeKind.STAFF and self.staff_tab == "enrol":
                self.staff.touch()
                self.enrol.select_code(code)
                return {Part.ENROL}
            return set()
        if kind in (CodeKind.STAFF, CodeKind.APP):
            return self.scanned(code)
        gtin = product_gtin(code)
        state = self._state()
        if state is SessionState.IDLE:
            # A card number can look like a GTIN: only a code the store sells is a product.
            if gtin is None or not self.deps.catalog.search(gtin, 1):
                return self.scanned(code)
            self._submit(StartSession(reason=f"shopper scanned {gtin}"))
        elif state not in SCANNING_STATES:
            return set()  # locked: only staff codes count
        elif gtin is None:
            self.message = self.tr("scan.not_product", code=code[:40])
            return {Part.MESSAGE}
        self._submit(Sensed(BarcodeRead(SYMBOLOGY, code, gtin)))
        return {Part.PROMPT}

    # -- the shopper's budget ---------------------------------------------------------------------
    def budget_open(self) -> None:
        """ "Set budget" on the basket screen."""
        self.budget.open(self.basket.view.budget.cap_cents)
        self._tools_changed(Part.BUDGET)

    def budget_key(self, key: str) -> None:
        """A key of the budget keypad."""
        self.budget.press(key)
        self._tools_changed(Part.BUDGET)

    def budget_ok(self) -> None:
        """Use the typed budget for this trip."""
        cents = self.budget.confirm()
        if cents is not None:
            self.basket.set_budget(cents)
        self._notify(frozenset({Part.BUDGET, Part.BASKET}))

    def budget_none(self) -> None:
        """ "No budget" for this trip."""
        self.basket.set_budget(None)
        self.budget.close()
        self._notify(frozenset({Part.BUDGET, Part.BASKET}))

    def budget_cancel(self) -> None:
        """Close the dialog, keeping the budget as it was."""
        self.budget.close()
        self._tools_changed(Part.BUDGET)

    # -- enrolment (staff) ------------------------------------------------------------------------
    def staff_tab_shown(self, tab: str) -> None:
        """Maintenance switched tabs (scanned codes pick products in the enrolment tab)."""
        self.staff_tab = tab
        self.staff.touch()

    def enrol_search(self, text: str) -> None:
        """The enrolment search field changed."""
        self.staff.touch()
        self.enrol.search(text)
        self._tools_changed(Part.ENROL)

    def enrol_select(self, sku: str) -> None:
        """A product was picked for enrolment."""
        self.staff.touch()
        self.enrol.select(sku)
        self._tools_changed(Part.ENROL)

    def enrol_capture(self) -> None:
        """Capture one view from every camera (off the Kivy thread)."""
        self.staff.touch()
        job = self.enrol.capture_job()
        if job is not None and not self.jobs.run("enrol-capture", job, self._enrol_captured):
            self.enrol.captured(None, RuntimeError("busy"))
        self._tools_changed(Part.ENROL)

    def _enrol_captured(self, shots: Any, error: BaseException | None) -> None:
        self.enrol.captured(list(shots) if shots is not None else None, error)

    def enrol_remove(self, index: int) -> None:
        """Drop one captured view."""
        self.staff.touch()
        self.enrol.remove_shot(index)
        self._tools_changed(Part.ENROL)

    def enrol_clear(self) -> None:
        """Drop every captured view."""
        self.staff.touch()
        self.enrol.clear()
        self._tools_changed(Part.ENROL)

    def enrol_run(self) -> None:
        """Enrol the captured views (off the Kivy thread: embedding and saving take a while)."""
        self.staff.touch()
        job = self.enrol.enrol_job(self.staff.staff_id)
        if job is not None and not self.jobs.run("enrol", job, self._enrolled):
            self.enrol.enrolled(None, RuntimeError("busy"))
        self._tools_changed(Part.ENROL)

    def _enrolled(self, outcome: Any, error: BaseException | None) -> None:
        self.enrol.enrolled(outcome if isinstance(outcome, EnrolOutcome) else None, error)

    # -- the developer panel (laptop) -------------------------------------------------------------
    def dev_toggle(self) -> None:
        """F12 or the "Dev" button."""
        self.dev.toggle()
        self.dev.poll()
        self._tools_changed(Part.DEV)

    def dev_key(self, key: str) -> None:
        """A key of the panel's grams keypad."""
        self.dev.key(key)
        self._tools_changed(Part.DEV)

    def dev_preset(self, grams: int) -> None:
        """A preset weight."""
        self.dev.preset(grams)
        self._tools_changed(Part.DEV)

    def dev_next_product(self, step: int = 1) -> None:
        """Use the next catalog product's nominal weight."""
        self.dev.next_product(step)
        self._tools_changed(Part.DEV)

    def dev_act(self, action: str) -> None:
        """Put in, take out, lean or push; the simulator's answer comes through the bridge."""
        grams = float(self.dev.grams)
        future = self.dev.act(action)
        if future is not None:
            bridge = self.bridge

            def report(done: Future[str]) -> None:
                # Runs on the simulator's thread (or here, for a future already failed).
                error = done.exception()
                bridge.post(DevResult(action, grams, str(error) if error else ""))

            future.add_done_callback(report)
        self._tools_changed(Part.DEV)

    def dev_poll(self) -> None:
        """Read the simulated basket (the app polls while the panel shows)."""
        self.dev.poll()
        self._tools_changed(Part.DEV)

    def _tools_event(self, event: object) -> bool:
        """Handle a bridge event of the tools; True when it was one."""
        if isinstance(event, DevResult):
            self.dev.done(event)
            return True
        return False
