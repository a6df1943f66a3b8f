"""Errors as ``application/problem+json``: the response, and its declaration in OpenAPI.

Every error of the store API is a :class:`cart_app.store.contract.Problem` with a stable
``type`` slug; the application's exception handlers (:func:`store_server.api.create_app`) and
the body-size middleware answer with :func:`problem_response`.
"""

from typing import Any

from fastapi.responses import JSONResponse

from cart_app.store.contract import Problem


def problem_response(
    status: int, problem_type: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A problem+json response (the detail cut to 4000 characters)."""
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


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` of a route that fails with ``codes``."""
    # Every error is problem+json; 422 is listed everywhere because invalid input of any
    # endpoint is answered with a Problem (not FastAPI's default validation body).
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {
        code: {"model": Problem, "description": "An error (problem+json)", "content": problem}
        for code in sorted({*codes, 422, 500})
    }
