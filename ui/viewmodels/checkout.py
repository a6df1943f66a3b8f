"""Checkout: the summary, then the handoff screen (QR code, exit lane, live payment status).

The handoff itself (signing the basket, recording it, queueing it for the store) is the store
link's :meth:`~cart_app.store.link.StoreLink.hand_off`; it may wait on the engine, so the app
runs it off the Kivy thread and gives the outcome to :meth:`CheckoutVM.handed_off` or
:meth:`CheckoutVM.handoff_failed`. The QR code carries the signed token; with the store out of
reach the same code is paid at any staffed lane (the lane checks the cart's signature).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from cart_app.engine import CartSnapshot
from cart_app.events import ReopenShopping, RequestCheckout, ResetCart
from cart_app.session import SessionState
from cart_app.store.link import HandoffTicket, LinkState, LinkStatus
from ui.i18n import Translator
from ui.viewmodels import formatting as fmt

DONE_ICON = "✓"
NOW_ICON = "●"
TODO_ICON = "○"


@dataclass(frozen=True, slots=True)
class SummaryLine:
    """A line of the checkout summary."""

    text: str
    price: str


@dataclass(frozen=True, slots=True)
class SummaryView:
    """The checkout summary before the handoff."""

    lines: tuple[SummaryLine, ...]
    item_count: str
    savings: str
    tax: str
    total: str
    age_note: str
    can_pay: bool
    busy: bool
    error: str
    staff_check: str = ""
    """Why the basket waits for staff before payment (weight locked during the trip)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the payment status: icon and words (done, now, to come)."""

    icon: str
    text: str
    state: str


@dataclass(frozen=True, slots=True)
class HandoffView:
    """The handoff screen."""

    qr_payload: str
    total: str
    lane: str
    steps: tuple[Step, ...]
    status: str
    offline: bool
    offline_text: str
    expires: str
    age_note: str
    paid: bool
    error: str
    can_go_back: bool


class CheckoutVM:
    """Summary, handoff ticket and payment status of the current basket."""

    def __init__(
        self,
        currency: str,
        tr: Translator,
        wall: Callable[[], float],
        *,
        has_store: bool,
        exit_lane: Callable[[], str],
    ) -> None:
        """``has_store``: a store link exists (otherwise every basket is paid at a staffed
        lane); ``exit_lane`` names the lane the map's route ends at (``MapVM.exit_lane``: one
        source of truth, so the handoff never names another lane than the map)."""
        self._currency = currency
        self._tr = tr
        self._wall = wall
        self._has_store = has_store
        self._exit_lane = exit_lane
        self._snapshot: CartSnapshot | None = None
        self._ticket: HandoffTicket | None = None
        self._link: LinkStatus | None = None
        self._busy = False
        self._error = ""
        self._check_due = False
        self.summary: SummaryView = self._summary()
        self.handoff: HandoffView = self._handoff()

    # -- inputs ----------------------------------------------------------------------------------
    def update(self, snapshot: CartSnapshot) -> None:
        """A new basket snapshot."""
        previous = self._snapshot
        self._snapshot = snapshot
        state = snapshot.basket.state
        if previous is None or previous.basket.session_id != snapshot.basket.session_id:
            self._ticket = None
        if state in (SessionState.SHOPPING, SessionState.IDLE):
            # The basket reopened (or a new trip began): the old code is void at the store.
            self._ticket = None
            self._busy = False
        if state is not SessionState.CHECKOUT:
            self._error = ""
        self._rebuild()

    def link_changed(self, status: LinkStatus) -> None:
        """The store link's state changed."""
        self._link = status
        self._rebuild()

    def health_changed(self, staff_check_due: bool) -> None:
        """The cart's health: a trip that went through ``weight_locked`` is not handed off
        until staff have checked the basket (``docs/reliability.md``)."""
        self._check_due = staff_check_due
        self._rebuild()

    @property
    def staff_check_due(self) -> bool:
        """Whether payment waits for a staff check of the basket."""
        return self._check_due

    def sending(self) -> None:
        """The handoff was started (off the Kivy thread)."""
        self._busy = True
        self._error = ""
        self._rebuild()

    def handed_off(self, ticket: HandoffTicket) -> None:
        """The handoff succeeded: show its code."""
        self._busy = False
        self._ticket = ticket
        self._rebuild()

    def handoff_failed(self, reason: str) -> None:
        """The handoff was refused; the shopper may try again."""
        self._busy = False
        self._error = self._tr("checkout.error", reason=reason)
        self._rebuild()

    # -- actions ---------------------------------------------------------------------------------
    @staticmethod
    def request_checkout() -> RequestCheckout:
        """The shopper pressed "Go to checkout"."""
        return RequestCheckout()

    @staticmethod
    def back_to_shopping() -> ReopenShopping:
        """The shopper went back to add something."""
        return ReopenShopping("shopper went back to shopping")

    @staticmethod
    def finish() -> ResetCart:
        """Paid: the cart is ready for the next shopper."""
        return ResetCart()

    @property
    def ticket(self) -> HandoffTicket | None:
        """The ticket shown, if any."""
        return self._ticket

    def token_expired(self) -> bool:
        """Whether the shown code has expired (the shopper needs a new one)."""
        return self._ticket is not None and self._wall() >= self._ticket.expires_at

    # -- building --------------------------------------------------------------------------------
    def _rebuild(self) -> None:
        self.summary = self._summary()
        self.handoff = self._handoff()

    def _age_note(self) -> str:
        receipt = self._snapshot.receipt if self._snapshot else None
        if receipt is None or not receipt.age_restricted:
            return ""
        return self._tr("checkout.age_check")

    def _summary(self) -> SummaryView:
        tr = self._tr
        cur = self._currency
        snap = self._snapshot
        receipt = snap.receipt if snap else None
        if receipt is None:
            return SummaryView((), "", "", "", tr("basket.no_total"), "", False, self._busy, "")
        lines = []
        for line in receipt.lines:
            if line.weight_g is not None:
                text = f"{line.name}  {fmt.kilograms(line.weight_g, cur)}"
            else:
                text = f"{line.quantity} × {line.name}"
            if line.age_restricted:
                text += "  (18+)"
            lines.append(SummaryLine(text, fmt.money(line.net_cents, cur)))
        tax_key = "checkout.tax_included" if receipt.tax_included else "checkout.tax_added"
        state = snap.basket.state if snap else SessionState.IDLE
        return SummaryView(
            lines=tuple(lines),
            item_count=tr("basket.items", count=receipt.item_count),
            savings=tr("basket.savings", amount=fmt.money(receipt.total_discount_cents, cur))
            if receipt.total_discount_cents
            else "",
            tax=tr(tax_key, amount=fmt.money(receipt.tax_cents, cur)),
            total=fmt.money(receipt.total_cents, cur),
            age_note=self._age_note(),
            can_pay=state is SessionState.CHECKOUT
            and not self._busy
            and bool(receipt.lines)
            and not self._check_due,
            busy=self._busy,
            error=self._error,
            staff_check=tr("checkout.staff_check") if self._check_due else "",
        )

    def _offline(self) -> bool:
        if not self._has_store:
            return True
        return self._link is None or self._link.state is not LinkState.ONLINE

    def _handoff(self) -> HandoffView:
        tr = self._tr
        snap = self._snapshot
        state = snap.basket.state if snap else SessionState.IDLE
        paid = state is SessionState.DONE
        ticket = self._ticket
        offline = self._offline() and not paid
        total = fmt.money(ticket.total_cents, self._currency) if ticket else ""
        sent = ticket is not None or state in (SessionState.HANDED_OFF, SessionState.DONE)

        def step(done: bool, now: bool, key: str) -> Step:
            if done:
                return Step(DONE_ICON, tr(key), "done")
            return Step(NOW_ICON if now else TODO_ICON, tr(key), "now" if now else "todo")

        waiting = sent and not paid
        steps = (
            step(sent and not offline, not sent, "handoff.step.sent"),
            step(paid, waiting, "handoff.step.waiting"),
            step(paid, False, "handoff.step.paid"),
        )
        if paid:
            status = tr("handoff.status.paid")
        elif not sent:
            status = tr("handoff.status.sending")
        elif offline:
            status = tr("handoff.status.offline")
        else:
            status = tr("handoff.status.waiting")
        expires = ""
        if ticket is not None and not paid:
            if self.token_expired():
                expires = tr("handoff.expired")
            else:
                clock = time.strftime("%H:%M", time.localtime(ticket.expires_at))
                expires = tr("handoff.expires", time=clock)
        return HandoffView(
            qr_payload=ticket.token if ticket and not paid else "",
            total=total,
            lane=tr("handoff.lane", lane=self._exit_lane()),
            steps=steps,
            status=status,
            offline=offline,
            offline_text=tr("handoff.offline") if offline else "",
            expires=expires,
            age_note=self._age_note(),
            paid=paid,
            error=self._error,
            can_go_back=state is SessionState.HANDED_OFF,
        )
