"""The basket's way to the store: what the store link hears from the engine, the handoff, and
reconciliation with the ledger.

- From the engine's snapshots: a new session is queued for the store; a basket that left
  ``handed_off`` for shopping again gets its token voided at the store.
- :meth:`LinkHandoff.hand_off` signs the basket and writes it to the outbox *held*, the engine
  records it in the ledger (the commit point), then it is released.
- :meth:`LinkHandoff.reconcile`, at start-up, settles what a crash left between the outbox and
  the ledger.
"""

from __future__ import annotations

import logging
from typing import Final

from cart_app.engine import CartSnapshot, EngineEvent
from cart_app.events import HandOff, ReopenShopping, RequestCheckout
from cart_app.ledger import LedgerError
from cart_app.pricing import ReceiptLine
from cart_app.records import HandoffQueued, Record, StateChanged
from cart_app.session import SessionState
from cart_app.store.contract import (
    HandoffLine,
    HandoffRequest,
    SessionStart,
    handoff_lines_hash,
    lines_hash,
)
from cart_app.store.link_core import ENGINE_CALL_TIMEOUT_S, LINK_LOGGER, LinkCore
from cart_app.store.link_types import HandoffRefused, HandoffTicket, LinkState
from cart_app.store.outbox import OutboxError
from cart_app.store.token import TokenClaims, issue_token

log = logging.getLogger(LINK_LOGGER)

_TRIP_STATES: Final = frozenset(
    {SessionState.SHOPPING, SessionState.CHECKOUT, SessionState.HANDED_OFF}
)


