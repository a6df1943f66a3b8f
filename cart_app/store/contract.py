"""Store API v1: every request and response body, as strict pydantic models.

These models are the contract. The reference server (``store_server``) declares its endpoints
with them, so ``/openapi.json`` and ``docs/openapi.json`` are generated from this file, and the
cart's client validates every response against them. ``docs/store-api.md`` explains the
endpoints, their status codes and the retry rules.

Two bases, on purpose:

- request bodies forbid unknown fields: the server validates input by schema and a typo is an
  error, not an ignored field;
- response bodies ignore unknown fields, so a server on a newer minor version (which may only
  add fields) still works with older carts. Types are strict in both: a string where a number
  belongs is a schema violation, never coerced.

Money is integer cents; times are Unix seconds (UTC) as numbers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator

API_VERSION: Final = "1.0"
"""The contract's version: the major is in every path (``/v1``); minors only add fields."""

API_PREFIX: Final = "/v1"

MAX_CENTS: Final = 100_000_000_00
"""Largest amount accepted anywhere (100 million in major units); bigger is garbage."""

MAX_LINES: Final = 1_000
"""Most lines one handoff may carry."""

MAX_TELEMETRY_BATCH: Final = 500
MAX_EMBEDDING_DIM: Final = 4_096
MAX_TOKEN_CHARS: Final = 600

IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"

# Identifiers are ASCII so that they fit the token's byte layout and never need escaping.
Ident = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]
HandoffId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
KeyId = Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]
PublicKeyB64 = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{43}$")]
Sku = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Cents = Annotated[int, Field(ge=0, le=MAX_CENTS)]
Text = Annotated[str, Field(min_length=1, max_length=200)]
UnixTime = Annotated[float, Field(ge=0, le=4_294_967_295)]
Token = Annotated[str, Field(min_length=8, max_length=MAX_TOKEN_CHARS)]

HandoffStatus = Literal["awaiting_payment", "paid", "void", "superseded"]
"""A handed-off basket's state at the store: only ``awaiting_payment`` may be paid."""


class RequestModel(BaseModel):
    """Base of request bodies: strict types, unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class ResponseModel(BaseModel):
    """Base of response bodies: strict types, unknown (newer) fields are ignored."""

    model_config = ConfigDict(extra="ignore", strict=True, allow_inf_nan=False, frozen=True)


# --- errors and health -----------------------------------------------------------------------


class Problem(ResponseModel):
    """An error, as RFC 9457 ``application/problem+json``.

    ``type`` is a stable slug clients branch on (``token-expired``, ``already-paid``, ...);
    ``detail`` is for people.
    """

    type: str = Field(max_length=200)
    title: str = Field(max_length=200)
    status: int = Field(ge=400, le=599)
    detail: str = Field("", max_length=4_000)


class Health(ResponseModel):
    """``GET /v1/health``: the server is up; no authentication needed."""

    status: Literal["ok"]
    api_version: str = Field(max_length=20)
    server_time: UnixTime


# --- catalog ---------------------------------------------------------------------------------
# Product, offer and store entries are the catalog JSON format v1 (docs/catalog.md), one object
# each; the cart rebuilds the whole document from them and validates it with the same code that
# imports catalog files.


class StoreEntry(ResponseModel):
    """The store's name, currency and tax convention, with its tax classes (basis points)."""

    name: Text
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    tax_included: bool
    tax_classes: dict[Annotated[str, Field(max_length=40)], Annotated[int, Field(ge=0)]]


class LocationEntry(ResponseModel):
    """Aisle and bay ids of the store layout."""

    aisle: str = Field(min_length=1, max_length=40)
    bay: str = Field(min_length=1, max_length=40)


class ProductEntry(ResponseModel):
    """A product, exactly as in the catalog JSON format."""

    sku: Sku
    name: Text
    gtins: list[Annotated[str, Field(max_length=20)]] = Field(default_factory=list)
    price_cents: int
    pricing_mode: Literal["per_unit", "per_kg"]
    nominal_weight_g: float
    weight_tolerance_g: float
    tax_class: str = Field(max_length=40)
    min_age: int | None = None
    location: LocationEntry | None = None
    labels: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list)
    too_light_for_scale: bool = False
    variable_measure_ref: str | None = Field(default=None, pattern=r"^[0-9]{1,6}$")


