"""Basket handoff endpoints: handing a basket off, voiding it, and the payment long poll.

The long poll is a coroutine that waits on the in-process notifier, re-reading the database at
least once a second so that a payment made by another server process is seen too.
"""

import asyncio
import hashlib
from contextlib import suppress
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response
from starlette.concurrency import run_in_threadpool

from cart_app.store.contract import (
    API_PREFIX,
    IDEMPOTENCY_HEADER,
    REPLAYED_HEADER,
    HandoffAck,
    HandoffRequest,
    PaymentStatus,
    VoidRequest,
    handoff_lines_hash,
)
from store_server.context import DEFAULT_MAX_WAIT_S
from store_server.dependencies import HANDOFF_ID_PATTERN, CartP, Ctx, own_cart, verify_claims
from store_server.errors import ApiProblem
from store_server.problem_responses import error_responses

_RECHECK_S = 1.0

handoff_router = APIRouter(prefix=API_PREFIX)


@handoff_router.post(
    "/handoffs",
    response_model=HandoffAck,
    status_code=201,
    tags=["handoff"],
    summary="Hand the basket to the exit lane (Idempotency-Key required; 200 on a replay)",
    responses=error_responses(401, 403, 409, 422, 428),
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
    own_cart(principal, body.cart_id)
    if idempotency_key is None:
        raise ApiProblem(428, "idempotency-key-required", f"send {IDEMPOTENCY_HEADER}")
    if idempotency_key != body.handoff_id:
        raise ApiProblem(422, "idempotency-key-mismatch", "the key must be the handoff id")
    # A late basket is still recorded (the cart may have been offline); paying needs a live token.
    claims = verify_claims(ctx, body.token, check_expiry=False)
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


@handoff_router.post(
    "/handoffs/{handoff_id}/void",
    response_model=PaymentStatus,
    tags=["handoff"],
    summary="The basket changed after handoff: its token must not be paid",
    responses=error_responses(401, 403, 404, 409, 422),
)
def _void(
    ctx: Ctx,
    principal: CartP,
    handoff_id: Annotated[str, Path(pattern=HANDOFF_ID_PATTERN)],
    body: VoidRequest,
) -> PaymentStatus:
    status = ctx.db.void_handoff(principal.name, handoff_id, body.reason)
    ctx.notifier.notify(handoff_id)
    return status


@handoff_router.get(
    "/handoffs/{handoff_id}/payment",
    response_model=PaymentStatus,
    tags=["handoff"],
    summary="Payment status; long poll with ?wait=seconds",
    responses=error_responses(401, 403, 404, 422),
)
async def _payment(
    ctx: Ctx,
    principal: CartP,
    handoff_id: Annotated[str, Path(pattern=HANDOFF_ID_PATTERN)],
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
