"""The controller's staff actions: PIN and badge, maintenance's session actions, the audit log,
diagnostics, calibration and device health. A mixin of :class:`ui.controller.CartUi` (kept apart
so that neither module grows too long); plain Python, no Kivy, Kivy thread only.

Blocking work (the PIN hash, the badge check, reading the audit log, the diagnostics bundle,
calibration captures) goes to the job thread; the results come back through the bridge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cart_app.events import Command, Sensed
from cart_app.fusion import choices as ch
from cart_app.store.badge import BadgeError, StaffBadge
from cart_app.store.contract import BadgeVerifyResult
from ui.parts import ALL_PARTS, Part
from ui.staff_audit import staff_rows
from ui.staff_auth import MAINTENANCE_ROLES, verify_pin
from ui.viewmodels.audit import AuditRow, audit_rows
from ui.viewmodels.session import Screen

if TYPE_CHECKING:
    from cart_app.engine import CartSnapshot
    from ui.deps import UiDeps
    from ui.i18n import Translator
    from ui.jobs import Jobs
    from ui.viewmodels.calibration import CalibrationVM
    from ui.viewmodels.health import HealthVM
    from ui.viewmodels.maintenance import MaintenanceVM
    from ui.viewmodels.staff_login import StaffAuth


class StaffMixin:
    """Maintenance mode's actions for :class:`CartUi`."""

    if TYPE_CHECKING:
        deps: UiDeps
        tr: Translator
        jobs: Jobs
        staff: StaffAuth
        maintenance: MaintenanceVM
        calibration: CalibrationVM
        health: HealthVM | None
        audit: list[AuditRow]
        message: str
        _tab: Screen
        _snapshot: CartSnapshot | None

        def go(self, tab: Screen) -> None: ...
        def _route(self) -> bool: ...
        def _submit(self, command: Command | Sensed | None) -> None: ...
        def _changed(self, *parts: Part) -> None: ...
        def _notify(self, parts: frozenset[Part]) -> None: ...
        def _name(self, sku: str) -> str: ...
        def staff_pick_other(self, prompt_id: str) -> None: ...
        def _picker_sync(self) -> bool: ...

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

    def check_signed_badge(self, text: str) -> None:
        """A signed staff badge (``SB1:``) was scanned: checked on the cart, offline, against
        the store's badge keys; every outcome goes to the staff audit log."""
        check = self.deps.check_signed_badge
        audit = self.deps.staff_audit
        if check is None:
            self.staff.badge_checked(False, None, self.tr("staff.no_badge_keys"))
            self._changed(Part.STAFF)
            return

        def job() -> StaffBadge:
            try:
                badge = check(text)
                if not badge.roles & MAINTENANCE_ROLES:
                    raise BadgeError(f"badge of {badge.staff_id} has no maintenance role")
            except BadgeError as exc:
                # Who a refused badge names is not trusted (it may be forged): "?" only.
                if audit is not None:
                    details = {"why": type(exc).__name__, "reason": str(exc)}
                    audit.append("?", "badge refused", details)
                raise
            if audit is not None:
                audit.append(
                    badge.staff_id,
                    "badge unlock",
                    {"key": badge.key_id, "expires_at": badge.expires_at},
                )
            return badge

        self.jobs.run("badge", job, self._signed_badge_checked)

    def _signed_badge_checked(self, result: Any, error: BaseException | None) -> None:
        if error is not None or not isinstance(result, StaffBadge):
            self.staff.badge_checked(False, None, str(error))
        else:
            self.staff.badge_checked(True, result.staff_id)
        self._staff_opened()

    def staff_check_basket(self) -> None:
        """Staff checked the basket of a weight-locked trip: payment may go ahead. Audited
        with the staff member's id; the health state clears the checkout's block."""
        clear = self.deps.staff_checked
        if clear is None or not self.staff.unlocked:
            return
        self.staff.touch()
        staff_id = self.staff.staff_id
        audit = self.deps.staff_audit
        session = self._snapshot.basket.session_id if self._snapshot is not None else ""

        def job() -> bool:
            due = clear(staff_id)
            if due and audit is not None:
                audit.append(staff_id, "basket checked", {"session": session[:12]})
            return due

        self.jobs.run("staff-check", job, lambda _due, _error: self.load_audit())

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
        self._picker_sync()  # a staff pick closes with maintenance
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
        """Staff answer a flagged prompt ("Something else" opens the product picker)."""
        if answer == ch.OTHER:
            self.staff_pick_other(prompt_id)
            return
        self.staff_do([self.maintenance.resolve_prompt(prompt_id, answer, self.staff.staff_id)])

    def unlock_cart(self) -> None:
        """Staff unlock a locked cart."""
        self.staff_do([self.maintenance.unlock_cart(self.staff.staff_id)])

    def end_trip(self) -> None:
        """Staff end the trip (paid at a staffed lane, or abandoned)."""
        self.staff_do(self.maintenance.end_session(self.staff.staff_id))

    def load_audit(self) -> None:
        """Read the staff audit log and the session's ledger off the Kivy thread."""
        entries = self.deps.ledger_entries
        staff_log = self.deps.staff_audit
        snap = self._snapshot
        session = snap.basket.session_id if snap is not None else ""
        if (entries is None or not session) and staff_log is None:
            return
        tr = self.tr

        def read() -> list[AuditRow]:
            rows = staff_rows(staff_log.entries(), tr) if staff_log is not None else []
            if entries is not None and session:
                rows += audit_rows(entries(session), self._name, tr)
            return rows

        self.jobs.run("audit", read, self._audit)

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
