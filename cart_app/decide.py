"""Turn an engine command into ledger records, or refuse it: pure logic, no I/O.

The engine thread calls :func:`decide` with the current basket, appends the records it returns
to the ledger and folds them into the basket. Keeping the rules here, apart from the thread and
the storage, lets them be tested as tables.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cart_app.basket import BasketState
from cart_app.domain import PricingMode, Product
from cart_app.events import (
    Answer,
    ApplyCoupon,
    Ask,
    ChangeKind,
    Command,
    CompleteSession,
    Confirm,
    HandOff,
    Lock,
    ReopenShopping,
    RequestCheckout,
    ResetCart,
    StartSession,
    Tare,
    Unlock,
    VoidLine,
)
from cart_app.fusion.choices import accepts
from cart_app.records import (
    CouponApplied,
    HandoffQueued,
    LineAdded,
    LineRemoved,
    LineVoided,
    PromptAnswered,
    PromptOpened,
    Record,
    SessionStarted,
    StateChanged,
    TareApplied,
)
from cart_app.session import SessionState, basket_frozen, can_transition

# Absurd inputs are refused before they reach the ledger; the bounds are far beyond any basket.
MAX_UNITS_PER_CHANGE = 999
MAX_WEIGHT_PER_CHANGE_G = 50_000.0


class ProductLookup(Protocol):
    """What :func:`decide` needs of the catalog."""

    def by_sku(self, sku: str) -> Product | None:
        """The product with this SKU, or ``None``."""
        ...


class Rejected(Exception):
    """The command is refused; the message says why, for the shopper or the log."""


@dataclass(frozen=True, slots=True)
class DecideContext:
    """What :func:`decide` may read besides the basket: catalog, time and id sources."""

    products: ProductLookup
    cart_id: str
    now_wall: float
    prompt_timeout_s: float
    new_id: Callable[[], str] = lambda: uuid.uuid4().hex


def _new_line_id(state: BasketState) -> int:
    """A line id never used before in this ledger.

    The count of folded records only grows, so it never repeats, even after a line is voided;
    deriving ids from it keeps the id a pure function of the log.
    """
    return state.record_count + 1


def _state_to(state: BasketState, target: SessionState, reason: str) -> StateChanged:
    if not can_transition(state.state, target):
        raise Rejected(f"cannot go from {state.state.value} to {target.value}")
    return StateChanged(target, reason)


def _reopen_if_frozen(state: BasketState, why: str) -> list[Record]:
    """A basket change during checkout or after handoff reopens shopping first."""
    if state.state in (SessionState.CHECKOUT, SessionState.HANDED_OFF):
        return [StateChanged(SessionState.SHOPPING, why)]
    if basket_frozen(state.state) or state.state is not SessionState.SHOPPING:
        raise Rejected(f"the basket cannot change while {state.state.value}")
    return []


def _confirm(state: BasketState, cmd: Confirm, ctx: DecideContext) -> list[Record]:
    product = ctx.products.by_sku(cmd.sku)
    if product is None:
        raise Rejected(f"unknown product {cmd.sku!r}")
    per_kg = product.pricing_mode is PricingMode.PER_KG
    if not 0 < cmd.quantity <= MAX_UNITS_PER_CHANGE:
        raise Rejected(f"quantity {cmd.quantity} out of range")
    if per_kg and not 0 < cmd.weight_g <= MAX_WEIGHT_PER_CHANGE_G:
        raise Rejected(f"{product.name} is sold by weight: weight {cmd.weight_g} g out of range")
    records = _reopen_if_frozen(state, f"basket changed ({cmd.kind.value} {product.name})")
    if cmd.kind is ChangeKind.ADD:
        same = [
            line
            for line in state.lines
            if line.sku == cmd.sku and line.unit_price_cents == cmd.unit_price_cents
        ]
        # Units of one product share a line; every weighing of a per-kg product is its own line
        # (two bags of apples are two weighings on the receipt).
        line_id = same[-1].line_id if same and not per_kg else _new_line_id(state)
        records.append(
            LineAdded(
                line_id=line_id,
                sku=cmd.sku,
                quantity=cmd.quantity,
                weight_g=cmd.weight_g if per_kg else 0.0,
                unit_price_cents=cmd.unit_price_cents,
                evidence=cmd.evidence,
            )
        )
        return records
    candidates = [line for line in state.lines if line.sku == cmd.sku]
    if cmd.line_id is not None:
        candidates = [line for line in candidates if line.line_id == cmd.line_id]
    if not candidates:
        raise Rejected(f"{product.name} is not in the basket")
    line = candidates[-1]
    if per_kg:
        if cmd.weight_g > line.weight_g + 1e-6:
            raise Rejected(f"cannot remove {cmd.weight_g} g of {product.name}: line has less")
        records.append(LineRemoved(line.line_id, line.quantity, line.weight_g, cmd.evidence))
        return records
    if cmd.quantity > line.quantity:
        raise Rejected(
            f"cannot remove {cmd.quantity} × {product.name}: the basket holds {line.quantity}"
        )
    records.append(LineRemoved(line.line_id, cmd.quantity, 0.0, cmd.evidence))
    return records


def decide(state: BasketState, cmd: Command, ctx: DecideContext) -> list[Record]:
    """Records that carry out ``cmd`` on ``state``; raise :class:`Rejected` if not allowed."""
    match cmd:
        case StartSession():
            if state.state is not SessionState.IDLE:
                raise Rejected(f"a session is already {state.state.value}")
            sid = cmd.session_id or ctx.new_id()
            return [
                SessionStarted(sid, ctx.cart_id),
                StateChanged(SessionState.SHOPPING, cmd.reason),
            ]
        case Confirm():
            return _confirm(state, cmd, ctx)
        case VoidLine():
            if not any(line.line_id == cmd.line_id for line in state.lines):
                raise Rejected(f"no line {cmd.line_id} in the basket")
            records = _reopen_if_frozen(state, "line voided")
            records.append(LineVoided(cmd.line_id, cmd.reason, cmd.evidence))
            return records
        case ApplyCoupon():
            if state.state is not SessionState.SHOPPING:
                raise Rejected("coupons are accepted while shopping")
            if any(c.code == cmd.coupon.code for c in state.coupons):
                raise Rejected(f"coupon {cmd.coupon.code} is already applied")
            return [CouponApplied(cmd.coupon)]
        case Ask():
            if state.state not in (SessionState.SHOPPING, SessionState.CHECKOUT):
                raise Rejected(f"no prompts while {state.state.value}")
            if not cmd.choices:
                raise Rejected("a prompt needs at least one choice")
            timeout = cmd.timeout_s if cmd.timeout_s is not None else ctx.prompt_timeout_s
            pid = cmd.prompt_id or ctx.new_id()
            if any(p.prompt_id == pid for p in state.pending_prompts):
                raise Rejected(f"prompt {pid} is already open")
            return [PromptOpened(pid, cmd.reason, cmd.choices, ctx.now_wall + timeout)]
        case Answer():
            pending = next((p for p in state.pending_prompts if p.prompt_id == cmd.prompt_id), None)
            if pending is None:
                raise Rejected(f"no pending prompt {cmd.prompt_id}")
            # Timeouts and the system (an unresolved item taken back out) close a prompt with
            # an answer that is not one of the shopper's choices; "something else" lets the
            # shopper name any product (fusion checked it against the weight).
            if not accepts(pending.choices, cmd.answer) and cmd.answered_by not in (
                "timeout",
                "system",
            ):
                raise Rejected(f"{cmd.answer!r} is not one of {list(pending.choices)}")
            return [PromptAnswered(cmd.prompt_id, cmd.answer, cmd.answered_by)]
        case Tare():
            # A negative tare is the shopper's own item coming back out: never below zero.
            if not -state.tare_g <= cmd.weight_g <= MAX_WEIGHT_PER_CHANGE_G or cmd.weight_g == 0:
                raise Rejected(f"tare {cmd.weight_g} g out of range")
            if state.state is not SessionState.SHOPPING:
                raise Rejected("own items are tared while shopping")
            return [TareApplied(cmd.weight_g, cmd.reason)]
        case RequestCheckout():
            if state.pending_prompts:
                raise Rejected("answer the open question before checking out")
            return [_state_to(state, SessionState.CHECKOUT, "shopper")]
        case ReopenShopping():
            return [_state_to(state, SessionState.SHOPPING, cmd.reason)]
        case HandOff():
            if state.state is not SessionState.CHECKOUT:
                raise Rejected("hand-off happens from checkout")
            return [
                HandoffQueued(cmd.idempotency_key, cmd.token),
                _state_to(state, SessionState.HANDED_OFF, "handed to exit lane"),
            ]
        case CompleteSession():
            return [_state_to(state, SessionState.DONE, cmd.reason)]
        case ResetCart():
            return [_state_to(state, SessionState.IDLE, cmd.reason)]
        case Lock():
            if state.state is SessionState.LOCKED:
                raise Rejected("already locked")
            if state.state is SessionState.IDLE:
                # An idle cart has no session to log into; lock a fresh one so the
                # lock itself is on record.
                sid = ctx.new_id()
                return [
                    SessionStarted(sid, ctx.cart_id),
                    StateChanged(SessionState.LOCKED, cmd.reason),
                ]
            return [StateChanged(SessionState.LOCKED, cmd.reason)]
        case Unlock():
            if state.state is not SessionState.LOCKED:
                raise Rejected("not locked")
            target = SessionState.SHOPPING if state.lines else SessionState.IDLE
            return [StateChanged(target, f"unlocked by {cmd.staff_id}")]
    raise Rejected(f"unknown command {type(cmd).__name__}")  # pragma: no cover


def expired_prompts(state: BasketState, now_wall: float) -> list[Answer]:
    """Answers that close prompts whose deadline has passed."""
    return [
        Answer(p.prompt_id, "timeout", "timeout")
        for p in state.pending_prompts
        if p.deadline <= now_wall
    ]
