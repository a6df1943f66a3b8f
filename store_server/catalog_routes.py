"""Catalog endpoints: the carts' full download and changes, and the administrator's upload."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Response

from cart_app.store.contract import (
    API_PREFIX,
    CatalogChanges,
    CatalogSnapshot,
    CatalogUpload,
    CatalogUploadResult,
    catalog_etag,
    etag_version,
)
from store_server.credentials_db import Principal
from store_server.dependencies import AdminP, Ctx, current_principal
from store_server.errors import ApiProblem
from store_server.problem_responses import error_responses

catalog_router = APIRouter(prefix=API_PREFIX)
admin_router = APIRouter(prefix=API_PREFIX)


@catalog_router.get(
    "/catalog",
    response_model=CatalogSnapshot,
    tags=["catalog"],
    summary="The whole catalog (ETag; 304 with If-None-Match)",
    responses={304: {"description": "Not modified"}, **error_responses(401, 403, 404)},
)
def _catalog(
    ctx: Ctx,
    _p: Annotated[Principal, Depends(current_principal)],
    if_none_match: Annotated[str | None, Header()] = None,
) -> Any:
    snapshot = ctx.db.catalog_snapshot()
    if snapshot is None:
        raise ApiProblem(404, "catalog-empty", "the store has no catalog yet")
    etag = catalog_etag(snapshot.version)
    if if_none_match is not None and etag_version(if_none_match) == snapshot.version:
        return Response(status_code=304, headers={"ETag": etag})
    return _json(snapshot.model_dump_json(), headers={"ETag": etag})


@catalog_router.get(
    "/catalog/changes",
    response_model=CatalogChanges,
    tags=["catalog"],
    summary="Changes since a catalog version (304: none; 410: download it all)",
    responses={304: {"description": "No changes"}, **error_responses(401, 403, 410, 422)},
)
def _catalog_changes(
    ctx: Ctx,
    _p: Annotated[Principal, Depends(current_principal)],
    since: Annotated[int, Query(ge=0, le=2**62, description="The cart's catalog version.")],
) -> Any:
    changes = ctx.db.catalog_changes(since)
    if changes is None:
        return Response(status_code=304, headers={"ETag": catalog_etag(since)})
    return _json(changes.model_dump_json(), headers={"ETag": catalog_etag(changes.version)})


@admin_router.put(
    "/admin/catalog",
    response_model=CatalogUploadResult,
    tags=["admin"],
    summary="Publish a catalog (only changed entries get the new version)",
    responses=error_responses(401, 403, 413, 422),
)
def _upload_catalog(ctx: Ctx, _admin: AdminP, body: CatalogUpload) -> CatalogUploadResult:
    gallery = None if body.gallery is None else [g.model_dump() for g in body.gallery]
    version, changed = ctx.db.upload_catalog(body.catalog, body.layout, gallery)
    return CatalogUploadResult(version=version, changed=changed)


def _json(body: str, headers: dict[str, str]) -> Response:
    return Response(content=body, media_type="application/json", headers=headers)
