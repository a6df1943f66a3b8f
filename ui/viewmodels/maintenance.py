"""Maintenance mode's session panel for staff, and their actions as engine commands.

Staff actions become engine commands, so every one is in the ledger with its reason and the
staff member's id: void a line, resolve a flagged prompt, unlock a locked cart, end an
abandoned trip, reset a paid cart. Unlocking (PIN, badge, lockout, auto-lock) is
:mod:`ui.viewmodels.staff_login`; the audit log's rows :mod:`ui.viewmodels.audit` (both names
are re-exported here for older imports).

The panel's view is built when it is read, not on every snapshot: maintenance is on screen only
while staff work on the cart, and building it looks up every line's product (the Kivy thread
would pay for that on each update of a trip no one is looking at in maintenance).
"""

from __future__ import annotations

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
from cart_app.session import SessionState
from ui.i18n import Translator
from ui.viewmodels import formatting as fmt
from ui.viewmodels.audit import AuditRow, audit_rows
from ui.viewmodels.common import ProductLookup
from ui.viewmodels.prompt import reason_title
from ui.viewmodels.staff_login import (
    FIRST_LOCKOUT_S,
    FREE_ATTEMPTS,
    MAX_LOCKOUT_S,
    AuthView,
    StaffAuth,
)

__all__ = [
    "FIRST_LOCKOUT_S",
    "FREE_ATTEMPTS",
    "MAX_LOCKOUT_S",
    "STAFF_ANSWERED_BY",
    "AuditRow",
    "AuthView",
    "MaintenanceVM",
    "MaintenanceView",
    "StaffAuth",
    "StaffLine",
    "StaffPrompt",
    "audit_rows",
]

STAFF_ANSWERED_BY: Final = "staff"
"""Who a staff answer is routed as (fusion carries it out with staff evidence); the staff
member's id goes with it in ``Answer.staff_id`` and the engine records ``staff <id>``."""


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
        self._view: MaintenanceView | None = None

    @property
    def view(self) -> MaintenanceView:
        """The panel as of the last update (built on first read after it)."""
        if self._view is None:
            self._view = self._build()
        return self._view

    def update(self, snapshot: CartSnapshot) -> None:
        """A new snapshot (the view is rebuilt when next read)."""
        self._basket = snapshot.basket
        self._fault = snapshot.fault or ""
        self._view = None

    def health_changed(self, staff_check_due: bool) -> None:
        """The cart's health: whether a staff check of the basket is due."""
        self._check_due = staff_check_due
        self._view = None

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
