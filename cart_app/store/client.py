"""Typed calls of store API v1 (``docs/store-api.md``), each answer validated by the contract.

A response is used only when its status is one the call expects, its media type is JSON and
its body passes the contract's strict model; anything else raises a :class:`StoreError`
subclass and nothing of it reaches the cart. Every call here is idempotent (reads, PUTs, and
POSTs carrying an idempotency key or naming what they create), so every call is retried on
transient failures.
"""

from __future__ import annotations

import json
from typing import Final, TypeVar

from pydantic import BaseModel, ValidationError

from cart_app.store.contract import (
    API_PREFIX,
    IDEMPOTENCY_HEADER,
    BadgeVerifyRequest,
    BadgeVerifyResult,
    CartKeyAck,
    CartKeyRegistration,
    CatalogChanges,
    CatalogSnapshot,
    HandoffAck,
    HandoffRequest,
    Health,
    PaymentStatus,
    Problem,
    SessionAck,
    SessionStart,
    TelemetryAck,
    TelemetryBatch,
    VoidRequest,
    catalog_etag,
)
from cart_app.store.http import (
    HttpTransport,
    RawResponse,
    StoreAuthError,
    StoreHTTPError,
    StoreProtocolError,
    TransportSettings,
)

DEFAULT_MAX_CATALOG_BYTES: Final = 32 * 1024 * 1024
MAX_LONG_POLL_S: Final = 30.0

_M = TypeVar("_M", bound=BaseModel)


class CatalogResyncNeeded(StoreHTTPError):
    """The store cannot give changes since the cart's version: download the whole catalog."""


def describe_validation(exc: ValidationError, limit: int = 3) -> str:
    """The first few problems of a validation error as ``path: message`` (for log lines)."""
    parts = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "(body)"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"... and {more} more")
    return "; ".join(parts)


