"""The store API v1 as a FastAPI application (``create_app``).

Every body is declared with the contract's models (:mod:`cart_app.store.contract`), so FastAPI
validates input by schema (strict, unknown fields refused) and ``/openapi.json`` is the written
contract. Errors are ``application/problem+json`` with a stable ``type`` slug.

Endpoints that touch the database are plain functions (FastAPI runs them in its thread pool);
the payment long poll is a coroutine that waits on an in-process notifier, re-reading the
database at least once a second so that a payment made by another server process is seen too.
"""

import asyncio
import hashlib
import logging
import time
from collections import deque
from collections.abc import Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Annotated, Any

from cryptography.hazmat.primitives import serialization
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cart_app.store.contract import (
    API_PREFIX,
    API_VERSION,
    IDEMPOTENCY_HEADER,
    REPLAYED_HEADER,
    BadgeVerifyRequest,
    BadgeVerifyResult,
    CartKeyAck,
    CartKeyInfo,
    CartKeyRegistration,
    CartKeys,
    CatalogChanges,
    CatalogSnapshot,
    CatalogUpload,
    CatalogUploadResult,
    HandoffAck,
    HandoffRequest,
    Health,
    LanePayRequest,
    LanePayResult,
    LaneVerifyRequest,
    LaneVerifyResult,
    PaymentStatus,
    Problem,
    SessionAck,
    SessionStart,
    TelemetryAck,
    TelemetryBatch,
    VoidRequest,
    catalog_etag,
    etag_version,
    handoff_lines_hash,
)
from cart_app.store.token import (
    TokenClaims,
    TokenError,
    TokenExpired,
    TokenMalformed,
    TokenSignatureInvalid,
    TokenUnknownKey,
    decode_public_key,
    key_id_of,
    parse_token,
    verify_token,
)
from store_server.db import ApiProblem, Principal, StoreDB

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_ADMIN_BODY_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_WAIT_S = 30
_RECHECK_S = 1.0

_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
_HANDOFF_ID = r"^[0-9a-f]{32}$"


class PaymentNotifier:
    """Wakes long polls of a handoff when its status changes in this process."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[str, set[asyncio.Event]] = {}

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach to the server's event loop (at start-up)."""
        self._loop = loop

    def register(self, handoff_id: str) -> asyncio.Event:
        """An event set at the next change of ``handoff_id`` (event-loop thread only)."""
        waiter = asyncio.Event()
        self._waiters.setdefault(handoff_id, set()).add(waiter)
        return waiter

    def unregister(self, handoff_id: str, waiter: asyncio.Event) -> None:
        """Forget a waiter (event-loop thread only)."""
        waiters = self._waiters.get(handoff_id)
        if waiters is not None:
            waiters.discard(waiter)
            if not waiters:
                del self._waiters[handoff_id]

    def notify(self, handoff_id: str) -> None:
        """``handoff_id`` changed; callable from any thread."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake, handoff_id)

    def _wake(self, handoff_id: str) -> None:
        for waiter in self._waiters.get(handoff_id, ()):
            waiter.set()


class FailureLimiter:
    """At most ``limit`` failures per key in a sliding ``window_s`` (badge guessing)."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float]) -> None:
        self._limit = limit
        self._window = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def blocked(self, key: str) -> bool:
        """Whether ``key`` used up its failures."""
        times = self._failures.get(key)
        if not times:
            return False
        cutoff = self._clock() - self._window
        while times and times[0] < cutoff:
            times.popleft()
        return len(times) >= self._limit

    def fail(self, key: str) -> None:
        """Count one failure of ``key``."""
        self._failures.setdefault(key, deque()).append(self._clock())


@dataclass
class ServerContext:
    """What the endpoints share: the database, the clock and the long-poll notifier."""

    db: StoreDB
    clock: Callable[[], float] = time.time
    token_leeway_s: float = 60.0
    max_wait_s: int = DEFAULT_MAX_WAIT_S
    notifier: PaymentNotifier = field(default_factory=PaymentNotifier)
    badge_limiter: FailureLimiter | None = None

    def __post_init__(self) -> None:
        if self.badge_limiter is None:
            self.badge_limiter = FailureLimiter(10, 60.0, self.clock)


