"""The exit lane's endpoints: verify a scanned basket token, mark it paid, fetch cart keys."""

from typing import Annotated

from fastapi import APIRouter, Path

from cart_app.store.contract import (
    API_PREFIX,
    CartKeyInfo,
    CartKeys,
    LanePayRequest,
    LanePayResult,
    LaneVerifyRequest,
    LaneVerifyResult,
)
from store_server.dependencies import ID_PATTERN, Ctx, LaneP, verify_claims
from store_server.errors import ApiProblem
from store_server.problem_responses import error_responses

lane_router = APIRouter(prefix=API_PREFIX)


@lane_router.post(
    "/lane/verify",
    response_model=LaneVerifyResult,
    tags=["lane"],
    summary="Verify a scanned basket token and show its basket",
    responses=error_responses(401, 403, 409, 422),
)
def _lane_verify(ctx: Ctx, _lane: LaneP, body: LaneVerifyRequest) -> LaneVerifyResult:
    claims = verify_claims(ctx, body.token, check_expiry=True)
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


@lane_router.post(
    "/lane/pay",
    response_model=LanePayResult,
    tags=["lane"],
    summary="Mark a token's basket paid (at most once; 200 replay for the same payment)",
    responses=error_responses(401, 403, 409, 422),
)
def _lane_pay(ctx: Ctx, _lane: LaneP, body: LanePayRequest) -> LanePayResult:
    claims = verify_claims(ctx, body.token, check_expiry=True)
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


@lane_router.get(
    "/lane/carts/{cart_id}/keys",
    response_model=CartKeys,
    tags=["lane"],
    summary="A cart's public keys, for verifying tokens offline",
    responses=error_responses(401, 403, 422),
)
def _lane_cart_keys(
    ctx: Ctx, _lane: LaneP, cart_id: Annotated[str, Path(pattern=ID_PATTERN)]
) -> CartKeys:
    keys = ctx.db.cart_keys(cart_id)
    return CartKeys(
        cart_id=cart_id,
        keys=[CartKeyInfo(key_id=k, public_key=v) for k, v in sorted(keys.items())],
    )