class StoreClient:
    """The store API as methods. Thread-safe; close with :meth:`close`."""

    def __init__(
        self, transport: HttpTransport, *, max_catalog_bytes: int = DEFAULT_MAX_CATALOG_BYTES
    ) -> None:
        """Use ``transport`` for every call; catalog bodies may be up to ``max_catalog_bytes``."""
        self._http = transport
        self._max_catalog_bytes = max_catalog_bytes

    @classmethod
    def from_settings(cls, settings: TransportSettings, **kwargs: int) -> StoreClient:
        """A client with its own transport."""
        return cls(HttpTransport(settings), **kwargs)

    @property
    def base_url(self) -> str:
        """The store's API root."""
        return self._http.base_url

    def close(self) -> None:
        """Close connections; later calls fail."""
        self._http.close()

    # --- calls ----------------------------------------------------------------------------

    def health(self) -> Health:
        """``GET /v1/health``."""
        return self._expect(self._get("/health"), Health, "health")

    def catalog(self, known_version: int | None = None) -> CatalogSnapshot | None:
        """The whole catalog, or None when the store's version is still ``known_version``."""
        headers = {} if known_version is None else {"If-None-Match": catalog_etag(known_version)}
        raw = self._get("/catalog", headers=headers, max_body_bytes=self._max_catalog_bytes)
        if raw.status == 304 and known_version is not None:
            return None
        return self._expect(raw, CatalogSnapshot, "catalog")

    def catalog_changes(self, since: int) -> CatalogChanges | None:
        """Changes after version ``since``; None when there are none.

        Raises :class:`CatalogResyncNeeded` when the store cannot give them (410).
        """
        raw = self._get(
            "/catalog/changes",
            params={"since": since},
            headers={"If-None-Match": catalog_etag(since)},
            max_body_bytes=self._max_catalog_bytes,
        )
        if raw.status == 304:
            return None
        if raw.status == 410:
            problem = self._problem(raw)
            raise CatalogResyncNeeded(410, problem.type, problem.detail)
        changes = self._expect(raw, CatalogChanges, "catalog changes")
        if changes.since != since or changes.version <= since:
            raise StoreProtocolError(
                f"catalog changes answer versions {changes.since}->{changes.version} to a "
                f"request for changes since {since}"
            )
        return changes

    def register_key(self, cart_id: str, key_id: str, public_key_b64: str) -> CartKeyAck:
        """``PUT /v1/carts/{cart_id}/keys/{key_id}``: register the cart's public key."""
        body = CartKeyRegistration(public_key=public_key_b64)
        raw = self._send("PUT", f"/carts/{cart_id}/keys/{key_id}", body)
        ack = self._expect(raw, CartKeyAck, "key registration", ok=(200, 201))
        if ack.key_id != key_id or ack.cart_id != cart_id:
            raise StoreProtocolError("key registration acknowledged another key or cart")
        return ack

    def start_session(self, start: SessionStart) -> SessionAck:
        """``POST /v1/sessions`` (idempotent by session id)."""
        raw = self._send("POST", "/sessions", start, key=start.session_id)
        ack = self._expect(raw, SessionAck, "session start", ok=(200, 201))
        if ack.session_id != start.session_id:
            raise StoreProtocolError("session start acknowledged another session")
        return ack

    def hand_off(self, request: HandoffRequest) -> HandoffAck:
        """``POST /v1/handoffs`` with the handoff id as idempotency key."""
        raw = self._send("POST", "/handoffs", request, key=request.handoff_id)
        ack = self._expect(raw, HandoffAck, "handoff", ok=(200, 201))
        if ack.handoff_id != request.handoff_id:
            raise StoreProtocolError("handoff acknowledged another handoff id")
        return ack

    def void_handoff(self, handoff_id: str, reason: str) -> PaymentStatus:
        """``POST /v1/handoffs/{id}/void``: the basket changed; the token must not be paid."""
        raw = self._send(
            "POST", f"/handoffs/{handoff_id}/void", VoidRequest(reason=reason[:200] or "void")
        )
        return self._checked_status(raw, handoff_id)

    def payment_status(self, handoff_id: str, wait_s: float = 0.0) -> PaymentStatus:
        """``GET /v1/handoffs/{id}/payment``, long-polling up to ``wait_s`` seconds."""
        wait = max(0.0, min(wait_s, MAX_LONG_POLL_S))
        raw = self._get(
            f"/handoffs/{handoff_id}/payment",
            params={"wait": int(wait)} if wait >= 1 else None,
            read_timeout_s=self._http.settings.read_timeout_s + wait,
        )
        return self._checked_status(raw, handoff_id)

    def send_telemetry(self, batch: TelemetryBatch) -> TelemetryAck:
        """``POST /v1/telemetry`` (the server stores each event id once)."""
        raw = self._send("POST", "/telemetry", batch)
        ack = self._expect(raw, TelemetryAck, "telemetry")
        if ack.accepted + ack.duplicates != len(batch.events):
            raise StoreProtocolError(
                f"telemetry acknowledged {ack.accepted + ack.duplicates} of "
                f"{len(batch.events)} events"
            )
        return ack

    def verify_badge(self, badge_id: str, cart_id: str) -> BadgeVerifyResult:
        """``POST /v1/staff/verify``."""
        raw = self._send(
            "POST", "/staff/verify", BadgeVerifyRequest(badge_id=badge_id, cart_id=cart_id)
        )
        return self._expect(raw, BadgeVerifyResult, "badge verification")

    # --- plumbing -------------------------------------------------------------------------

    def _get(
        self,
        path: str,
        *,
        params: dict[str, str | int] | None = None,
        headers: dict[str, str] | None = None,
        max_body_bytes: int | None = None,
        read_timeout_s: float | None = None,
    ) -> RawResponse:
        return self._http.request(
            "GET",
            API_PREFIX + path,
            idempotent=True,
            params=params,
            headers=headers,
            max_body_bytes=max_body_bytes,
            read_timeout_s=read_timeout_s,
        )

    def _send(
        self, method: str, path: str, body: BaseModel, *, key: str | None = None
    ) -> RawResponse:
        headers = {IDEMPOTENCY_HEADER: key} if key else {}
        return self._http.request(
            method,
            API_PREFIX + path,
            idempotent=True,
            body=body.model_dump_json().encode("utf-8"),
            headers=headers,
        )

    def _checked_status(self, raw: RawResponse, handoff_id: str) -> PaymentStatus:
        status = self._expect(raw, PaymentStatus, "payment status")
        if status.handoff_id != handoff_id:
            raise StoreProtocolError("payment status names another handoff")
        return status

    def _problem(self, raw: RawResponse) -> Problem:
        try:
            return Problem.model_validate_json(raw.body)
        except ValidationError:
            text = raw.body[:200].decode("utf-8", "replace")
            return Problem(type="unknown", title="error", status=raw.status, detail=text)

    def _expect(
        self, raw: RawResponse, model: type[_M], what: str, *, ok: tuple[int, ...] = (200,)
    ) -> _M:
        if raw.status in ok:
            if raw.content_type != "application/json":
                raise StoreProtocolError(
                    f"{what}: expected application/json, got {raw.content_type or 'nothing'!r}"
                )
            try:
                return model.model_validate_json(raw.body)
            except ValidationError as exc:
                raise StoreProtocolError(
                    f"{what}: the store's answer breaks the contract: {describe_validation(exc)}"
                ) from exc
            except (ValueError, RecursionError) as exc:
                raise StoreProtocolError(f"{what}: unreadable answer: {exc}") from exc
        if raw.status >= 400:
            problem = self._problem(raw)
            if raw.status in (401, 403):
                raise StoreAuthError(
                    f"{what}: store refused ({raw.status} {problem.type}): {problem.detail}"
                )
            raise StoreHTTPError(raw.status, problem.type, problem.detail)
        raise StoreProtocolError(f"{what}: unexpected status {raw.status}")


def dump_json(model: BaseModel) -> str:
    """A model as compact JSON (the outbox stores request bodies this way)."""
    return json.dumps(model.model_dump(mode="json"), separators=(",", ":"), sort_keys=True)