def _problem(
    status: int, problem_type: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    titles = {
        400: "Bad request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not found",
        405: "Method not allowed",
        409: "Conflict",
        410: "Gone",
        413: "Payload too large",
        422: "Unprocessable content",
        428: "Precondition required",
        429: "Too many requests",
        500: "Internal server error",
    }
    body = Problem(
        type=problem_type, title=titles.get(status, "Error"), status=status, detail=detail[:4000]
    )
    return JSONResponse(
        body.model_dump(),
        status_code=status,
        media_type="application/problem+json",
        headers=headers,
    )


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    # Every error is problem+json; 422 is listed everywhere because invalid input of any
    # endpoint is answered with a Problem (not FastAPI's default validation body).
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {
        code: {"model": Problem, "description": "An error (problem+json)", "content": problem}
        for code in sorted({*codes, 422, 500})
    }


# --- dependencies ----------------------------------------------------------------------------

_bearer = HTTPBearer(auto_error=False, description="The cart's, lane's or admin's API key.")


def _ctx(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


Ctx = Annotated[ServerContext, Depends(_ctx)]


def _principal(
    ctx: Ctx, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise ApiProblem(401, "unauthenticated", "send the API key as 'Authorization: Bearer ...'")
    principal = ctx.db.authenticate(credentials.credentials)
    if principal is None:
        raise ApiProblem(401, "bad-api-key", "the API key is unknown or revoked")
    return principal


def _role(role: str) -> Callable[[Principal], Principal]:
    def check(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        if principal.role != role:
            raise ApiProblem(403, "wrong-role", f"this endpoint is for {role}s")
        return principal

    return check


CartP = Annotated[Principal, Depends(_role("cart"))]
LaneP = Annotated[Principal, Depends(_role("lane"))]
AdminP = Annotated[Principal, Depends(_role("admin"))]


def _own_cart(principal: Principal, cart_id: str) -> None:
    if principal.name != cart_id:
        raise ApiProblem(403, "wrong-cart", f"this API key belongs to cart {principal.name}")


def _verify(ctx: ServerContext, token: str, *, check_expiry: bool) -> TokenClaims:
    """The claims of a token signed by a registered key of its cart, or a 422 problem."""
    try:
        claims = parse_token(token).claims
        key_b64 = ctx.db.cart_keys(claims.cart_id).get(claims.key_id)
        if key_b64 is None:
            raise TokenUnknownKey(f"cart {claims.cart_id} has no registered key {claims.key_id}")
        return verify_token(
            token,
            {claims.key_id: decode_public_key(key_b64)},
            ctx.clock(),
            leeway_s=ctx.token_leeway_s,
            check_expiry=check_expiry,
        )
    except TokenMalformed as exc:
        raise ApiProblem(422, "token-malformed", str(exc)) from exc
    except TokenUnknownKey as exc:
        raise ApiProblem(422, "token-unknown-key", str(exc)) from exc
    except TokenSignatureInvalid as exc:
        raise ApiProblem(422, "token-forged", str(exc)) from exc
    except TokenExpired as exc:
        raise ApiProblem(422, "token-expired", str(exc)) from exc
    except TokenError as exc:
        raise ApiProblem(422, "token-invalid", str(exc)) from exc


# --- routes ----------------------------------------------------------------------------------

router = APIRouter(prefix=API_PREFIX)


@router.get(
    "/health",
    response_model=Health,
    tags=["meta"],
    summary="Liveness and version; no authentication",
)
def _health(ctx: Ctx) -> Health:
    return Health(status="ok", api_version=API_VERSION, server_time=ctx.clock())


@router.get(
    "/catalog",
    response_model=CatalogSnapshot,
    tags=["catalog"],
    summary="The whole catalog (ETag; 304 with If-None-Match)",
    responses={304: {"description": "Not modified"}, **_errors(401, 403, 404)},
)
def _catalog(
    ctx: Ctx,
    _p: Annotated[Principal, Depends(_principal)],
    if_none_match: Annotated[str | None, Header()] = None,
) -> Any:
    snapshot = ctx.db.catalog_snapshot()
    if snapshot is None:
        raise ApiProblem(404, "catalog-empty", "the store has no catalog yet")
    etag = catalog_etag(snapshot.version)
    if if_none_match is not None and etag_version(if_none_match) == snapshot.version:
        return Response(status_code=304, headers={"ETag": etag})
    return _json(snapshot.model_dump_json(), headers={"ETag": etag})


@router.get(
    "/catalog/changes",
    response_model=CatalogChanges,
    tags=["catalog"],
    summary="Changes since a catalog version (304: none; 410: download it all)",
    responses={304: {"description": "No changes"}, **_errors(401, 403, 410, 422)},
)
def _catalog_changes(
    ctx: Ctx,
    _p: Annotated[Principal, Depends(_principal)],
    since: Annotated[int, Query(ge=0, le=2**62, description="The cart's catalog version.")],
) -> Any:
    changes = ctx.db.catalog_changes(since)
    if changes is None:
        return Response(status_code=304, headers={"ETag": catalog_etag(since)})
    return _json(changes.model_dump_json(), headers={"ETag": catalog_etag(changes.version)})


@router.put(
    "/carts/{cart_id}/keys/{key_id}",
    response_model=CartKeyAck,
    status_code=201,
    tags=["carts"],
    summary="Register the cart's Ed25519 public key (200 when already known)",
    responses=_errors(401, 403, 409, 422),
)
def _register_key(
    *,
    ctx: Ctx,
    principal: CartP,
    cart_id: Annotated[str, Path(pattern=_ID)],
    key_id: Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")],
    body: CartKeyRegistration,
    response: Response,
) -> CartKeyAck:
    _own_cart(principal, cart_id)
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


@router.post(
    "/sessions",
    response_model=SessionAck,
    status_code=201,
    tags=["carts"],
    summary="A shopping session started (idempotent by session id; 200 on a repeat)",
    responses=_errors(401, 403, 409, 422),
)
def _start_session(
    ctx: Ctx,
    principal: CartP,
    body: SessionStart,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias=IDEMPOTENCY_HEADER)] = None,
) -> SessionAck:
    _own_cart(principal, body.cart_id)
    if idempotency_key is not None and idempotency_key != body.session_id:
        raise ApiProblem(422, "idempotency-key-mismatch", "the key must be the session id")
    created = ctx.db.start_session(body.session_id, body.cart_id, body.started_at, ctx.clock())
    response.status_code = 201 if created else 200
    return SessionAck(
        session_id=body.session_id, cart_id=body.cart_id, created=created, server_time=ctx.clock()
    )


@router.post(
    "/handoffs",
    response_model=HandoffAck,
    status_code=201,
    tags=["handoff"],
    summary="Hand the basket to the exit lane (Idempotency-Key required; 200 on a replay)",
    responses=_errors(401, 403, 409, 422, 428),
)
def _hand_off(
    ctx: Ctx,
    principal: CartP,
    body: HandoffRequest,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(alias=IDEMPOTENCY_HEADER, description="The handoff id.")
    ] = None,
) -> HandoffAck:
    _own_cart(principal, body.cart_id)
    if idempotency_key is None:
        raise ApiProblem(428, "idempotency-key-required", f"send {IDEMPOTENCY_HEADER}")
    if idempotency_key != body.handoff_id:
        raise ApiProblem(422, "idempotency-key-mismatch", "the key must be the handoff id")
    # A late basket is still recorded (the cart may have been offline); paying needs a live token.
    claims = _verify(ctx, body.token, check_expiry=False)
    mismatch = [
        name
        for name, ok in (
            ("handoff id", claims.handoff_id == body.handoff_id),
            ("session id", claims.session_id == body.session_id),
            ("cart id", claims.cart_id == body.cart_id),
            ("total", claims.total_cents == body.total_cents),
            ("line count", claims.line_count == len(body.lines)),
            ("lines hash", claims.lines_hash == handoff_lines_hash(body.lines)),
        )
        if not ok
    ]
    if mismatch:
        raise ApiProblem(
            422, "basket-mismatch", f"the basket does not match its token: {', '.join(mismatch)}"
        )
    request_hash = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
    outcome = ctx.db.record_handoff(body, claims, request_hash, ctx.clock())
    response.status_code = 200 if outcome.replayed else 201
    if outcome.replayed:
        response.headers[REPLAYED_HEADER] = "true"
    ctx.notifier.notify(body.handoff_id)
    return HandoffAck(
        handoff_id=body.handoff_id,
        status=outcome.status,
        replayed=outcome.replayed,
        received_at=outcome.received_at,
    )


@router.post(
    "/handoffs/{handoff_id}/void",
    response_model=PaymentStatus,
    tags=["handoff"],
    summary="The basket changed after handoff: its token must not be paid",
    responses=_errors(401, 403, 404, 409, 422),
)
def _void(
    ctx: Ctx,
    principal: CartP,
    handoff_id: Annotated[str, Path(pattern=_HANDOFF_ID)],
    body: VoidRequest,
) -> PaymentStatus:
    status = ctx.db.void_handoff(principal.name, handoff_id, body.reason)
    ctx.notifier.notify(handoff_id)
    return status


@router.get(
    "/handoffs/{handoff_id}/payment",
    response_model=PaymentStatus,
    tags=["handoff"],
    summary="Payment status; long poll with ?wait=seconds",
    responses=_errors(401, 403, 404, 422),
)
async def _payment(
    ctx: Ctx,
    principal: CartP,
    handoff_id: Annotated[str, Path(pattern=_HANDOFF_ID)],
    wait: Annotated[
        int, Query(ge=0, le=DEFAULT_MAX_WAIT_S, description="Long poll: seconds to wait.")
    ] = 0,
) -> PaymentStatus:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(wait, ctx.max_wait_s)
    while True:
        # Registered before reading, so a payment between the read and the wait is not missed.
        waiter = ctx.notifier.register(handoff_id)
        try:
            status = await run_in_threadpool(ctx.db.payment_status, handoff_id, principal.name)
            remaining = deadline - loop.time()
            if status.status != "awaiting_payment" or remaining <= 0:
                return status
            with suppress(TimeoutError):
                await asyncio.wait_for(waiter.wait(), min(remaining, _RECHECK_S))
        finally:
            ctx.notifier.unregister(handoff_id, waiter)


@router.post(
    "/telemetry",
    response_model=TelemetryAck,
    tags=["telemetry"],
    summary="Health, error and battery events (each stored once by event id)",
    responses=_errors(401, 403, 422),
)
def _telemetry(ctx: Ctx, principal: CartP, body: TelemetryBatch) -> TelemetryAck:
    _own_cart(principal, body.cart_id)
    accepted, duplicates = ctx.db.add_telemetry(body.cart_id, body.events, ctx.clock())
    return TelemetryAck(accepted=accepted, duplicates=duplicates)


@router.post(
    "/staff/verify",
    response_model=BadgeVerifyResult,
    tags=["staff"],
    summary="Verify a staff badge scanned on the cart",
    responses=_errors(401, 403, 422, 429),
)
def _verify_badge(ctx: Ctx, principal: CartP, body: BadgeVerifyRequest) -> BadgeVerifyResult:
    _own_cart(principal, body.cart_id)
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


@router.post(
    "/lane/verify",
    response_model=LaneVerifyResult,
    tags=["lane"],
    summary="Verify a scanned basket token and show its basket",
    responses=_errors(401, 403, 409, 422),
)
def _lane_verify(ctx: Ctx, _lane: LaneP, body: LaneVerifyRequest) -> LaneVerifyResult:
    claims = _verify(ctx, body.token, check_expiry=True)
    row = ctx.db.handoff(claims.handoff_id)
    status = "awaiting_payment" if row is None else row.status
    payable, reason = status == "awaiting_payment", "" if row is None else row.status_reason
    if row is not None and row.lines_hash != claims.lines_hash.hex():
        raise ApiProblem(409, "token-mismatch", "the store holds another basket under this id")
    if payable and ctx.db.session_paid_elsewhere(claims.session_id, claims.handoff_id):
        payable, reason = False, "this session was already paid under another handoff"
    if status == "paid":
        reason = "already paid"
    lines = None if row is None else row.lines
    return LaneVerifyResult(
        handoff_id=claims.handoff_id,
        cart_id=claims.cart_id,
        session_id=claims.session_id,
        status=status,
        payable=payable,
        reason=reason,
        total_cents=claims.total_cents,
        line_count=claims.line_count,
        expires_at=float(claims.expires_at),
        basket_received=lines is not None,
        currency=None if row is None else row.currency,
        lines=lines,
        age_restricted=any(line.age_restricted for line in lines or ()),
    )


@router.post(
    "/lane/pay",
    response_model=LanePayResult,
    tags=["lane"],
    summary="Mark a token's basket paid (at most once; 200 replay for the same payment)",
    responses=_errors(401, 403, 409, 422),
)
def _lane_pay(ctx: Ctx, _lane: LaneP, body: LanePayRequest) -> LanePayResult:
    claims = _verify(ctx, body.token, check_expiry=True)
    if body.amount_cents != claims.total_cents:
        raise ApiProblem(
            422,
            "amount-mismatch",
            f"the token's total is {claims.total_cents} cents, not {body.amount_cents}",
        )
    row, replayed = ctx.db.pay(claims, body.token, body.lane_id, body.payment_ref, ctx.clock())
    ctx.notifier.notify(claims.handoff_id)
    assert row.payment_ref is not None and row.paid_at is not None
    return LanePayResult(
        handoff_id=row.handoff_id,
        status="paid",
        payment_ref=row.payment_ref,
        paid_at=row.paid_at,
        replayed=replayed,
    )


@router.get(
    "/lane/carts/{cart_id}/keys",
    response_model=CartKeys,
    tags=["lane"],
    summary="A cart's public keys, for verifying tokens offline",
    responses=_errors(401, 403, 422),
)
def _lane_cart_keys(ctx: Ctx, _lane: LaneP, cart_id: Annotated[str, Path(pattern=_ID)]) -> CartKeys:
    keys = ctx.db.cart_keys(cart_id)
    return CartKeys(
        cart_id=cart_id,
        keys=[CartKeyInfo(key_id=k, public_key=v) for k, v in sorted(keys.items())],
    )


@router.put(
    "/admin/catalog",
    response_model=CatalogUploadResult,
    tags=["admin"],
    summary="Publish a catalog (only changed entries get the new version)",
    responses=_errors(401, 403, 413, 422),
)
def _upload_catalog(ctx: Ctx, _admin: AdminP, body: CatalogUpload) -> CatalogUploadResult:
    gallery = None if body.gallery is None else [g.model_dump() for g in body.gallery]
    version, changed = ctx.db.upload_catalog(body.catalog, body.layout, gallery)
    return CatalogUploadResult(version=version, changed=changed)


def _json(body: str, headers: dict[str, str]) -> Response:
    return Response(content=body, media_type="application/json", headers=headers)


# --- the application -------------------------------------------------------------------------

DESCRIPTION = """\
The smartcart store API: catalog sync (ETag, incremental changes), sessions, basket handoff
with idempotency keys, payment status with long poll, cart telemetry, staff badges, and the exit
lane's token verification and payment. Authentication: `Authorization: Bearer <API key>`;
each key has one role (cart, lane or admin). Errors are `application/problem+json`.
See docs/store-api.md.
"""


def create_app(
    ctx: ServerContext,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_admin_body_bytes: int = DEFAULT_MAX_ADMIN_BODY_BYTES,
) -> FastAPI:
    """The ASGI application over ``ctx``."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> Any:
        ctx.notifier.bind(asyncio.get_running_loop())
        yield

    app = FastAPI(
        title="smartcart store API",
        version=API_VERSION,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    app.include_router(router)

    @app.exception_handler(ApiProblem)
    async def _on_problem(_request: Request, exc: ApiProblem) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return _problem(exc.status, exc.problem_type, exc.detail, headers)

    @app.exception_handler(RequestValidationError)
    async def _on_invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{loc}: {err.get('msg', 'invalid')}")
        return _problem(422, "invalid-request", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _on_http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _problem(exc.status_code, f"http-{exc.status_code}", str(exc.detail))

    @app.exception_handler(Exception)
    async def _on_error(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return _problem(500, "internal-error", "the store failed; the request may be retried")

    app.add_middleware(
        BodyLimit,
        limit=max_body_bytes,
        prefix_limits={f"{API_PREFIX}/admin/": max_admin_body_bytes},
    )
    return app


class BodyLimit:
    """ASGI middleware: refuses request bodies over a size limit with 413, before parsing.

    The body is read (and counted) up front, so a chunked upload without Content-Length is
    bounded too; the application then gets it from memory.
    """

    def __init__(self, app: ASGIApp, limit: int, prefix_limits: dict[str, int]) -> None:
        self.app = app
        self._limit = limit
        self._prefix_limits = prefix_limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        limit = next(
            (lim for prefix, lim in self._prefix_limits.items() if path.startswith(prefix)),
            self._limit,
        )
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                await self._too_large(scope, receive, send, limit)
                return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > limit:
                await self._too_large(scope, receive, send, limit)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _too_large(scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = _problem(413, "body-too-large", f"request bodies are limited to {limit} bytes")
        await response(scope, receive, send)
