"""Maintenance mode for staff: unlocking (PIN or badge), auto-lock, and the staff actions.

Unlocking: a PIN checked against ``[maintenance] pin_hash`` (salted scrypt,
:mod:`ui.staff_auth`; the check is slow by design, so the app runs it off the Kivy thread), or
a staff badge the store verifies. After :data:`FREE_ATTEMPTS` wrong PINs in a row each further
failure locks the pad for twice as long as the one before (from :data:`FIRST_LOCKOUT_S` up to
:data:`MAX_LOCKOUT_S`); with a :class:`ui.staff_auth.PinLockoutStore` the count and the wait
survive a restart. Maintenance locks itself after ``auto_lock_s`` without a touch.

Staff actions become engine commands, so every one is in the ledger with its reason and the
staff member's id: void a line, resolve a flagged prompt, unlock a locked cart, end an
abandoned trip, reset a paid cart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from cart_app.basket import BasketState
from cart_app.domain import Evidence, EvidenceSource
from cart_app.engine import CartSnapshot
from cart_app.events import (
    Answer,
    Command,
    CompleteSession,
    Lock,
    ResetCart,
    Unlock,
    VoidLine,
)
from cart_app.fusion import choices as ch
from cart_app.ledger import LedgerEntry
from cart_app.records import (
    CouponApplied,
    HandoffQueued,
    LineAdded,
    LineRemoved,
    LineVoided,
    PromptAnswered,
    PromptOpened,
    SessionStarted,
    StateChanged,
    TareApplied,
)
from cart_app.session import SessionState
from ui.i18n import Translator
from ui.staff_auth import MAX_PIN, PinHashError, PinLockout, PinLockoutStore, parse_hash
from ui.viewmodels import formatting as fmt
from ui.viewmodels.common import ProductLookup
from ui.viewmodels.prompt import reason_title

FREE_ATTEMPTS: Final = 3
FIRST_LOCKOUT_S: Final = 30.0
MAX_LOCKOUT_S: Final = 900.0
STAFF_ANSWERED_BY: Final = "staff"
"""Who a staff answer is routed as (fusion carries it out with staff evidence); the staff
member's id goes with it in ``Answer.staff_id`` and the engine records ``staff <id>``."""


@dataclass(frozen=True, slots=True)
class AuthView:
    """The staff login screen."""

    unlocked: bool
    staff: str
    masked: str
    message: str
    wait_s: int
    pin_enabled: bool


