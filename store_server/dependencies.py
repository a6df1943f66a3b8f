"""FastAPI dependencies and checks the endpoints share.

The server context, the caller (from the bearer API key) and its role, cart ownership, the
verification of basket tokens against the carts' registered keys, and the patterns of ids in
paths.
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from cart_app.store.token import (
    TokenClaims,
    TokenError,
    TokenExpired,
    TokenMalformed,
    TokenSignatureInvalid,
    TokenUnknownKey,
    decode_public_key,
    parse_token,
    verify_token,
)
from store_server.context import ServerContext
from store_server.credentials_db import Principal
from store_server.errors import ApiProblem

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
HANDOFF_ID_PATTERN = r"^[0-9a-f]{32}$"

_bearer = HTTPBearer(auto_error=False, description="The cart's, lane's or admin's API key.")


def _ctx(request: Request) -> ServerContext:
    ctx: ServerContext = request.app.state.ctx
    return ctx


Ctx = Annotated[ServerContext, Depends(_ctx)]


def current_principal(
    ctx: Ctx, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """The caller of the API key sent as bearer token (401 without one or for a bad one)."""
    if credentials is None or not credentials.credentials:
        raise ApiProblem(401, "unauthenticated", "send the API key as 'Authorization: Bearer ...'")
    principal = ctx.db.authenticate(credentials.credentials)
    if principal is None:
        raise ApiProblem(401, "bad-api-key", "the API key is unknown or revoked")
    return principal


def _role(role: str) -> Callable[[Principal], Principal]:
    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role != role:
            raise ApiProblem(403, "wrong-role", f"this endpoint is for {role}s")
        return principal

    return check


CartP = Annotated[Principal, Depends(_role("cart"))]
LaneP = Annotated[Principal, Depends(_role("lane"))]
AdminP = Annotated[Principal, Depends(_role("admin"))]


def own_cart(principal: Principal, cart_id: str) -> None:
    """Refuse (403) a cart acting for another cart."""
    if principal.name != cart_id:
        raise ApiProblem(403, "wrong-cart", f"this API key belongs to cart {principal.name}")


def verify_claims(ctx: ServerContext, token: str, *, check_expiry: bool) -> TokenClaims:
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
