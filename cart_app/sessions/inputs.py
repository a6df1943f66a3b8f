"""The shopper's and staff's inputs of a session (``inputs.jsonl``), and their engine commands.

One JSON object a line, in time order, each with ``t`` (the cart's monotonic clock) and
``kind``. They are what reached the engine from outside its sensors: taps on the touchscreen,
codes read by the basket scanner, the exit lane's messages. Sensor readings are not inputs:
the session keeps the raw frames and bytes they came from, and the replay derives them anew.

A prompt answer names the prompt by what it asked (``prompt_reason``), not by its id: a
replay opens its own prompts with its own ids, and an answer goes to the newest open prompt
with that reason that offers the chosen answer (see :func:`cart_app.sessions.replay`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from cart_app.domain import Coupon
from cart_app.events import (
    Answer,
    ApplyCoupon,
    Command,
    CompleteSession,
    HandOff,
    Lock,
    ReopenShopping,
    RequestCheckout,
    ResetCart,
    Sensed,
    StartSession,
    Tare,
    Unlock,
    VoidLine,
)
from cart_app.sessions.format import SessionError
from vision.types import BarcodeRead


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    t: float


class StartInput(_Input):
    kind: Literal["start"]
    session_id: str | None = None
    reason: str = "shopper"


class AnswerInput(_Input):
    kind: Literal["answer"]
    answer: str = Field(min_length=1)
    answered_by: Literal["shopper", "staff"] = "shopper"
    prompt_reason: str | None = None
    """The reason of the prompt answered; None: the newest prompt offering ``answer``."""
    prompt_id: str | None = None
    """The id the prompt had when recorded (for people; a replay's ids differ)."""


class ScanInput(_Input):
    kind: Literal["scan"]
    symbology: str
    text: str
    gtin: str | None = None


class CheckoutInput(_Input):
    kind: Literal["checkout"]


class ReopenInput(_Input):
    kind: Literal["reopen"]
    reason: str = "shopper"


class HandOffInput(_Input):
    kind: Literal["handoff"]
    idempotency_key: str
    token: str = ""


class CompleteInput(_Input):
    kind: Literal["complete"]
    reason: str = "paid"


class ResetInput(_Input):
    kind: Literal["reset"]


class LockInput(_Input):
    kind: Literal["lock"]
    reason: str


class UnlockInput(_Input):
    kind: Literal["unlock"]
    staff_id: str


class VoidInput(_Input):
    kind: Literal["void"]
    line_id: int
    reason: str


class CouponInput(_Input):
    kind: Literal["coupon"]
    code: str
    amount_off_cents: int = 0
    percent_off: int = 0
    sku: str | None = None


class TareInput(_Input):
    kind: Literal["tare"]
    weight_g: float
    reason: str = "shopper's own item"


SessionInput = Annotated[
    StartInput
    | AnswerInput
    | ScanInput
    | CheckoutInput
    | ReopenInput
    | HandOffInput
    | CompleteInput
    | ResetInput
    | LockInput
    | UnlockInput
    | VoidInput
    | CouponInput
    | TareInput,
    Field(discriminator="kind"),
]
_ADAPTER: TypeAdapter[SessionInput] = TypeAdapter(SessionInput)


def parse_input(line: str) -> SessionInput:
    """One line of ``inputs.jsonl``; ``ValueError`` says what is wrong with it."""
    try:
        return _ADAPTER.validate_json(line)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(line)'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(problems) from exc


def read_inputs(path: Path) -> list[SessionInput]:
    """Every input of ``path`` in order; :class:`SessionError` names the bad line."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise SessionError(f"{path}: missing (the inputs)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SessionError(f"{path}: cannot read: {exc}") from exc
    out: list[SessionInput] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = parse_input(line)
        except ValueError as exc:
            raise SessionError(f"{path}:{number}: {exc}") from exc
        if out and item.t < out[-1].t:
            raise SessionError(f"{path}:{number}: time {item.t} goes backwards")
        out.append(item)
    return out


def encode_input(item: SessionInput) -> str:
    """The ``inputs.jsonl`` line of ``item`` (without the newline); keys in a fixed order."""
    return json.dumps(item.model_dump(mode="json", exclude_none=True), separators=(",", ":"))


def write_inputs(path: Path, items: Iterable[SessionInput]) -> None:
    """Write ``items`` as ``inputs.jsonl``."""
    with path.open("w", encoding="utf-8") as fh:
        for item in items:
            fh.write(encode_input(item) + "\n")


@dataclass(frozen=True, slots=True)
class PromptTarget:
    """An answer that still needs its prompt found: the replay resolves it at its time."""

    answer: str
    answered_by: str
    prompt_reason: str | None


def to_engine(item: SessionInput) -> Command | Sensed | PromptTarget:
    """The engine input an input stands for (an answer first needs its prompt found)."""
    if isinstance(item, StartInput):
        return StartSession(item.session_id, item.reason)
    if isinstance(item, AnswerInput):
        return PromptTarget(item.answer, item.answered_by, item.prompt_reason)
    if isinstance(item, ScanInput):
        return Sensed(BarcodeRead(item.symbology, item.text, item.gtin, 1.0))
    if isinstance(item, CheckoutInput):
        return RequestCheckout()
    if isinstance(item, ReopenInput):
        return ReopenShopping(item.reason)
    if isinstance(item, HandOffInput):
        return HandOff(item.idempotency_key, item.token)
    if isinstance(item, CompleteInput):
        return CompleteSession(item.reason)
    if isinstance(item, ResetInput):
        return ResetCart()
    if isinstance(item, LockInput):
        return Lock(item.reason)
    if isinstance(item, UnlockInput):
        return Unlock(item.staff_id)
    if isinstance(item, VoidInput):
        return VoidLine(item.line_id, item.reason)
    if isinstance(item, CouponInput):
        coupon = Coupon(item.code, item.amount_off_cents, item.percent_off, item.sku)
        return ApplyCoupon(coupon)
    return Tare(item.weight_g, item.reason)


def from_engine(
    t: float, command: Command | Sensed, open_reasons: Sequence[tuple[str, str]] = ()
) -> SessionInput | None:
    """The input to record for a command that reached the engine from outside, if any.

    ``open_reasons`` are the (prompt id, reason) pairs open when it arrived, so an answer
    is recorded with the reason of its prompt. Sensor readings other than scans are not
    inputs (the session keeps their raw data); neither are fusion's own commands.
    """
    if isinstance(command, Sensed):
        read = command.reading
        if isinstance(read, BarcodeRead):
            return ScanInput(
                kind="scan", t=t, symbology=read.symbology, text=read.text, gtin=read.gtin
            )
        return None
    if isinstance(command, StartSession):
        return StartInput(kind="start", t=t, session_id=command.session_id, reason=command.reason)
    if isinstance(command, Answer):
        if command.answered_by not in ("shopper", "staff"):
            return None
        reason = dict(open_reasons).get(command.prompt_id)
        return AnswerInput(
            kind="answer",
            t=t,
            answer=command.answer,
            answered_by="staff" if command.answered_by == "staff" else "shopper",
            prompt_reason=reason,
            prompt_id=command.prompt_id,
        )
    if isinstance(command, RequestCheckout):
        return CheckoutInput(kind="checkout", t=t)
    if isinstance(command, ReopenShopping):
        return ReopenInput(kind="reopen", t=t, reason=command.reason)
    if isinstance(command, HandOff):
        return HandOffInput(
            kind="handoff", t=t, idempotency_key=command.idempotency_key, token=command.token
        )
    if isinstance(command, CompleteSession):
        return CompleteInput(kind="complete", t=t, reason=command.reason)
    if isinstance(command, ResetCart):
        return ResetInput(kind="reset", t=t)
    if isinstance(command, Lock):
        return LockInput(kind="lock", t=t, reason=command.reason)
    if isinstance(command, Unlock):
        return UnlockInput(kind="unlock", t=t, staff_id=command.staff_id)
    if isinstance(command, VoidLine):
        return VoidInput(kind="void", t=t, line_id=command.line_id, reason=command.reason)
    if isinstance(command, ApplyCoupon):
        c = command.coupon
        return CouponInput(
            kind="coupon",
            t=t,
            code=c.code,
            amount_off_cents=c.amount_off_cents,
            percent_off=c.percent_off,
            sku=c.sku,
        )
    if isinstance(command, Tare):
        return TareInput(kind="tare", t=t, weight_g=command.weight_g, reason=command.reason)
    return None  # Confirm and Ask come from fusion, never from outside
