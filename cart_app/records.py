"""The ledger's record types: every change to a session, with its evidence.

The basket is a fold over these records (see :mod:`cart_app.basket`). Records are frozen
dataclasses; :mod:`cart_app.ledger` owns their storage format.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cart_app.domain import Coupon, Evidence
from cart_app.session import SessionState


@dataclass(frozen=True, slots=True)
class SessionStarted:
    """A new shopping session began on this cart."""

    session_id: str
    cart_id: str


@dataclass(frozen=True, slots=True)
class LineAdded:
    """Units (or grams, for per-kg products) went into the basket.

    ``line_id`` is chosen by the engine: a new id opens a line, an existing id of the same SKU
    adds to it.
    """

    line_id: int
    sku: str
    quantity: int
    weight_g: float = 0.0
    unit_price_cents: int | None = None
    evidence: Evidence | None = None


@dataclass(frozen=True, slots=True)
class LineRemoved:
    """Units (or grams) came out of the basket from a named line."""

    line_id: int
    quantity: int
    weight_g: float = 0.0
    evidence: Evidence | None = None


@dataclass(frozen=True, slots=True)
class LineVoided:
    """A line was cancelled as a whole (a correction by the shopper or staff)."""

    line_id: int
    reason: str
    evidence: Evidence | None = None


@dataclass(frozen=True, slots=True)
class CouponApplied:
    """A coupon was scanned and accepted."""

    coupon: Coupon


@dataclass(frozen=True, slots=True)
class PromptOpened:
    """The cart asked the shopper something; it stays pending until answered or expired."""

    prompt_id: str
    reason: str
    choices: tuple[str, ...]
    deadline: float


@dataclass(frozen=True, slots=True)
class PromptAnswered:
    """The shopper (or a barcode scan, or the deadline) closed a prompt."""

    prompt_id: str
    answer: str
    answered_by: str


@dataclass(frozen=True, slots=True)
class TareApplied:
    """A shopper's own bag or personal item was tared: its weight is not merchandise."""

    weight_g: float
    reason: str


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The session moved to a new lifecycle state."""

    state: SessionState
    reason: str = ""


@dataclass(frozen=True, slots=True)
class HandoffQueued:
    """The basket was handed to the exit lane (or queued for when the network returns)."""

    idempotency_key: str
    token: str = field(default="", repr=False)


Record = (
    SessionStarted
    | LineAdded
    | LineRemoved
    | LineVoided
    | CouponApplied
    | PromptOpened
    | PromptAnswered
    | TareApplied
    | StateChanged
    | HandoffQueued
)
"""Every kind of record the ledger holds."""
