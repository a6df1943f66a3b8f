"""A cart's own endpoints: its public keys, sessions, telemetry, and staff badges it scans."""

from typing import Annotated

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Header, Path, Response

from cart_app.store.contract import (
    API_PREFIX,
    IDEMPOTENCY_HEADER,
    BadgeVerifyRequest,
    BadgeVerifyResult,
    CartKeyAck,
    CartKeyRegistration,
    SessionAck,
    SessionStart,
    TelemetryAck,
    TelemetryBatch,
)
from cart_app.store.token import TokenError, decode_public_key, key_id_of
from store_server.dependencies import ID_PATTERN, CartP, Ctx, own_cart
from store_server.errors import ApiProblem
from store_server.problem_responses import error_responses

# One router per OpenAPI tag, so that the application can include them in the contract's order.
carts_router = APIRouter(prefix=API_PREFIX)
telemetry_router = APIRouter(prefix=API_PREFIX)
staff_router = APIRouter(prefix=API_PREFIX)


@carts_router.put(
    "/carts/{cart_id}/keys/{key_id}",
    response_model=CartKeyAck,
    status_code=201,
    tags=["carts"],
    summary="Register the cart's Ed25519 public key (200 when already known)",
    responses=error_responses(401, 403, 409, 422),
)
def _register_key(
    *,
    ctx: Ctx,
    principal: CartP,
    cart_id: Annotated[str, Path(pattern=ID_PATTERN)],
    key_id: Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")],
    body: CartKeyRegistration,
    response: Response,
) -> CartKeyAck:
    own_cart(principal, cart_id)
    try:
        key = decode_public_key(body.public_key)
    except TokenError as exc:
        raise ApiProblem(422, "bad-public-key", str(exc)) from exc
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    if key_id_of(raw) != key_id:
        raise ApiProblem(422, "key-id-mismatch", "the key id is not the hash of this key")
    created = ctx.db.register_cart_key(cart_id, key_id, body.public_key, ctx.clock())
    response.status_code = 201 if created else 200
    return CartKeyAck(cart_id=cart_id, key_id=key_id, created=created)


@carts_router.post(
    "/sessions",
    response_model=SessionAck,
    status_code=201,
    tags=["carts"],
    summary="A shopping session started (idempotent by session id; 200 on a repeat)",
    responses=error_responses(401, 403, 409, 422),
)
def _start_session(
    ctx: Ctx,
    principal: CartP,
    body: SessionStart,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)] = None,
) -> SessionAck:
    own_cart(principal, body.cart_id)
    if idempotency_key is not None and idempotency_key != body.session_id:
        raise ApiProblem(422, "idempotency-key-mismatch", "the key must be the session id")
    created = ctx.db.start_session(body.session_id, body.cart_id, body.started_at, ctx.clock())
    response.status_code = 201 if created else 200
    return SessionAck(
        session_id=body.session_id, cart_id=body.cart_id, created=created, server_time=ctx.clock()
    )


@telemetry_router.post(
    "/telemetry",
    response_model=TelemetryAck,
    tags=["telemetry"],
    summary="Health, error and battery events (each stored once by event id)",
    responses=error_responses(401, 403, 422),
)
def _telemetry(ctx: Ctx, principal: CartP, body: TelemetryBatch) -> TelemetryAck:
    own_cart(principal, body.cart_id)
    accepted, duplicates = ctx.db.add_telemetry(body.cart_id, body.events, ctx.clock())
    return TelemetryAck(accepted=accepted, duplicates=duplicates)


@staff_router.post(
    "/staff/verify",
    response_model=BadgeVerifyResult,
    tags=["staff"],
    summary="Verify a staff badge scanned on the cart",
    responses=error_responses(401, 403, 422, 429),
)
def _verify_badge(ctx: Ctx, principal: CartP, body: BadgeVerifyRequest) -> BadgeVerifyResult:
    own_cart(principal, body.cart_id)
    limiter = ctx.badge_limiter
    assert limiter is not None
    if limiter.blocked(principal.name):
        raise ApiProblem(429, "too-many-attempts", "too many unknown badges; wait a minute")
    check = ctx.db.verify_badge(body.badge_id, ctx.clock())
    if not check.valid:
        limiter.fail(principal.name)
    return BadgeVerifyResult(
        valid=check.valid,
        staff_id=check.staff_id,
        name=check.name,
        roles=check.roles,
        reason=check.reason,
    )
