"""Messages of the core: commands into the engine's inbox and events out of it.

The architecture's ``Confirm`` and ``Ask`` (the outcomes of fusion) are commands here: fusion
decides, the engine records. Every type is a frozen dataclass so that the inbox carries values
that no other thread can change after sending.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cart_app.domain import Coupon, Evidence
from scale.types import WeightChange
from vision.types import BarcodeRead, ItemObservation


class ChangeKind(enum.StrEnum):
    """Whether a confirmed change put something in or took something out."""

    ADD = "add"
    REMOVE = "remove"


@dataclass(frozen=True, slots=True)
class StartSession:
    """Begin a shopping trip (tap on the welcome screen or a scanned loyalty/app code)."""

    session_id: str | None = None
    reason: str = "shopper"


@dataclass(frozen=True, slots=True)
class Confirm:
    """A change that fusion (or the shopper through a prompt) confirmed.

    For removals ``line_id`` names the line when fusion knows it; otherwise the newest line of
    ``sku`` is used. Per-kg products carry their settled ``weight_g`` and ``quantity`` 1.
    """

    kind: ChangeKind
    sku: str
    quantity: int = 1
    weight_g: float = 0.0
    evidence: Evidence | None = None
    line_id: int | None = None
    unit_price_cents: int | None = None


@dataclass(frozen=True, slots=True)
class Ask:
    """Fusion is unsure: ask the shopper now, while the item is still in their hand."""

    reason: str
    choices: tuple[str, ...]
    prompt_id: str | None = None
    timeout_s: float | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """The shopper's (or a scan's) answer to a pending prompt."""

    prompt_id: str
    answer: str
    answered_by: str = "shopper"
    staff_id: str = ""
    """Who answered when ``answered_by`` is ``"staff"``: recorded as ``staff <id>``."""


@dataclass(frozen=True, slots=True)
class VoidLine:
    """Cancel a whole line (a correction confirmed by the shopper or staff)."""

    line_id: int
    reason: str
    evidence: Evidence | None = None


@dataclass(frozen=True, slots=True)
class ApplyCoupon:
    """A coupon was scanned."""

    coupon: Coupon


@dataclass(frozen=True, slots=True)
class Tare:
    """The shopper's own bag or item: its weight is not merchandise ("this is mine")."""

    weight_g: float
    reason: str = "shopper's own item"


@dataclass(frozen=True, slots=True)
class RequestCheckout:
    """The shopper pressed checkout: the basket freezes."""


@dataclass(frozen=True, slots=True)
class ReopenShopping:
    """Leave checkout (the shopper went back, or the basket's weight changed)."""

    reason: str


@dataclass(frozen=True, slots=True)
class HandOff:
    """The signed basket was handed to the exit lane (or queued for it)."""

    idempotency_key: str
    token: str = ""


@dataclass(frozen=True, slots=True)
class CompleteSession:
    """The exit lane reported the basket paid."""

    reason: str = "paid"


@dataclass(frozen=True, slots=True)
class ResetCart:
    """Return a finished cart to idle for the next shopper."""

    reason: str = "next shopper"
    """Recorded with the state change (staff resets name the staff member)."""


@dataclass(frozen=True, slots=True)
class Lock:
    """Lock the cart (tamper or fault); only staff unlock it."""

    reason: str


@dataclass(frozen=True, slots=True)
class Unlock:
    """Staff unlocked the cart."""

    staff_id: str


@dataclass(frozen=True, slots=True)
class Sensed:
    """A sensor reading for fusion: an item seen, a settled weight change or a scanned code.

    Fusion turns readings into the commands above on the engine thread; nothing else may
    change the basket from a sensor.
    """

    reading: ItemObservation | WeightChange | BarcodeRead


Command = (
    StartSession
    | Confirm
    | Ask
    | Answer
    | VoidLine
    | ApplyCoupon
    | Tare
    | RequestCheckout
    | ReopenShopping
    | HandOff
    | CompleteSession
    | ResetCart
    | Lock
    | Unlock
)
"""Everything the engine's inbox accepts."""


@dataclass(frozen=True, slots=True)
class CommandRejected:
    """A command (or reading) that the engine refused; the basket is unchanged."""

    command: Command | Sensed
    reason: str


@dataclass(frozen=True, slots=True)
class EngineFault:
    """The engine cannot record changes (disk full, corrupt ledger): the cart is locked."""

    message: str
