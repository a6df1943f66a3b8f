"""The store API v1 as a FastAPI application (``create_app``).

Every body is declared with the contract's models (:mod:`cart_app.store.contract`), so FastAPI
validates input by schema (strict, unknown fields refused) and ``/openapi.json`` is the written
contract. Errors are ``application/problem+json`` with a stable ``type`` slug.

Endpoints that touch the database are plain functions (FastAPI runs them in its thread pool);
the payment long poll is a coroutine that waits on an in-process notifier, re-reading the
database at least once a second so that a payment made by another server process is seen too.

The endpoints are grouped by resource: :mod:`store_server.catalog_routes`,
:mod:`store_server.cart_routes`, :mod:`store_server.handoff_routes` and
:mod:`store_server.lane_routes`; what they share is in :mod:`store_server.dependencies` and
:mod:`store_server.context`.
"""

import asyncio
import logging
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cart_app.store.contract import API_PREFIX, API_VERSION, Health
from store_server.body_limit import BodyLimit
from store_server.cart_routes import carts_router, staff_router, telemetry_router
from store_server.catalog_routes import admin_router, catalog_router
from store_server.context import ServerContext
from store_server.dependencies import Ctx
from store_server.errors import ApiProblem
from store_server.handoff_routes import handoff_router
from store_server.lane_routes import lane_router
from store_server.problem_responses import problem_response

# ServerContext is re-exported: the CLI, the demo and the tests build the application from here.
__all__ = [
    "DEFAULT_MAX_ADMIN_BODY_BYTES",
    "DEFAULT_MAX_BODY_BYTES",
    "DESCRIPTION",
    "ROUTERS",
    "ServerContext",
    "create_app",
    "meta_router",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_MAX_ADMIN_BODY_BYTES = 64 * 1024 * 1024

meta_router = APIRouter(prefix=API_PREFIX)


@meta_router.get(
    "/health",
    response_model=Health,
    tags=["meta"],
    summary="Liveness and version; no authentication",
)
def _health(ctx: Ctx) -> Health:
    return Health(status="ok", api_version=API_VERSION, server_time=ctx.clock())


# In the contract's order: the OpenAPI document lists the paths as the routers are included.
ROUTERS = (
    meta_router,
    catalog_router,
    carts_router,
    handoff_router,
    telemetry_router,
    staff_router,
    lane_router,
    admin_router,
)

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
    for router in ROUTERS:
        app.include_router(router)

    @app.exception_handler(ApiProblem)
    async def _on_problem(_request: Request, exc: ApiProblem) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem_response(exc.status, exc.problem_type, exc.detail, headers)

    @app.exception_handler(RequestValidationError)
    async def _on_invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{loc}: {err.get('msg', 'invalid')}")
        return problem_response(422, "invalid-request", "; ".join(parts) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _on_http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(exc.status_code, f"http-{exc.status_code}", str(exc.detail))

    @app.exception_handler(Exception)
    async def _on_error(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return problem_response(
            500, "internal-error", "the store failed; the request may be retried"
        )

    app.add_middleware(
        BodyLimit,
        limit=max_body_bytes,
        prefix_limits={f"{API_PREFIX}/admin/": max_admin_body_bytes},
    )
    return app
