"""The audit log as staff read it: the session's ledger records, newest first, in words."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from cart_app.domain import Evidence
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
from ui.i18n import Translator
from ui.viewmodels import formatting as fmt


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