class OfferEntry(ResponseModel):
    """A multi-buy (``buy``/``pay``) or bundle (``quantity``/``price_cents``) offer."""

    id: str = Field(min_length=1, max_length=64)
    kind: Literal["multibuy", "bundle"]
    description: Text
    skus: list[Sku]
    buy: int | None = None
    pay: int | None = None
    quantity: int | None = None
    price_cents: int | None = None


class GalleryEntry(ResponseModel):
    """One reference embedding of a product for the recogniser's gallery.

    ``vector_b64`` is standard base64 of ``dim`` float32 values, little-endian; ``model`` names
    the embedding model, so a cart ignores vectors of a model it does not run.
    """

    embedding_id: Ident
    sku: Sku
    model: str = Field(min_length=1, max_length=100)
    dim: int = Field(ge=1, le=MAX_EMBEDDING_DIM)
    vector_b64: str = Field(max_length=(MAX_EMBEDDING_DIM * 4 * 4) // 3 + 4)

    @model_validator(mode="after")
    def _vector_fits_dim(self) -> GalleryEntry:
        try:
            raw = base64.b64decode(self.vector_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"vector_b64 is not base64: {exc}") from exc
        if len(raw) != 4 * self.dim:
            raise ValueError(
                f"vector_b64 holds {len(raw)} bytes, dim {self.dim} needs {4 * self.dim}"
            )
        return self


Layout = dict[str, JsonValue]
"""A store layout document (layout JSON format v1, docs/catalog.md), validated by the cart."""


class CatalogSnapshot(ResponseModel):
    """``GET /v1/catalog``: the whole catalog at ``version`` (its ETag is ``"catalog-v<N>"``)."""

    api_version: str = Field(max_length=20)
    version: int = Field(ge=1)
    store: StoreEntry
    products: list[ProductEntry]
    offers: list[OfferEntry]
    gallery: list[GalleryEntry]
    layout: Layout | None = None


class CatalogChanges(ResponseModel):
    """``GET /v1/catalog/changes?since=N``: what changed after version ``since`` up to ``version``.

    Upserts replace the whole entry with that id; ``*_deleted`` list ids to drop. ``store`` and
    ``layout`` are present only when they changed.
    """

    api_version: str = Field(max_length=20)
    since: int = Field(ge=0)
    version: int = Field(ge=1)
    store: StoreEntry | None = None
    products: list[ProductEntry] = Field(default_factory=list)
    products_deleted: list[Sku] = Field(default_factory=list)
    offers: list[OfferEntry] = Field(default_factory=list)
    offers_deleted: list[str] = Field(default_factory=list)
    gallery: list[GalleryEntry] = Field(default_factory=list)
    gallery_deleted: list[Ident] = Field(default_factory=list)
    layout: Layout | None = None


def catalog_etag(version: int) -> str:
    """The strong ETag of catalog ``version`` (quotes included, as sent in the header)."""
    return f'"catalog-v{version}"'


def etag_version(etag: str) -> int | None:
    """The version an ETag made by :func:`catalog_etag` names, or None for any other string."""
    text = etag.strip()
    if text.startswith("W/"):
        text = text[2:]
    prefix, suffix = '"catalog-v', '"'
    if not (text.startswith(prefix) and text.endswith(suffix)):
        return None
    digits = text[len(prefix) : -len(suffix)]
    return int(digits) if digits.isdigit() and len(digits) <= 18 else None


# --- carts: keys and sessions ----------------------------------------------------------------


class CartKeyRegistration(RequestModel):
    """``PUT /v1/carts/{cart_id}/keys/{key_id}``: a cart's Ed25519 public key (raw, base64url)."""

    public_key: PublicKeyB64


class CartKeyAck(ResponseModel):
    """The key is registered (``created`` false when it already was)."""

    cart_id: Ident
    key_id: KeyId
    created: bool


class CartKeyInfo(ResponseModel):
    """One registered public key."""

    key_id: KeyId
    public_key: PublicKeyB64


class CartKeys(ResponseModel):
    """``GET /v1/lane/carts/{cart_id}/keys``: the keys a lane needs to verify tokens offline."""

    cart_id: Ident
    keys: list[CartKeyInfo]


class SessionStart(RequestModel):
    """``POST /v1/sessions``: a shopping trip began on a cart (idempotent by ``session_id``)."""

    session_id: Ident
    cart_id: Ident
    started_at: UnixTime
    key_id: KeyId | None = None


class SessionAck(ResponseModel):
    """The session is known to the store (``created`` false on a repeat)."""

    session_id: Ident
    cart_id: Ident
    created: bool
    server_time: UnixTime


# --- handoff and payment ---------------------------------------------------------------------


class HandoffLine(RequestModel):
    """One priced line of a handed-off basket (``weight_g``: charged grams of a weighed line)."""

    line_id: int = Field(ge=1, le=2**31 - 1)
    sku: Sku
    name: Text
    quantity: int = Field(ge=0, le=10_000)
    weight_g: int | None = Field(default=None, ge=0, le=1_000_000)
    unit_price_cents: Cents
    net_cents: Cents
    age_restricted: bool = False


class HandoffRequest(RequestModel):
    """``POST /v1/handoffs`` with ``Idempotency-Key: <handoff_id>``: the basket for the lane.

    ``token`` is the signed basket token; the server checks that ``lines`` hash to the token's
    lines hash and that count and total agree, so the body cannot differ from what the shopper
    was shown.
    """

    handoff_id: HandoffId
    session_id: Ident
    cart_id: Ident
    token: Token
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    total_cents: Cents
    lines: list[HandoffLine] = Field(max_length=MAX_LINES)
    created_at: UnixTime


class HandoffAck(ResponseModel):
    """The store holds the basket. ``replayed``: this key was seen before; nothing new stored."""

    handoff_id: HandoffId
    status: HandoffStatus
    replayed: bool
    received_at: UnixTime


class VoidRequest(RequestModel):
    """``POST /v1/handoffs/{handoff_id}/void``: the basket changed after handoff."""

    reason: Text


class PaymentStatus(ResponseModel):
    """``GET /v1/handoffs/{handoff_id}/payment[?wait=S]``: where the payment stands."""

    handoff_id: HandoffId
    status: HandoffStatus
    paid_at: UnixTime | None = None
    amount_cents: Cents | None = None


# --- telemetry -------------------------------------------------------------------------------

ComponentHealth = Literal["ok", "degraded", "failed"]
Severity = Literal["warning", "error", "critical"]


class HealthEvent(RequestModel):
    """Periodic heartbeat: link and session state, outbox depth, each component's health."""

    kind: Literal["health"]
    event_id: Ident
    t: UnixTime
    link: Literal["online", "degraded", "offline"]
    session_state: str = Field(max_length=20)
    outbox_pending: int = Field(ge=0)
    uptime_s: float = Field(ge=0)
    components: dict[Annotated[str, Field(max_length=40)], ComponentHealth] = Field(
        default_factory=dict, max_length=50
    )


class ErrorEvent(RequestModel):
    """A fault a component reported (a camera lost, the scale silent, a rejected handoff)."""

    kind: Literal["error"]
    event_id: Ident
    t: UnixTime
    component: str = Field(min_length=1, max_length=40)
    severity: Severity
    message: str = Field(min_length=1, max_length=2_000)


class BatteryEvent(RequestModel):
    """The cart's battery."""

    kind: Literal["battery"]
    event_id: Ident
    t: UnixTime
    percent: int = Field(ge=0, le=100)
    charging: bool
    voltage_v: float | None = Field(default=None, ge=0, le=100)


TelemetryEvent = Annotated[HealthEvent | ErrorEvent | BatteryEvent, Field(discriminator="kind")]


class TelemetryBatch(RequestModel):
    """``POST /v1/telemetry``: events of one cart; each is stored once by ``event_id``."""

    cart_id: Ident
    events: list[TelemetryEvent] = Field(min_length=1, max_length=MAX_TELEMETRY_BATCH)


class TelemetryAck(ResponseModel):
    """How many events were new and how many had been received before."""

    accepted: int = Field(ge=0)
    duplicates: int = Field(ge=0)


# --- staff -----------------------------------------------------------------------------------


class BadgeVerifyRequest(RequestModel):
    """``POST /v1/staff/verify``: a badge scanned on ``cart_id`` (sent in the body, not the URL,
    so that badge codes do not land in access logs)."""

    badge_id: str = Field(min_length=1, max_length=128)
    cart_id: Ident


class BadgeVerifyResult(ResponseModel):
    """Whether the badge may unlock staff functions, and who it belongs to."""

    valid: bool
    staff_id: Ident | None = None
    name: str | None = Field(default=None, max_length=200)
    roles: list[Annotated[str, Field(max_length=40)]] = Field(default_factory=list)
    reason: str = Field("", max_length=200)


# --- exit lane -------------------------------------------------------------------------------


class LaneVerifyRequest(RequestModel):
    """``POST /v1/lane/verify``: the QR token a lane scanned."""

    token: Token
    lane_id: Ident


class LaneVerifyResult(ResponseModel):
    """The verified token's basket; ``payable`` false with ``reason`` when it cannot be paid.

    ``lines`` is null until the cart's full basket has arrived: the token alone carries total,
    line count and lines hash, so a lane can charge it before the basket does.
    """

    handoff_id: HandoffId
    cart_id: Ident
    session_id: Ident
    status: HandoffStatus
    payable: bool
    reason: str = Field("", max_length=200)
    total_cents: Cents
    line_count: int = Field(ge=0)
    expires_at: UnixTime
    basket_received: bool
    currency: str | None = None
    lines: list[HandoffLine] | None = None
    age_restricted: bool = False


class LanePayRequest(RequestModel):
    """``POST /v1/lane/pay``: the lane took ``amount_cents`` (must equal the token's total)."""

    token: Token
    lane_id: Ident
    payment_ref: str = Field(min_length=1, max_length=128)
    amount_cents: Cents


class LanePayResult(ResponseModel):
    """The basket is paid. ``replayed``: the same payment was reported before."""

    handoff_id: HandoffId
    status: Literal["paid"]
    payment_ref: str = Field(max_length=128)
    paid_at: UnixTime
    replayed: bool


# --- administration --------------------------------------------------------------------------


class GalleryUploadEntry(RequestModel):
    """A gallery embedding as uploaded (same fields as :class:`GalleryEntry`)."""

    embedding_id: Ident
    sku: Sku
    model: str = Field(min_length=1, max_length=100)
    dim: int = Field(ge=1, le=MAX_EMBEDDING_DIM)
    vector_b64: str = Field(max_length=(MAX_EMBEDDING_DIM * 4 * 4) // 3 + 4)

    @model_validator(mode="after")
    def _vector_fits_dim(self) -> GalleryUploadEntry:
        GalleryEntry.model_validate(self.model_dump())
        return self


class CatalogUpload(RequestModel):
    """``PUT /v1/admin/catalog``: a whole catalog document (catalog JSON format v1) and,
    optionally, the layout and the gallery. The server stores only what changed, each change
    under a new catalog version."""

    catalog: dict[str, JsonValue]
    layout: Layout | None = None
    gallery: list[GalleryUploadEntry] | None = None


class CatalogUploadResult(ResponseModel):
    """The catalog version after the upload and how many entries changed."""

    version: int = Field(ge=0)
    changed: int = Field(ge=0)


# --- the lines hash --------------------------------------------------------------------------


def lines_hash(lines: Iterable[tuple[str, int, int, int]]) -> bytes:
    """SHA-256 over the canonical encoding of basket lines, as the token carries it.

    Each line is ``(sku, quantity, charged weight in grams or 0, line total in cents)``, in
    receipt order, encoded as ``sku TAB quantity TAB weight_g TAB net_cents LF`` in ASCII
    (decimal integers, no leading zeros). SKUs cannot hold a tab or newline, so the encoding is
    unambiguous and any lane software can recompute it.
    """
    digest = hashlib.sha256()
    for sku, quantity, weight_g, net_cents in lines:
        digest.update(f"{sku}\t{quantity:d}\t{weight_g:d}\t{net_cents:d}\n".encode("ascii"))
    return digest.digest()


def handoff_lines_hash(lines: Iterable[HandoffLine]) -> bytes:
    """:func:`lines_hash` of a handoff body's lines."""
    return lines_hash((ln.sku, ln.quantity, ln.weight_g or 0, ln.net_cents) for ln in lines)