class LinkHandoff(LinkCore):
    """The link's engine listener, handoff and reconciliation (a part of the store link)."""

    # --- engine events (engine thread) ----------------------------------------------------

    def _on_engine_event(self, event: EngineEvent) -> None:
        if not isinstance(event, CartSnapshot):
            return
        basket = event.basket
        seen = (basket.session_id, basket.state, basket.handoff_key)
        previous, self._last_seen = self._last_seen, seen
        if previous == seen:
            return
        try:
            if (
                basket.session_id
                and basket.state in _TRIP_STATES
                and (previous is None or previous[0] != basket.session_id)
            ):
                self._enqueue_session(basket.session_id, basket.cart_id)
            if basket.handoff_key and basket.state in (SessionState.HANDED_OFF, SessionState.DONE):
                # The ledger has the handoff: it may go (normally hand_off releases it first).
                self._outbox.release(basket.handoff_key)
            if (
                previous is not None
                and previous[0] == basket.session_id
                and previous[1] is SessionState.HANDED_OFF
                and previous[2] is not None
                and basket.state not in (SessionState.HANDED_OFF, SessionState.DONE)
            ):
                self._enqueue_void(previous[2], f"basket reopened ({basket.state.value})")
        except OutboxError:
            log.exception("cannot write the store outbox")
            self._set_status(LinkState.DEGRADED, "cannot write the outbox (disk)")
        self._wake.set()
        self._payment_wake.set()

    def _enqueue_session(self, session_id: str, cart_id: str) -> None:
        start = SessionStart(
            session_id=session_id,
            cart_id=cart_id,
            started_at=self._clock.wall(),
            key_id=self._key.key_id,
        )
        self._outbox.enqueue(
            f"session:{session_id}", "session", start.model_dump_json(), session_id=session_id
        )

    def _enqueue_void(self, handoff_id: str, reason: str) -> None:
        # The token of that basket must no longer be payable: any weight change after handoff
        # invalidates it.
        self._outbox.enqueue(f"void:{handoff_id}", "void", reason[:200])
        self._refresh_pending()

    # --- handoff (UI thread) --------------------------------------------------------------

    def hand_off(self) -> HandoffTicket:
        """Sign the checked-out basket, record the handoff, queue it for the store.

        Works offline: the token is valid at the lane at once (it verifies the cart's
        signature), and the basket follows when the network allows. Raises
        :class:`HandoffRefused` when the basket is not in checkout or cannot be priced.
        """
        with self._handoff_lock:
            snap = self._engine.snapshot
            basket = snap.basket
            if basket.state is not SessionState.CHECKOUT:
                raise HandoffRefused(f"hand-off happens from checkout, not {basket.state.value}")
            if snap.receipt is None:
                raise HandoffRefused(f"the basket cannot be priced: {snap.fault or 'unknown'}")
            if not snap.receipt.lines:
                raise HandoffRefused("the basket is empty")
            currency = self._store_info.store_info().currency
            lines = [
                HandoffLine(
                    line_id=rl.line_id,
                    sku=rl.sku,
                    name=rl.name[:200] or rl.sku,
                    quantity=rl.quantity,
                    weight_g=rl.weight_g,
                    unit_price_cents=rl.unit_price_cents,
                    net_cents=rl.net_cents,
                    age_restricted=rl.age_restricted,
                )
                for rl in snap.receipt.lines
            ]
            digest = handoff_lines_hash(lines)
            handoff_id = self._new_id()
            now = int(self._clock.wall())
            expires = now + int(self._settings.token_ttl_s)
            claims = TokenClaims(
                key_id=self._key.key_id,
                handoff_id=handoff_id,
                session_id=basket.session_id,
                cart_id=basket.cart_id,
                issued_at=now,
                expires_at=expires,
                total_cents=snap.receipt.total_cents,
                line_count=len(lines),
                lines_hash=digest,
            )
            token = issue_token(self._key, claims)
            request = HandoffRequest(
                handoff_id=handoff_id,
                session_id=basket.session_id,
                cart_id=basket.cart_id,
                token=token,
                currency=currency,
                total_cents=snap.receipt.total_cents,
                lines=lines,
                created_at=float(now),
            )
            # Written ahead of the ledger: the ledger record below is the commit point.
            try:
                self._outbox.enqueue(
                    handoff_id,
                    "handoff",
                    request.model_dump_json(),
                    session_id=basket.session_id,
                    held=True,
                )
            except OutboxError as exc:
                # Nothing was recorded: the basket stays in checkout, the shopper may retry.
                self._set_status(LinkState.DEGRADED, "cannot write the outbox (disk)")
                raise HandoffRefused(f"the cart cannot save the handoff: {exc}") from exc
            try:
                event = self._engine.call(HandOff(handoff_id, token), ENGINE_CALL_TIMEOUT_S)
            except TimeoutError:
                # Left held: the engine listener releases it if the record lands; reconcile
                # at the next start decides otherwise.
                raise HandoffRefused("the cart is busy; try again") from None
            if not (
                isinstance(event, CartSnapshot)
                and event.basket.handoff_key == handoff_id
                and event.basket.state is SessionState.HANDED_OFF
            ):
                try:
                    self._outbox.discard(handoff_id)
                except OutboxError:  # left held: reconcile discards it at the next start
                    log.exception("cannot discard the refused handoff %s", handoff_id)
                reason = getattr(event, "reason", None) or getattr(event, "message", "refused")
                raise HandoffRefused(str(reason))
            try:
                self._outbox.release(handoff_id)
            except OutboxError:
                # Recorded in the ledger, so it is handed off; reconcile releases it at the
                # next start, and the token is valid at the lane meanwhile.
                log.exception("cannot release handoff %s now", handoff_id)
                self._set_status(LinkState.DEGRADED, "cannot write the outbox (disk)")
            self._refresh_pending()
            after = event.receipt
            if (
                after is None
                or after.total_cents != claims.total_cents
                or _lines_digest(after.lines) != digest
            ):
                # Another command changed the basket between the snapshot and the record: the
                # token does not describe it, so void it and go back to shopping.
                self._engine.call(
                    ReopenShopping("basket changed during hand-off"), ENGINE_CALL_TIMEOUT_S
                )
                raise HandoffRefused("the basket changed during hand-off; check out again")
            self._wake.set()
            self._payment_wake.set()
            return HandoffTicket(handoff_id, token, expires, claims.total_cents, currency)

    def reissue(self) -> HandoffTicket:
        """A fresh token for a handed-off basket whose token expired (the old one is voided)."""
        if self._engine.snapshot.basket.state is SessionState.HANDED_OFF:
            self._engine.call(ReopenShopping("token renewed"), ENGINE_CALL_TIMEOUT_S)
        self._engine.call(RequestCheckout(), ENGINE_CALL_TIMEOUT_S)
        return self.hand_off()

    # --- reconciliation -------------------------------------------------------------------

    def reconcile(self) -> None:
        """Settle what a crash may have left between the outbox and the ledger.

        Held handoffs are released when the ledger recorded them and discarded when it did not.
        A handoff whose basket went back to shopping later in the ledger gets its void queued
        (the crash may have come between the ledger record and the void).
        """
        sessions: dict[str, list[Record] | None] = {}

        def records(session_id: str) -> list[Record] | None:
            if session_id not in sessions:
                try:
                    sessions[session_id] = self._ledger.records(session_id)
                except LedgerError:
                    log.exception("ledger unreadable; outbox left as it is")
                    sessions[session_id] = None
            return sessions[session_id]

        for entry in self._outbox.held():
            found = records(entry.session_id)
            if found is None:
                continue
            if any(isinstance(r, HandoffQueued) and r.idempotency_key == entry.key for r in found):
                self._outbox.release(entry.key)
            else:
                log.warning("handoff %s never reached the ledger; discarded", entry.key)
                self._outbox.discard(entry.key)
        # Only the session being restored can have changed since its handoff: older sessions
        # ended (done) or were left, so reading them again would only slow the start.
        try:
            current = self._ledger.latest_session_id()
        except LedgerError:
            log.exception("ledger unreadable; voids not reconciled")
            return
        if current is None:
            return
        for entry in self._outbox.entries():
            if entry.kind != "handoff" or entry.state == "held" or entry.session_id != current:
                continue
            found = records(entry.session_id)
            if found is not None and _reopened_after(found, entry.key):
                self._enqueue_void(entry.key, "basket reopened after hand-off")


def _lines_digest(lines: tuple[ReceiptLine, ...]) -> bytes:
    return lines_hash((ln.sku, ln.quantity, ln.weight_g or 0, ln.net_cents) for ln in lines)


def _reopened_after(records: list[Record], handoff_id: str) -> bool:
    """Whether the basket left ``handed_off`` for anything but done after ``handoff_id``."""
    seen = False
    for record in records:
        if isinstance(record, HandoffQueued) and record.idempotency_key == handoff_id:
            seen = True
        elif (
            seen
            and isinstance(record, StateChanged)
            and record.state is not SessionState.HANDED_OFF
        ):
            # The first move away from handed_off decides: paid (done) or reopened.
            return record.state is not SessionState.DONE
    return False