class StaffAuth:
    """Who is unlocked, the PIN pad's digits, the lockout and the auto-lock timer."""

    def __init__(
        self,
        pin_hash: str,
        tr: Translator,
        monotonic: Callable[[], float] = time.monotonic,
        auto_lock_s: float = 120.0,
        *,
        lockout: PinLockoutStore | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """``pin_hash`` empty or malformed disables the PIN (badges still work); ``lockout``
        keeps failures and the wait across restarts (on the ``wall`` clock, since the
        monotonic clock starts again at boot)."""
        self._tr = tr
        self._now = monotonic
        self._auto_lock_s = auto_lock_s
        self.pin_hash = ""
        self._problem = ""
        if pin_hash:
            try:
                parse_hash(pin_hash)
                self.pin_hash = pin_hash
            except PinHashError as exc:
                self._problem = str(exc)
        self._digits = ""
        self._failures = 0
        self._locked_until = 0.0
        self._lockout_s = FIRST_LOCKOUT_S
        self._staff = ""
        self._last_touch = 0.0
        self._checking = False
        self._message = ""
        self._store = lockout
        self._wall = wall
        if lockout is not None:
            self._restore(lockout.load())
        self.view = self._build()

    def _restore(self, saved: PinLockout) -> None:
        self._failures = max(0, saved.failures)
        if saved.next_lockout_s > 0:
            self._lockout_s = min(MAX_LOCKOUT_S, max(FIRST_LOCKOUT_S, saved.next_lockout_s))
        # Capped: a wall clock set back (or a damaged file) must not lock staff out for longer
        # than the longest wait the pad ever imposes.
        left = min(MAX_LOCKOUT_S, saved.locked_until_wall - self._wall())
        if left > 0:
            self._locked_until = self._now() + left

    def _persist(self) -> None:
        if self._store is None:
            return
        left = max(0.0, self._locked_until - self._now())
        state = PinLockout(self._failures, self._lockout_s, self._wall() + left if left else 0.0)
        try:
            self._store.save(state)
        except OSError as exc:  # a full disk must not open the pad; the lockout holds in memory
            self._message = f"{self._message} ({exc})" if self._message else str(exc)

    @property
    def unlocked(self) -> bool:
        """Whether maintenance is open."""
        return bool(self._staff)

    @property
    def staff_id(self) -> str:
        """Who unlocked it (empty when locked)."""
        return self._staff

    # -- the PIN pad -----------------------------------------------------------------------------
    def press(self, digit: str) -> AuthView:
        """A digit key."""
        if digit.isdigit() and len(digit) == 1 and len(self._digits) < MAX_PIN:
            self._digits += digit
        self._message = ""
        self.view = self._build()
        return self.view

    def backspace(self) -> AuthView:
        """The ⌫ key."""
        self._digits = self._digits[:-1]
        self.view = self._build()
        return self.view

    def wait_s(self) -> int:
        """Seconds until the pad accepts another PIN."""
        return max(0, int(self._locked_until - self._now() + 0.999))

    def submit(self) -> str | None:
        """The OK key: the PIN to check (off the Kivy thread), or None with a message."""
        pin, self._digits = self._digits, ""
        if not self.pin_hash:
            self._message = self._tr("staff.pin_disabled")
        elif self._checking:
            self._message = self._tr("staff.checking")
        elif self.wait_s() > 0:
            self._message = self._tr("staff.locked_out", seconds=self.wait_s())
        elif not pin:
            self._message = self._tr("staff.enter_pin")
        else:
            self._checking = True
            self._message = self._tr("staff.checking")
            self.view = self._build()
            return pin
        self.view = self._build()
        return None

    def pin_checked(self, ok: bool) -> AuthView:
        """The outcome of the PIN check."""
        self._checking = False
        if ok:
            self._failures = 0
            self._lockout_s = FIRST_LOCKOUT_S
            self._open("pin")
        else:
            self._failures += 1
            if self._failures >= FREE_ATTEMPTS:
                self._locked_until = self._now() + self._lockout_s
                self._message = self._tr("staff.locked_out", seconds=int(self._lockout_s))
                self._lockout_s = min(MAX_LOCKOUT_S, self._lockout_s * 2)
            else:
                left = FREE_ATTEMPTS - self._failures
                self._message = self._tr("staff.wrong_pin", left=left)
        self._persist()
        self.view = self._build()
        return self.view

    def badge_checked(self, valid: bool, staff_id: str | None, reason: str = "") -> AuthView:
        """The store's answer about a scanned staff badge."""
        if valid and staff_id:
            self._open(staff_id)
        else:
            self._message = self._tr("staff.badge_refused", reason=reason or "-")
        self.view = self._build()
        return self.view

    def badge_failed(self, reason: str) -> AuthView:
        """The badge could not be checked (store unreachable)."""
        self._message = self._tr("staff.badge_unchecked", reason=reason)
        self.view = self._build()
        return self.view

    # -- activity --------------------------------------------------------------------------------
    def touch(self) -> None:
        """Staff did something: restart the auto-lock timer."""
        self._last_touch = self._now()

    def tick(self) -> bool:
        """Lock when idle too long; returns True when it just locked."""
        if self._staff and self._now() - self._last_touch >= self._auto_lock_s:
            self.lock(self._tr("staff.auto_locked"))
            return True
        return False

    def lock(self, message: str = "") -> AuthView:
        """Close maintenance."""
        self._staff = ""
        self._digits = ""
        self._message = message
        self.view = self._build()
        return self.view

    def _open(self, staff: str) -> None:
        self._staff = staff
        self._digits = ""
        self._message = ""
        self.touch()

    def _build(self) -> AuthView:
        message = self._message
        if not self.pin_hash and not message:
            message = self._tr("staff.pin_disabled")
            if self._problem:
                message += f" ({self._problem})"
        return AuthView(
            unlocked=self.unlocked,
            staff=self._staff,
            masked="●" * len(self._digits),
            message=message,
            wait_s=self.wait_s(),
            pin_enabled=bool(self.pin_hash),
        )


# -- staff actions -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StaffLine:
    """A basket line staff may void."""

    line_id: int
    text: str


@dataclass(frozen=True, slots=True)
class StaffPrompt:
    """A pending prompt staff may resolve, with its answers (``(answer, label)``)."""

    prompt_id: str
    title: str
    answers: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class MaintenanceView:
    """The session panel of maintenance."""

    state: str
    session: str
    lines: tuple[StaffLine, ...]
    prompts: tuple[StaffPrompt, ...]
    can_unlock_cart: bool
    can_end: bool
    can_reset: bool
    fault: str
    staff_check_due: bool = False
    """A weight-locked trip waits for staff to check its basket ("basket checked")."""


class MaintenanceVM:
    """The current session as staff see it, and their actions as engine commands."""

    def __init__(self, products: ProductLookup, currency: str, tr: Translator) -> None:
        """Names from ``products``; money in ``currency``."""
        self._products = products
        self._currency = currency
        self._tr = tr
        self._basket: BasketState | None = None
        self._fault = ""
        self._check_due = False
        self.view = self._build()

    def update(self, snapshot: CartSnapshot) -> MaintenanceView:
        """A new snapshot."""
        self._basket = snapshot.basket
        self._fault = snapshot.fault or ""
        self.view = self._build()
        return self.view

    def health_changed(self, staff_check_due: bool) -> MaintenanceView:
        """The cart's health: whether a staff check of the basket is due."""
        self._check_due = staff_check_due
        self.view = self._build()
        return self.view

    def _name(self, sku: str) -> str:
        product = self._products.by_sku(sku)
        return product.name if product else sku

    def _answer_label(self, answer: str) -> str:
        if answer in ch.SPECIAL:
            return self._tr(f"staff.answer.{answer.lstrip(':')}")
        try:
            items = ch.decode_choice(answer)
        except ValueError:
            return answer
        return " + ".join(
            f"{i.quantity} × {self._name(i.sku)}"
            + (f" {fmt.kilograms(i.weight_g, self._currency)}" if i.weight_g else "")
            for i in items
        )

    def _build(self) -> MaintenanceView:
        basket = self._basket
        tr = self._tr
        if basket is None:
            return MaintenanceView("", "", (), (), False, False, False, "")
        lines = tuple(
            StaffLine(
                line.line_id,
                f"#{line.line_id}  {self._name(line.sku)}  "
                f"{fmt.kilograms(line.weight_g, self._currency)}"
                if line.weight_g
                else f"#{line.line_id}  {line.quantity} × {self._name(line.sku)}",
            )
            for line in basket.lines
        )
        prompts = tuple(
            StaffPrompt(
                p.prompt_id,
                reason_title(p.reason, tr),
                tuple((a, self._answer_label(a)) for a in p.choices if a not in (ch.SCAN, ch.SHOW)),
            )
            for p in basket.pending_prompts
        )
        state = basket.state
        return MaintenanceView(
            state=tr(f"state.{state.value}"),
            session=basket.session_id[:12] or "-",
            lines=lines,
            prompts=prompts,
            can_unlock_cart=state is SessionState.LOCKED,
            can_end=state
            in (
                SessionState.SHOPPING,
                SessionState.CHECKOUT,
                SessionState.HANDED_OFF,
                SessionState.LOCKED,
            ),
            can_reset=state is SessionState.DONE,
            fault=self._fault,
            staff_check_due=self._check_due,
        )

    # -- commands --------------------------------------------------------------------------------
    @staticmethod
    def void_line(line_id: int, staff_id: str) -> VoidLine:
        """Staff void a whole line."""
        return VoidLine(
            line_id,
            f"voided by staff {staff_id}",
            Evidence(EvidenceSource.STAFF, note=f"staff={staff_id}"),
        )

    @staticmethod
    def resolve_prompt(prompt_id: str, answer: str, staff_id: str = "") -> Answer:
        """Staff answer a flagged prompt for the shopper (carried out by fusion, recorded as
        ``staff <staff_id>``)."""
        return Answer(prompt_id, answer, STAFF_ANSWERED_BY, staff_id=staff_id)

    @staticmethod
    def unlock_cart(staff_id: str) -> Unlock:
        """Staff unlock a locked cart."""
        return Unlock(staff_id)

    def end_session(self, staff_id: str) -> list[Command]:
        """End the trip: a handed-off basket was paid at a staffed lane; any other open basket
        is abandoned (its lines voided, then the cart goes back to idle through a staff lock)."""
        basket = self._basket
        if basket is None:
            return []
        state = basket.state
        if state is SessionState.HANDED_OFF:
            return [CompleteSession(f"paid at a staffed lane (staff {staff_id})")]
        if state is SessionState.DONE:
            return [self.reset(staff_id)]
        commands: list[Command] = []
        if state is SessionState.LOCKED:
            commands.append(Unlock(staff_id))
        commands += [
            VoidLine(
                line.line_id,
                f"trip ended by staff {staff_id}",
                Evidence(EvidenceSource.STAFF, note=f"staff={staff_id}"),
            )
            for line in basket.lines
        ]
        commands += [Lock(f"trip ended by staff {staff_id}"), Unlock(staff_id)]
        return commands

    @staticmethod
    def reset(staff_id: str) -> ResetCart:
        """Staff return a paid cart to idle for the next shopper (the ledger says who)."""
        return ResetCart(f"next shopper (reset by staff {staff_id})")


# -- audit log -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AuditRow:
    """One ledger record as staff read it."""

    seq: int
    time: str
    what: str
    evidence: str


def _evidence_text(evidence: Evidence | None) -> str:
    if evidence is None:
        return ""
    parts = [evidence.source.value]
    if evidence.weight_delta_g is not None:
        parts.append(fmt.grams_text(evidence.weight_delta_g))
    if evidence.gtin:
        parts.append(f"gtin {evidence.gtin}")
    if evidence.vision_label:
        prob = evidence.vision_probability
        parts.append(f"seen {evidence.vision_label}" + (f" {prob:.0%}" if prob is not None else ""))
    if evidence.camera_id:
        parts.append(f"cam {evidence.camera_id}")
    if evidence.note:
        parts.append(evidence.note)
    return "; ".join(parts)


def audit_rows(
    entries: list[LedgerEntry], name: Callable[[str], str], tr: Translator | None = None
) -> list[AuditRow]:
    """The session's ledger entries as rows, newest first, in ``tr``'s language.

    Reasons and notes are the ledger's own words (written once, when it happened) and are
    shown as recorded.
    """
    tr = tr or Translator("en")
    rows: list[AuditRow] = []
    for entry in entries:
        record = entry.record
        evidence: Evidence | None = None
        match record:
            case SessionStarted():
                what = tr("audit.started", cart=record.cart_id)
            case LineAdded():
                amount = f"{record.weight_g:g} g" if record.weight_g else f"{record.quantity} ×"
                what = tr("audit.added", line=record.line_id, amount=amount, name=name(record.sku))
                evidence = record.evidence
            case LineRemoved():
                amount = f"{record.weight_g:g} g" if record.weight_g else f"{record.quantity} ×"
                what = tr("audit.removed", line=record.line_id, amount=amount)
                evidence = record.evidence
            case LineVoided():
                what = tr("audit.voided", line=record.line_id, reason=record.reason)
                evidence = record.evidence
            case CouponApplied():
                what = tr("audit.coupon", code=record.coupon.code)
            case PromptOpened():
                what = tr("audit.asked", reason=record.reason, choices=", ".join(record.choices))
            case PromptAnswered():
                what = tr("audit.answered", answer=repr(record.answer), who=record.answered_by)
            case TareApplied():
                what = tr("audit.tare", grams=f"{record.weight_g:+g}", reason=record.reason)
            case StateChanged():
                what = f"→ {tr(f'state.{record.state.value}')}" + (
                    f": {record.reason}" if record.reason else ""
                )
            case HandoffQueued():
                what = tr("audit.handed_off", code=record.idempotency_key[:8])
        rows.append(
            AuditRow(
                entry.seq,
                time.strftime("%H:%M:%S", time.localtime(entry.t_wall)),
                what,
                _evidence_text(evidence),
            )
        )
    rows.reverse()
    return rows
