"""The basket as a pure fold over a session's ledger records.

:func:`apply` is one step (the engine uses it after each confirmed append) and :func:`fold` is
the whole replay (used on restore), so the live basket and the restored one are computed by the
same code. The fold refuses a log that breaks the basket's invariants (:class:`BasketFoldError`)
instead of guessing: such a log can only come from an engine bug, and a receipt built on a guess
would be wrong.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Final, Protocol

from cart_app.domain import BasketLine, Coupon
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
from cart_app.session import SessionState

WEIGHT_EPSILON_G: Final = 1e-6
"""Grams below which a line's remaining weight counts as zero.

Sums of float grams drift by ulps (100.1 + 200.2 is not 300.3), so removing exactly what was
added must not fail or leave a line of 5e-14 g.
"""


class BasketFoldError(ValueError):
    """A record that cannot apply to the basket as folded so far."""

    def __init__(self, position: int, record: Record, problem: str) -> None:
        super().__init__(f"record {position} ({record!r}): {problem}")
        self.position = position
        self.record = record
        self.problem = problem


@dataclass(frozen=True, slots=True)
class PendingPrompt:
    """A question put to the shopper that has not been answered yet."""

    prompt_id: str
    reason: str
    choices: tuple[str, ...]
    deadline: float


@dataclass(frozen=True, slots=True)
class BasketState:
    """The session as folded from its records.

    ``lines`` are in ``line_id`` order; ``record_count`` is how many records of this session were
    folded (a :class:`SessionStarted` counts as the first), so a live basket and one restored
    from the session's records agree on it; the engine derives new line ids from it.
    """

    session_id: str
    cart_id: str
    state: SessionState
    lines: tuple[BasketLine, ...]
    coupons: tuple[Coupon, ...]
    pending_prompts: tuple[PendingPrompt, ...]
    tare_g: float
    handoff_key: str | None
    record_count: int

    def line(self, line_id: int) -> BasketLine | None:
        """The line with ``line_id``, or None when the basket has no such line."""
        at = _position(self.lines, line_id)
        if at < len(self.lines) and self.lines[at].line_id == line_id:
            return self.lines[at]
        return None


def empty_basket(session_id: str = "", cart_id: str = "") -> BasketState:
    """An idle basket with nothing in it."""
    return BasketState(
        session_id=session_id,
        cart_id=cart_id,
        state=SessionState.IDLE,
        lines=(),
        coupons=(),
        pending_prompts=(),
        tare_g=0.0,
        handoff_key=None,
        record_count=0,
    )


def _line_id(line: BasketLine) -> int:
    return line.line_id


def _position(lines: tuple[BasketLine, ...], line_id: int) -> int:
    # Lines stay sorted by id, so lookups are a bisection, not a scan per record.
    return bisect.bisect_left(lines, line_id, key=_line_id)


def _without(lines: tuple[BasketLine, ...], line_id: int) -> tuple[BasketLine, ...]:
    at = _position(lines, line_id)
    if at < len(lines) and lines[at].line_id == line_id:
        return lines[:at] + lines[at + 1 :]
    return lines


def _with(lines: tuple[BasketLine, ...], new: BasketLine) -> tuple[BasketLine, ...]:
    at = _position(lines, new.line_id)
    end = at + 1 if at < len(lines) and lines[at].line_id == new.line_id else at
    return (*lines[:at], new, *lines[end:])


def _check_amounts(quantity: int, weight_g: float, verb: str) -> str | None:
    if quantity < 0 or weight_g < 0:
        return f"cannot {verb} a negative amount"
    if quantity == 0 and weight_g <= 0:
        return f"{verb}s nothing (quantity 0 and weight 0)"
    return None


def _add(state: BasketState, record: LineAdded) -> BasketState | str:
    problem = _check_amounts(record.quantity, record.weight_g, "add")
    if problem:
        return problem
    evidence = () if record.evidence is None else (record.evidence,)
    line = state.line(record.line_id)
    if line is None:
        opened = BasketLine(
            line_id=record.line_id,
            sku=record.sku,
            quantity=record.quantity,
            weight_g=record.weight_g,
            unit_price_cents=record.unit_price_cents,
            evidence=evidence,
        )
        return replace(state, lines=_with(state.lines, opened))
    if line.sku != record.sku:
        return f"line {line.line_id} holds {line.sku!r}, not {record.sku!r}"
    if line.unit_price_cents != record.unit_price_cents:
        return (
            f"line {line.line_id} is priced {line.unit_price_cents!r}, not "
            f"{record.unit_price_cents!r}: a different price needs its own line"
        )
    grown = replace(
        line,
        quantity=line.quantity + record.quantity,
        weight_g=line.weight_g + record.weight_g,
        evidence=line.evidence + evidence,
    )
    return replace(state, lines=_with(state.lines, grown))


def _remove(state: BasketState, record: LineRemoved) -> BasketState | str:
    line = state.line(record.line_id)
    if line is None:
        return f"no line {record.line_id} to remove from"
    problem = _check_amounts(record.quantity, record.weight_g, "remove")
    if problem:
        return problem
    if record.quantity > line.quantity:
        return f"line {line.line_id} holds {line.quantity} units, cannot remove {record.quantity}"
    if record.weight_g > line.weight_g + WEIGHT_EPSILON_G:
        return f"line {line.line_id} holds {line.weight_g} g, cannot remove {record.weight_g} g"
    quantity = line.quantity - record.quantity
    weight_g = line.weight_g - record.weight_g
    if weight_g < WEIGHT_EPSILON_G:
        weight_g = 0.0
    if quantity == 0 and weight_g == 0.0:
        return replace(state, lines=_without(state.lines, line.line_id))
    evidence = () if record.evidence is None else (record.evidence,)
    shrunk = replace(line, quantity=quantity, weight_g=weight_g, evidence=line.evidence + evidence)
    return replace(state, lines=_with(state.lines, shrunk))


def _step(state: BasketState, record: Record) -> BasketState | str:
    match record:
        case SessionStarted():
            return empty_basket(record.session_id, record.cart_id)
        case LineAdded():
            return _add(state, record)
        case LineRemoved():
            return _remove(state, record)
        case LineVoided():
            if state.line(record.line_id) is None:
                return f"no line {record.line_id} to void"
            return replace(state, lines=_without(state.lines, record.line_id))
        case CouponApplied():
            if any(c.code == record.coupon.code for c in state.coupons):
                return f"coupon {record.coupon.code!r} is already applied"
            return replace(state, coupons=(*state.coupons, record.coupon))
        case PromptOpened():
            if any(p.prompt_id == record.prompt_id for p in state.pending_prompts):
                return f"prompt {record.prompt_id!r} is already open"
            prompt = PendingPrompt(record.prompt_id, record.reason, record.choices, record.deadline)
            return replace(state, pending_prompts=(*state.pending_prompts, prompt))
        case PromptAnswered():
            remaining = tuple(p for p in state.pending_prompts if p.prompt_id != record.prompt_id)
            if len(remaining) == len(state.pending_prompts):
                return f"prompt {record.prompt_id!r} is not open"
            return replace(state, pending_prompts=remaining)
        case TareApplied():
            return replace(state, tare_g=state.tare_g + record.weight_g)
        case StateChanged():
            # The lifecycle was checked (cart_app.session.transition) before this was written.
            return replace(state, state=record.state)
        case HandoffQueued():
            return replace(state, handoff_key=record.idempotency_key)


def apply(state: BasketState, record: Record) -> BasketState:
    """``state`` after ``record``; :class:`BasketFoldError` if ``record`` cannot apply to it."""
    outcome = _step(state, record)
    if isinstance(outcome, str):
        raise BasketFoldError(state.record_count + 1, record, outcome)
    count = 1 if isinstance(record, SessionStarted) else state.record_count + 1
    return replace(outcome, record_count=count)


def fold(records: Iterable[Record]) -> BasketState:
    """The basket after every record in order, starting from :func:`empty_basket`."""
    state = empty_basket()
    for record in records:
        state = apply(state, record)
    return state


class SessionLog(Protocol):
    """What :func:`restore` needs from a ledger (:class:`cart_app.ledger.Ledger` is one)."""

    def latest_session_id(self) -> str | None:
        """The session to restore, or None."""
        ...

    def records(self, session_id: str) -> list[Record]:
        """That session's records in order, chain-checked."""
        ...


def restore(ledger: SessionLog) -> BasketState:
    """The basket of the session to resume after a restart; an empty idle one when none.

    Errors from reading the ledger (tampering, a newer format) and :class:`BasketFoldError`
    propagate: the caller locks the cart rather than start from a wrong basket.
    """
    session_id = ledger.latest_session_id()
    if session_id is None:
        return empty_basket()
    return fold(ledger.records(session_id))
