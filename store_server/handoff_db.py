"""Sessions, basket handoffs and payments in the store database.

A basket is charged at most once: a partial unique index allows one paid basket per session,
and paying is a conditional ``UPDATE ... WHERE status = 'awaiting_payment'``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.exc import IntegrityError

from cart_app.store.contract import HandoffLine, HandoffRequest, HandoffStatus, PaymentStatus
from cart_app.store.token import TokenClaims
from store_server.db_engine import StoreBase
from store_server.errors import ApiProblem
from store_server.schema import handoffs, sessions


@dataclass(frozen=True, slots=True)
class HandoffOutcome:
    """What storing a handoff did."""

    status: HandoffStatus
    replayed: bool
    received_at: float


@dataclass(frozen=True, slots=True)
class HandoffRow:
    """A stored handoff, as the lane endpoints need it."""

    handoff_id: str
    session_id: str
    cart_id: str
    status: HandoffStatus
    status_reason: str
    total_cents: int
    line_count: int
    lines_hash: str
    expires_at: int
    currency: str | None
    lines: list[HandoffLine] | None
    payment_ref: str | None
    paid_at: float | None


class HandoffStore(StoreBase):
    """Shopping sessions, the baskets carts hand off, and the lanes' payments of them."""

    # --- sessions -------------------------------------------------------------------------

    def start_session(self, session_id: str, cart_id: str, started_at: float, now: float) -> bool:
        """Record a session start; True when new. A session id of another cart conflicts."""
        with self._write() as conn:
            return self._ensure_session(conn, session_id, cart_id, started_at, now)

    @staticmethod
    def _ensure_session(
        conn: Connection, session_id: str, cart_id: str, started_at: float, now: float
    ) -> bool:
        row = conn.execute(
            select(sessions.c.cart_id).where(sessions.c.session_id == session_id)
        ).first()
        if row is not None:
            if row.cart_id != cart_id:
                raise ApiProblem(409, "session-conflict", "session id belongs to another cart")
            return False
        conn.execute(
            sessions.insert().values(
                session_id=session_id, cart_id=cart_id, started_at=started_at, created_at=now
            )
        )
        return True

    # --- handoffs -------------------------------------------------------------------------

    def record_handoff(
        self, request: HandoffRequest, claims: TokenClaims, request_hash: str, now: float
    ) -> HandoffOutcome:
        """Store a cart's basket once per handoff id (the idempotency key).

        The same request again is a replay (nothing new stored); another body under the same
        key is a conflict. A basket of a session already paid under another handoff is
        refused, and older unpaid baskets of the session are superseded.
        """
        lines_json = json.dumps([line.model_dump() for line in request.lines])
        with self._write() as conn:
            row = conn.execute(
                select(handoffs).where(handoffs.c.handoff_id == request.handoff_id)
            ).first()
            if row is not None:
                if row.lines_hash != claims.lines_hash.hex() or row.session_id != claims.session_id:
                    raise ApiProblem(
                        409, "token-mismatch", "the store holds another basket under this id"
                    )
                if row.request_hash is not None:
                    if row.request_hash != request_hash:
                        raise ApiProblem(
                            409,
                            "idempotency-conflict",
                            "this idempotency key was used with another basket",
                        )
                    return HandoffOutcome(row.status, True, row.received_at)
                # The lane saw the token first (it paid or checked before the basket came).
                conn.execute(
                    update(handoffs)
                    .where(handoffs.c.handoff_id == request.handoff_id)
                    .values(
                        lines_json=lines_json,
                        request_hash=request_hash,
                        currency=request.currency,
                        received_at=now,
                    )
                )
                return HandoffOutcome(row.status, False, now)
            paid = conn.execute(
                select(handoffs.c.handoff_id).where(
                    handoffs.c.session_id == request.session_id, handoffs.c.status == "paid"
                )
            ).first()
            if paid is not None:
                raise ApiProblem(
                    409, "already-paid", "this session was already paid under another handoff"
                )
            self._ensure_session(conn, request.session_id, request.cart_id, request.created_at, now)
            self._supersede_others(conn, request.session_id, request.handoff_id)
            conn.execute(
                handoffs.insert().values(
                    **_claims_columns(claims, request.token),
                    currency=request.currency,
                    lines_json=lines_json,
                    request_hash=request_hash,
                    status="awaiting_payment",
                    status_reason="",
                    created_at=now,
                    received_at=now,
                )
            )
        return HandoffOutcome("awaiting_payment", False, now)

    @staticmethod
    def _supersede_others(conn: Connection, session_id: str, handoff_id: str) -> None:
        conn.execute(
            update(handoffs)
            .where(
                handoffs.c.session_id == session_id,
                handoffs.c.handoff_id != handoff_id,
                handoffs.c.status == "awaiting_payment",
            )
            .values(status="superseded", status_reason="a newer basket was handed off")
        )

    def void_handoff(self, cart_id: str, handoff_id: str, reason: str) -> PaymentStatus:
        """Make an unpaid basket unpayable (its cart's basket changed). Idempotent."""
        with self._write() as conn:
            row = conn.execute(
                select(handoffs).where(
                    handoffs.c.handoff_id == handoff_id, handoffs.c.cart_id == cart_id
                )
            ).first()
            if row is None:
                raise ApiProblem(404, "unknown-handoff", f"no handoff {handoff_id} of this cart")
            if row.status == "paid":
                raise ApiProblem(409, "already-paid", "the basket was paid before it changed")
            if row.status == "awaiting_payment":
                conn.execute(
                    update(handoffs)
                    .where(handoffs.c.handoff_id == handoff_id)
                    .values(status="void", status_reason=reason[:200])
                )
                return PaymentStatus(handoff_id=handoff_id, status="void")
            return PaymentStatus(handoff_id=handoff_id, status=row.status)

    def payment_status(self, handoff_id: str, cart_id: str) -> PaymentStatus:
        """The payment state of one of ``cart_id``'s handoffs (404 for any other)."""
        with self._read() as conn:
            row = conn.execute(
                select(handoffs.c.status, handoffs.c.paid_at, handoffs.c.total_cents).where(
                    handoffs.c.handoff_id == handoff_id, handoffs.c.cart_id == cart_id
                )
            ).first()
        if row is None:
            raise ApiProblem(404, "unknown-handoff", f"no handoff {handoff_id} of this cart")
        paid = row.status == "paid"
        return PaymentStatus(
            handoff_id=handoff_id,
            status=row.status,
            paid_at=row.paid_at if paid else None,
            amount_cents=row.total_cents if paid else None,
        )

    def handoff(self, handoff_id: str) -> HandoffRow | None:
        """A stored handoff, or None."""
        with self._read() as conn:
            row = conn.execute(select(handoffs).where(handoffs.c.handoff_id == handoff_id)).first()
        return None if row is None else _handoff_row(row)

    def session_paid_elsewhere(self, session_id: str, handoff_id: str) -> bool:
        """Whether another handoff of the session is paid."""
        with self._read() as conn:
            row = conn.execute(
                select(handoffs.c.handoff_id).where(
                    handoffs.c.session_id == session_id,
                    handoffs.c.handoff_id != handoff_id,
                    handoffs.c.status == "paid",
                )
            ).first()
        return row is not None

    def pay(
        self,
        claims: TokenClaims,
        token: str,
        lane_id: str,
        payment_ref: str,
        now: float,
    ) -> tuple[HandoffRow, bool]:
        """Mark a verified token's basket paid; returns the row and whether it was a replay.

        The same payment reported again is a replay; anything else on a paid, void or
        superseded basket is a conflict, so a basket is charged at most once.
        """
        try:
            with self._write() as conn:
                row = conn.execute(
                    select(handoffs).where(handoffs.c.handoff_id == claims.handoff_id)
                ).first()
                if row is None:
                    # Paid on the token alone; the cart's basket will follow.
                    self._ensure_session(
                        conn, claims.session_id, claims.cart_id, float(claims.issued_at), now
                    )
                    conn.execute(
                        handoffs.insert().values(
                            **_claims_columns(claims, token),
                            status="awaiting_payment",
                            status_reason="",
                            created_at=now,
                        )
                    )
                elif row.lines_hash != claims.lines_hash.hex():
                    raise ApiProblem(
                        409, "token-mismatch", "the store holds another basket under this id"
                    )
                elif row.status == "paid":
                    if row.payment_ref == payment_ref:
                        return _handoff_row(row), True
                    raise ApiProblem(409, "already-paid", "this basket is already paid")
                elif row.status != "awaiting_payment":
                    raise ApiProblem(
                        409, f"handoff-{row.status}", f"basket is {row.status}: {row.status_reason}"
                    )
                result = conn.execute(
                    update(handoffs)
                    .where(
                        handoffs.c.handoff_id == claims.handoff_id,
                        handoffs.c.status == "awaiting_payment",
                    )
                    .values(status="paid", payment_ref=payment_ref, lane_id=lane_id, paid_at=now)
                )
                if result.rowcount != 1:
                    raise ApiProblem(409, "already-paid", "this basket was paid meanwhile")
                self._supersede_others(conn, claims.session_id, claims.handoff_id)
                paid = conn.execute(
                    select(handoffs).where(handoffs.c.handoff_id == claims.handoff_id)
                ).one()
        except IntegrityError as exc:
            # The partial unique index: another basket of this session is paid already.
            raise ApiProblem(
                409, "already-paid", "this session was already paid under another handoff"
            ) from exc
        return _handoff_row(paid), False

    def count_handoffs(self, session_id: str | None = None) -> int:
        """How many handoffs are stored (of one session, when given)."""
        query = select(func.count()).select_from(handoffs)
        if session_id is not None:
            query = query.where(handoffs.c.session_id == session_id)
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())


def _claims_columns(claims: TokenClaims, token: str) -> dict[str, Any]:
    return {
        "handoff_id": claims.handoff_id,
        "session_id": claims.session_id,
        "cart_id": claims.cart_id,
        "key_id": claims.key_id,
        "token": token,
        "total_cents": claims.total_cents,
        "line_count": claims.line_count,
        "lines_hash": claims.lines_hash.hex(),
        "issued_at": claims.issued_at,
        "expires_at": claims.expires_at,
    }


def _handoff_row(row: Any) -> HandoffRow:
    lines = None
    if row.lines_json is not None:
        lines = [HandoffLine.model_validate(item) for item in json.loads(row.lines_json)]
    return HandoffRow(
        handoff_id=row.handoff_id,
        session_id=row.session_id,
        cart_id=row.cart_id,
        status=row.status,
        status_reason=row.status_reason,
        total_cents=int(row.total_cents),
        line_count=int(row.line_count),
        lines_hash=row.lines_hash,
        expires_at=int(row.expires_at),
        currency=row.currency,
        lines=lines,
        payment_ref=row.payment_ref,
        paid_at=row.paid_at,
    )
