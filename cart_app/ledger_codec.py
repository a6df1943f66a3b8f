"""Ledger records to and from their stored form: a kind string and a canonical JSON payload.

The payload is canonical so that the hash chain (see :mod:`cart_app.ledger`) is computed over
exactly the bytes that are stored: keys sorted, no whitespace, ASCII only, no NaN or infinity.
Floats are written with Python's shortest round-tripping ``repr``, so a float read back is the
same float that was written. Enums are stored by value, tuples as arrays, nested
:class:`~cart_app.domain.Evidence` and :class:`~cart_app.domain.Coupon` as objects.

Decoding is strict: a missing or unknown field, or a value of the wrong type, is an error. Any
change to the stored form must bump the ledger's schema version, so a field this code does not
know means a newer writer or a damaged row, never something to skip.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Final

from cart_app.domain import Coupon, Evidence, EvidenceSource
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

JsonValue = None | bool | int | float | str | list["JsonValue"] | dict[str, "JsonValue"]
"""A value that :func:`canonical_json` can write."""

GENESIS_HASH: Final = "0" * 64
"""The ``prev_hash`` of the first entry of a ledger file."""

KIND_BY_TYPE: Final[dict[type[Record], str]] = {
    SessionStarted: "session_started",
    LineAdded: "line_added",
    LineRemoved: "line_removed",
    LineVoided: "line_voided",
    CouponApplied: "coupon_applied",
    PromptOpened: "prompt_opened",
    PromptAnswered: "prompt_answered",
    TareApplied: "tare_applied",
    StateChanged: "state_changed",
    HandoffQueued: "handoff_queued",
}
"""The stored kind string of every record type. Never rename one: old files use them."""


class CodecError(ValueError):
    """A record could not be encoded, or a stored payload could not be decoded."""


class UnknownKindError(CodecError):
    """A stored record kind this version does not know (written by a newer version)."""

    def __init__(self, kind: str) -> None:
        super().__init__(
            f"unknown record kind {kind!r}: written by a newer version of smartcart, "
            f"or the row is damaged"
        )
        self.kind = kind


def canonical_json(value: JsonValue) -> str:
    """The one canonical JSON text of ``value``: sorted keys, no spaces, ASCII, finite floats."""
    try:
        return json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
        )
    except ValueError as exc:
        raise CodecError(f"cannot store a non-finite number: {exc}") from exc


def entry_hash(
    prev_hash: str, *, seq: int, session_id: str, t_wall: float, kind: str, payload_json: str
) -> str:
    """SHA-256 (hex) of ``prev_hash`` bytes followed by the canonical JSON of the entry.

    The entry is the array ``[seq, session_id, t_wall, kind, payload]``. The payload is spliced
    in as the stored text rather than re-serialised, so any change to the stored bytes,
    whitespace included, changes the hash; for a payload this codec wrote the result equals
    ``canonical_json([seq, session_id, t_wall, kind, json.loads(payload_json)])``.
    """
    head = canonical_json([seq, session_id, t_wall, kind])
    message = f"{head[:-1]},{payload_json}]"
    try:
        prev = bytes.fromhex(prev_hash)
    except ValueError:
        # A damaged prev_hash still hashes deterministically, so verification reports a
        # mismatch instead of crashing.
        prev = prev_hash.encode("utf-8", "surrogatepass")
    return hashlib.sha256(prev + message.encode("utf-8", "surrogatepass")).hexdigest()


# --- encoding ---------------------------------------------------------------------------------


def _float(value: float) -> float:
    number = float(value)
    if not math.isfinite(number):
        raise CodecError(f"cannot store a non-finite number: {number!r}")
    return number


def _opt_float(value: float | None) -> float | None:
    return None if value is None else _float(value)


def _evidence(evidence: Evidence | None) -> JsonValue:
    if evidence is None:
        return None
    return {
        "source": evidence.source.value,
        "weight_delta_g": _opt_float(evidence.weight_delta_g),
        "gtin": evidence.gtin,
        "vision_label": evidence.vision_label,
        "vision_probability": _opt_float(evidence.vision_probability),
        "camera_id": evidence.camera_id,
        "note": evidence.note,
    }


def _coupon(coupon: Coupon) -> JsonValue:
    return {
        "code": coupon.code,
        "amount_off_cents": coupon.amount_off_cents,
        "percent_off": coupon.percent_off,
        "sku": coupon.sku,
    }


def _payload(record: Record) -> dict[str, JsonValue]:
    match record:
        case SessionStarted():
            return {"session_id": record.session_id, "cart_id": record.cart_id}
        case LineAdded():
            return {
                "line_id": record.line_id,
                "sku": record.sku,
                "quantity": record.quantity,
                "weight_g": _float(record.weight_g),
                "unit_price_cents": record.unit_price_cents,
                "evidence": _evidence(record.evidence),
            }
        case LineRemoved():
            return {
                "line_id": record.line_id,
                "quantity": record.quantity,
                "weight_g": _float(record.weight_g),
                "evidence": _evidence(record.evidence),
            }
        case LineVoided():
            return {
                "line_id": record.line_id,
                "reason": record.reason,
                "evidence": _evidence(record.evidence),
            }
        case CouponApplied():
            return {"coupon": _coupon(record.coupon)}
        case PromptOpened():
            return {
                "prompt_id": record.prompt_id,
                "reason": record.reason,
                "choices": list(record.choices),
                "deadline": _float(record.deadline),
            }
        case PromptAnswered():
            return {
                "prompt_id": record.prompt_id,
                "answer": record.answer,
                "answered_by": record.answered_by,
            }
        case TareApplied():
            return {"weight_g": _float(record.weight_g), "reason": record.reason}
        case StateChanged():
            return {"state": record.state.value, "reason": record.reason}
        case HandoffQueued():
            return {"idempotency_key": record.idempotency_key, "token": record.token}


def encode_record(record: Record) -> tuple[str, str]:
    """``(kind, canonical payload JSON)`` of ``record``; :class:`CodecError` for NaN or inf."""
    kind = KIND_BY_TYPE.get(type(record))
    if kind is None:
        raise CodecError(f"not a ledger record: {type(record).__name__}")
    return kind, canonical_json(_payload(record))


# --- decoding ---------------------------------------------------------------------------------


class _Fields:
    """Typed, strict access to one JSON object; :meth:`done` rejects fields nobody read."""

    def __init__(self, raw: object, where: str) -> None:
        if not isinstance(raw, dict):
            raise CodecError(f"{where}: expected a JSON object, found {type(raw).__name__}")
        self._raw: dict[str, object] = raw
        self._where = where
        self._seen: set[str] = set()

    def _get(self, key: str) -> object:
        if key not in self._raw:
            raise CodecError(f"{self._where}: missing field {key!r}")
        self._seen.add(key)
        return self._raw[key]

    def _bad(self, key: str, expected: str, value: object) -> CodecError:
        return CodecError(f"{self._where}.{key}: expected {expected}, found {value!r}")

    def str_(self, key: str) -> str:
        value = self._get(key)
        if not isinstance(value, str):
            raise self._bad(key, "a string", value)
        return value

    def opt_str(self, key: str) -> str | None:
        return None if self._get(key) is None else self.str_(key)

    def int_(self, key: str) -> int:
        value = self._get(key)
        # bool is an int subclass; a stored true/false is never a count.
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._bad(key, "an integer", value)
        return value

    def opt_int(self, key: str) -> int | None:
        return None if self._get(key) is None else self.int_(key)

    def float_(self, key: str) -> float:
        value = self._get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self._bad(key, "a number", value)
        return float(value)

    def opt_float(self, key: str) -> float | None:
        return None if self._get(key) is None else self.float_(key)

    def str_tuple(self, key: str) -> tuple[str, ...]:
        value = self._get(key)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self._bad(key, "an array of strings", value)
        return tuple(str(item) for item in value)

    def nested(self, key: str) -> _Fields:
        return _Fields(self._get(key), f"{self._where}.{key}")

    def is_null(self, key: str) -> bool:
        return self._get(key) is None

    def done(self) -> None:
        unknown = sorted(set(self._raw) - self._seen)
        if unknown:
            raise CodecError(f"{self._where}: unknown fields {unknown}")


def _decode_evidence(fields: _Fields, key: str) -> Evidence | None:
    if fields.is_null(key):
        return None
    ev = fields.nested(key)
    source = ev.str_("source")
    try:
        source_enum = EvidenceSource(source)
    except ValueError:
        raise CodecError(f"unknown evidence source {source!r}") from None
    evidence = Evidence(
        source=source_enum,
        weight_delta_g=ev.opt_float("weight_delta_g"),
        gtin=ev.opt_str("gtin"),
        vision_label=ev.opt_str("vision_label"),
        vision_probability=ev.opt_float("vision_probability"),
        camera_id=ev.opt_str("camera_id"),
        note=ev.str_("note"),
    )
    ev.done()
    return evidence


def _decode_coupon(fields: _Fields) -> Coupon:
    coupon = Coupon(
        code=fields.str_("code"),
        amount_off_cents=fields.int_("amount_off_cents"),
        percent_off=fields.int_("percent_off"),
        sku=fields.opt_str("sku"),
    )
    fields.done()
    return coupon


def _decode_state(value: str) -> SessionState:
    try:
        return SessionState(value)
    except ValueError:
        raise CodecError(f"unknown session state {value!r}") from None


def _decode(kind: str, f: _Fields) -> Record:
    record: Record
    if kind == "session_started":
        record = SessionStarted(session_id=f.str_("session_id"), cart_id=f.str_("cart_id"))
    elif kind == "line_added":
        record = LineAdded(
            line_id=f.int_("line_id"),
            sku=f.str_("sku"),
            quantity=f.int_("quantity"),
            weight_g=f.float_("weight_g"),
            unit_price_cents=f.opt_int("unit_price_cents"),
            evidence=_decode_evidence(f, "evidence"),
        )
    elif kind == "line_removed":
        record = LineRemoved(
            line_id=f.int_("line_id"),
            quantity=f.int_("quantity"),
            weight_g=f.float_("weight_g"),
            evidence=_decode_evidence(f, "evidence"),
        )
    elif kind == "line_voided":
        record = LineVoided(
            line_id=f.int_("line_id"),
            reason=f.str_("reason"),
            evidence=_decode_evidence(f, "evidence"),
        )
    elif kind == "coupon_applied":
        record = CouponApplied(coupon=_decode_coupon(f.nested("coupon")))
    elif kind == "prompt_opened":
        record = PromptOpened(
            prompt_id=f.str_("prompt_id"),
            reason=f.str_("reason"),
            choices=f.str_tuple("choices"),
            deadline=f.float_("deadline"),
        )
    elif kind == "prompt_answered":
        record = PromptAnswered(
            prompt_id=f.str_("prompt_id"),
            answer=f.str_("answer"),
            answered_by=f.str_("answered_by"),
        )
    elif kind == "tare_applied":
        record = TareApplied(weight_g=f.float_("weight_g"), reason=f.str_("reason"))
    elif kind == "state_changed":
        record = StateChanged(state=_decode_state(f.str_("state")), reason=f.str_("reason"))
    elif kind == "handoff_queued":
        record = HandoffQueued(idempotency_key=f.str_("idempotency_key"), token=f.str_("token"))
    else:
        raise UnknownKindError(kind)
    f.done()
    return record


def decode_record(kind: str, payload_json: str) -> Record:
    """The record stored as ``kind`` with ``payload_json``.

    Raises :class:`UnknownKindError` for a kind this version does not know and
    :class:`CodecError` for a payload that is not exactly what this version writes.
    """
    if kind not in _KNOWN_KINDS:
        raise UnknownKindError(kind)
    try:
        raw: object = json.loads(payload_json)
    except json.JSONDecodeError as exc:
        raise CodecError(f"{kind}: payload is not JSON ({exc})") from None
    return _decode(kind, _Fields(raw, kind))


_KNOWN_KINDS: Final = frozenset(KIND_BY_TYPE.values())
