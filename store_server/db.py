"""Storage of the reference store server, in SQLAlchemy Core.

SQLite by file path (WAL, ``synchronous=FULL``), PostgreSQL (or any SQLAlchemy URL) by URL.
Correctness under concurrency rests on the database, not on the process: primary keys make
idempotency keys and event ids unique, a partial unique index allows at most one paid basket
per session, and paying is a conditional ``UPDATE ... WHERE status = 'awaiting_payment'``. With
SQLite one process-wide lock also serialises writers, because SQLite has one writer anyway and
a lock avoids ``database is locked`` retries.

The catalog is stored as entries (product, offer, gallery embedding, the store record, the
layout), each with the catalog version that last changed it; a removed entry stays as a
tombstone. The catalog version is the highest entry version, so "changes since N" is a range
query and a full download is one consistent ``SELECT``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from cart_app.catalog_schema import CatalogError, parse_catalog_json
from cart_app.store.contract import (
    API_VERSION,
    CatalogChanges,
    CatalogSnapshot,
    GalleryEntry,
    HandoffLine,
    HandoffRequest,
    HandoffStatus,
    OfferEntry,
    PaymentStatus,
    ProductEntry,
    StoreEntry,
    TelemetryEvent,
)
from cart_app.store.token import TokenClaims
from cart_app.store_layout import LayoutError, load_layout

ROLES: Final = ("cart", "lane", "admin")

metadata = MetaData()

principals = Table(
    "principals",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("role", String(10), nullable=False),
    Column("name", String(64), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", Float, nullable=False),
)

cart_keys = Table(
    "cart_keys",
    metadata,
    Column("cart_id", String(64), primary_key=True),
    Column("key_id", String(16), primary_key=True),
    Column("public_key", String(43), nullable=False),
    Column("created_at", Float, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("cart_id", String(64), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("created_at", Float, nullable=False),
)

handoffs = Table(
    "handoffs",
    metadata,
    Column("handoff_id", String(32), primary_key=True),
    Column("session_id", String(64), nullable=False, index=True),
    Column("cart_id", String(64), nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("token", Text, nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    Column("line_count", Integer, nullable=False),
    Column("lines_hash", String(64), nullable=False),
    Column("issued_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("currency", String(3)),
    Column("lines_json", Text),
    Column("request_hash", String(64)),
    Column("status", String(20), nullable=False),
    Column("status_reason", String(200), nullable=False),
    Column("payment_ref", String(128)),
    Column("lane_id", String(64)),
    Column("paid_at", Float),
    Column("created_at", Float, nullable=False),
    Column("received_at", Float),
)
# Never two paid baskets for one session: the database itself refuses a double charge.
Index(
    "one_paid_per_session",
    handoffs.c.session_id,
    unique=True,
    sqlite_where=text("status = 'paid'"),
    postgresql_where=text("status = 'paid'"),
)

telemetry = Table(
    "telemetry",
    metadata,
    Column("cart_id", String(64), primary_key=True),
    Column("event_id", String(64), primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("t", Float, nullable=False),
    Column("body", Text, nullable=False),
    Column("received_at", Float, nullable=False),
)

badges = Table(
    "badges",
    metadata,
    Column("badge_hash", String(64), primary_key=True),
    Column("staff_id", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("roles", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("expires_at", Float),
)

catalog_items = Table(
    "catalog_items",
    metadata,
    Column("kind", String(10), primary_key=True),
    Column("item_id", String(64), primary_key=True),
    Column("version", BigInteger, nullable=False, index=True),
    Column("deleted", Boolean, nullable=False),
    Column("position", Integer, nullable=False),
    Column("body", Text, nullable=False),
)


class ApiProblem(Exception):
    """An error for the client, with its HTTP status and the contract's problem slug."""

    def __init__(self, status: int, problem_type: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.problem_type = problem_type
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a cart (``name`` is its cart id), a lane, or an administrator."""

    role: str
    name: str


@dataclass(frozen=True, slots=True)
class HandoffOutcome:
    """What storing a handoff did."""

    status: HandoffStatus
    replayed: bool
    received_at: float


@dataclass(frozen=True, slots=True)
class HandoffRow:
    """A stored handoff, as the lane endpoints need it."""

    handoff_id: str
    session_id: str
    cart_id: str
    status: HandoffStatus
    status_reason: str
    total_cents: int
    line_count: int
    lines_hash: str
    expires_at: int
    currency: str | None
    lines: list[HandoffLine] | None
    payment_ref: str | None
    paid_at: float | None


@dataclass(frozen=True, slots=True)
class BadgeCheck:
    """The outcome of a badge lookup."""

    valid: bool
    staff_id: str | None
    name: str | None
    roles: list[str]
    reason: str


def hash_secret(secret: str) -> str:
    """SHA-256 hex of an API key or badge code (both are random, long, and never stored)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_api_key() -> str:
    """A fresh API key: 32 random bytes, URL-safe."""
    return "sck_" + secrets.token_urlsafe(32)


def database_url(target: str) -> str:
    """A SQLAlchemy URL from ``--db``: a URL as given, a file path as SQLite."""
    if "://" in target:
        return target
    return f"sqlite:///{Path(target).expanduser().resolve()}"


class StoreDB:
    """The store's database. Thread-safe; one per process."""

    def __init__(self, engine: Engine) -> None:
        """Use :meth:`open`."""
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._write_lock = threading.Lock()

    @classmethod
    def open(cls, target: str) -> StoreDB:
        """Open (creating tables as needed) the database at a path or URL."""
        url = database_url(target)
        if url.startswith("sqlite"):
            path = url.removeprefix("sqlite:///")
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(
                url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=20
            )

            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                # SQLAlchemy's recipe: let SQLAlchemy, not the driver, begin transactions, so
                # that reads are in them too (one consistent snapshot per transaction).
                dbapi_conn.isolation_level = None
                cursor = dbapi_conn.cursor()
                cursor.execute("PRAGMA journal_mode=WAL")
                # FULL: a basket acknowledged to a cart survives a power cut of the server.
                cursor.execute("PRAGMA synchronous=FULL")
                cursor.execute("PRAGMA busy_timeout=30000")
                cursor.close()

            @event.listens_for(engine, "begin")
            def _begin(conn: Connection) -> None:
                conn.exec_driver_sql("BEGIN")

        else:
            engine = create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)
        metadata.create_all(engine)
        return cls(engine)

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        lock = self._write_lock if self.is_sqlite else contextlib.nullcontext()
        with lock, self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            yield conn

    # --- principals -----------------------------------------------------------------------

    def add_principal(self, role: str, name: str, key: str | None = None, now: float = 0.0) -> str:
        """Register an API key for a cart, lane or administrator; returns the key."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        key = key or new_api_key()
        if len(key) < 16:
            raise ValueError("an API key must be at least 16 characters")
        with self._write() as conn:
            conn.execute(
                principals.insert().values(
                    key_hash=hash_secret(key), role=role, name=name, active=True, created_at=now
                )
            )
        return key

    def authenticate(self, key: str) -> Principal | None:
        """The principal of an API key, or None for an unknown or revoked key."""
        with self._read() as conn:
            row = conn.execute(
                select(principals.c.role, principals.c.name, principals.c.active).where(
                    principals.c.key_hash == hash_secret(key)
                )
            ).first()
        if row is None or not row.active:
            return None
        return Principal(row.role, row.name)

    # --- cart keys and sessions -----------------------------------------------------------

    def register_cart_key(self, cart_id: str, key_id: str, public_key: str, now: float) -> bool:
        """Store a cart's public key; True when new. A different key under the id conflicts."""
        with self._write() as conn:
            row = conn.execute(
                select(cart_keys.c.public_key).where(
                    cart_keys.c.cart_id == cart_id, cart_keys.c.key_id == key_id
                )
            ).first()
            if row is not None:
                if row.public_key != public_key:
                    raise ApiProblem(409, "key-conflict", f"key id {key_id} names another key")
                return False
            conn.execute(
                cart_keys.insert().values(
                    cart_id=cart_id, key_id=key_id, public_key=public_key, created_at=now
                )
            )
        return True

    def cart_keys(self, cart_id: str) -> dict[str, str]:
        """A cart's public keys (base64url) by key id."""
        with self._read() as conn:
            rows = conn.execute(
                select(cart_keys.c.key_id, cart_keys.c.public_key).where(
                    cart_keys.c.cart_id == cart_id
                )
            ).all()
        return {row.key_id: row.public_key for row in rows}

    def start_session(self, session_id: str, cart_id: str, started_at: float, now: float) -> bool:
        """Record a session start; True when new. A session id of another cart conflicts."""
        with self._write() as conn:
            return self._ensure_session(conn, session_id, cart_id, started_at, now)

    @staticmethod
    def _ensure_session(
        conn: Connection, session_id: str, cart_id: str, started_at: float, now: float
    ) -> bool:
        row = conn.execute(
            select(sessions.c.cart_id).where(sessions.c.session_id == session_id)
        ).first()
        if row is not None:
            if row.cart_id != cart_id:
                raise ApiProblem(409, "session-conflict", "session id belongs to another cart")
            return False
        conn.execute(
            sessions.insert().values(
                session_id=session_id, cart_id=cart_id, started_at=started_at, created_at=now
            )
        )
        return True

    # --- handoffs -------------------------------------------------------------------------

    def record_handoff(
        self, request: HandoffRequest, claims: TokenClaims, request_hash: str, now: float
    ) -> HandoffOutcome:
        """Store a cart's basket once per handoff id (the idempotency key).

        The same request again is a replay (nothing new stored); another body under the same
        key is a conflict. A basket of a session already paid under another handoff is
        refused, and older unpaid baskets of the session are superseded.
        """
        lines_json = json.dumps([line.model_dump() for line in request.lines])
        with self._write() as conn:
            row = conn.execute(
                select(handoffs).where(handoffs.c.handoff_id == request.handoff_id)
            ).first()
            if row is not None:
                if row.lines_hash != claims.lines_hash.hex() or row.session_id != claims.session_id:
                    raise ApiProblem(
                        409, "token-mismatch", "the store holds another basket under this id"
                    )
                if row.request_hash is not None:
                    if row.request_hash != request_hash:
                        raise ApiProblem(
                            409,
                            "idempotency-conflict",
                            "this idempotency key was used with another basket",
                        )
                    return HandoffOutcome(row.status, True, row.received_at)
                # The lane saw the token first (it paid or checked before the basket came).
                conn.execute(
                    update(handoffs)
                    .where(handoffs.c.handoff_id == request.handoff_id)
                    .values(
                        lines_json=lines_json,
                        request_hash=request_hash,
                        currency=request.currency,
                        received_at=now,
                    )
                )
                return HandoffOutcome(row.status, False, now)
            paid = conn.execute(
                select(handoffs.c.handoff_id).where(
                    handoffs.c.session_id == request.session_id, handoffs.c.status == "paid"
                )
            ).first()
            if paid is not None:
                raise ApiProblem(
                    409, "already-paid", "this session was already paid under another handoff"
                )
            self._ensure_session(conn, request.session_id, request.cart_id, request.created_at, now)
            self._supersede_others(conn, request.session_id, request.handoff_id)
            conn.execute(
                handoffs.insert().values(
                    **_claims_columns(claims, request.token),
                    currency=request.currency,
                    lines_json=lines_json,
                    request_hash=request_hash,
                    status="awaiting_payment",
                    status_reason="",
                    created_at=now,
                    received_at=now,
                )
            )
        return HandoffOutcome("awaiting_payment", False, now)

    @staticmethod
    def _supersede_others(conn: Connection, session_id: str, handoff_id: str) -> None:
        conn.execute(
            update(handoffs)
            .where(
                handoffs.c.session_id == session_id,
                handoffs.c.handoff_id != handoff_id,
                handoffs.c.status == "awaiting_payment",
            )
            .values(status="superseded", status_reason="a newer basket was handed off")
        )

    def void_handoff(self, cart_id: str, handoff_id: str, reason: str) -> PaymentStatus:
        """Make an unpaid basket unpayable (its cart's basket changed). Idempotent."""
        with self._write() as conn:
            row = conn.execute(
                select(handoffs).where(
                    handoffs.c.handoff_id == handoff_id, handoffs.c.cart_id == cart_id
                )
            ).first()
            if row is None:
                raise ApiProblem(404, "unknown-handoff", f"no handoff {handoff_id} of this cart")
            if row.status == "paid":
                raise ApiProblem(409, "already-paid", "the basket was paid before it changed")
            if row.status == "awaiting_payment":
                conn.execute(
                    update(handoffs)
                    .where(handoffs.c.handoff_id == handoff_id)
                    .values(status="void", status_reason=reason[:200])
                )
                return PaymentStatus(handoff_id=handoff_id, status="void")
            return PaymentStatus(handoff_id=handoff_id, status=row.status)

    def payment_status(self, handoff_id: str, cart_id: str) -> PaymentStatus:
        """The payment state of one of ``cart_id``'s handoffs (404 for any other)."""
        with self._read() as conn:
            row = conn.execute(
                select(handoffs.c.status, handoffs.c.paid_at, handoffs.c.total_cents).where(
                    handoffs.c.handoff_id == handoff_id, handoffs.c.cart_id == cart_id
                )
            ).first()
        if row is None:
            raise ApiProblem(404, "unknown-handoff", f"no handoff {handoff_id} of this cart")
        paid = row.status == "paid"
        return PaymentStatus(
            handoff_id=handoff_id,
            status=row.status,
            paid_at=row.paid_at if paid else None,
            amount_cents=row.total_cents if paid else None,
        )

    def handoff(self, handoff_id: str) -> HandoffRow | None:
        """A stored handoff, or None."""
        with self._read() as conn:
            row = conn.execute(select(handoffs).where(handoffs.c.handoff_id == handoff_id)).first()
        return None if row is None else _handoff_row(row)

    def session_paid_elsewhere(self, session_id: str, handoff_id: str) -> bool:
        """Whether another handoff of the session is paid."""
        with self._read() as conn:
            row = conn.execute(
                select(handoffs.c.handoff_id).where(
                    handoffs.c.session_id == session_id,
                    handoffs.c.handoff_id != handoff_id,
                    handoffs.c.status == "paid",
                )
            ).first()
        return row is not None

    def pay(
        self,
        claims: TokenClaims,
        token: str,
        lane_id: str,
        payment_ref: str,
        now: float,
    ) -> tuple[HandoffRow, bool]:
        """Mark a verified token's basket paid; returns the row and whether it was a replay.

        The same payment reported again is a replay; anything else on a paid, void or
        superseded basket is a conflict, so a basket is charged at most once.
        """
        try:
            with self._write() as conn:
                row = conn.execute(
                    select(handoffs).where(handoffs.c.handoff_id == claims.handoff_id)
                ).first()
                if row is None:
                    # Paid on the token alone; the cart's basket will follow.
                    self._ensure_session(
                        conn, claims.session_id, claims.cart_id, float(claims.issued_at), now
                    )
                    conn.execute(
                        handoffs.insert().values(
                            **_claims_columns(claims, token),
                            status="awaiting_payment",
                            status_reason="",
                            created_at=now,
                        )
                    )
                elif row.lines_hash != claims.lines_hash.hex():
                    raise ApiProblem(
                        409, "token-mismatch", "the store holds another basket under this id"
                    )
                elif row.status == "paid":
                    if row.payment_ref == payment_ref:
                        return _handoff_row(row), True
                    raise ApiProblem(409, "already-paid", "this basket is already paid")
                elif row.status != "awaiting_payment":
                    raise ApiProblem(
                        409, f"handoff-{row.status}", f"basket is {row.status}: {row.status_reason}"
                    )
                result = conn.execute(
                    update(handoffs)
                    .where(
                        handoffs.c.handoff_id == claims.handoff_id,
                        handoffs.c.status == "awaiting_payment",
                    )
                    .values(status="paid", payment_ref=payment_ref, lane_id=lane_id, paid_at=now)
                )
                if result.rowcount != 1:
                    raise ApiProblem(409, "already-paid", "this basket was paid meanwhile")
                self._supersede_others(conn, claims.session_id, claims.handoff_id)
                paid = conn.execute(
                    select(handoffs).where(handoffs.c.handoff_id == claims.handoff_id)
                ).one()
        except IntegrityError as exc:
            # The partial unique index: another basket of this session is paid already.
            raise ApiProblem(
                409, "already-paid", "this session was already paid under another handoff"
            ) from exc
        return _handoff_row(paid), False

    def count_handoffs(self, session_id: str | None = None) -> int:
        """How many handoffs are stored (of one session, when given)."""
        query = select(func.count()).select_from(handoffs)
        if session_id is not None:
            query = query.where(handoffs.c.session_id == session_id)
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())

    # --- telemetry and badges -------------------------------------------------------------

    def add_telemetry(
        self, cart_id: str, events: Sequence[TelemetryEvent], now: float
    ) -> tuple[int, int]:
        """Store events not seen before; returns (new, duplicates)."""
        accepted = 0
        insert = _insert_ignoring_duplicates(self.engine.dialect.name)
        with self._write() as conn:
            for ev in events:
                # A duplicate is a resend after a lost acknowledgement: skipped, not an error.
                # RETURNING names the row only when it was inserted (rowcount of an INSERT is
                # not reported by every driver).
                inserted = conn.execute(
                    insert.values(
                        cart_id=cart_id,
                        event_id=ev.event_id,
                        kind=ev.kind,
                        t=ev.t,
                        body=ev.model_dump_json(),
                        received_at=now,
                    ).returning(telemetry.c.event_id)
                ).first()
                accepted += inserted is not None
        return accepted, len(events) - accepted

    def telemetry_count(self, cart_id: str, kind: str | None = None) -> int:
        """How many events of a cart are stored."""
        query = select(func.count()).select_from(telemetry).where(telemetry.c.cart_id == cart_id)
        if kind is not None:
            query = query.where(telemetry.c.kind == kind)
        with self._read() as conn:
            return int(conn.execute(query).scalar_one())

    def add_badge(
        self,
        badge_code: str,
        staff_id: str,
        name: str,
        roles: Sequence[str],
        expires_at: float | None = None,
    ) -> None:
        """Register a staff badge (only its hash is stored)."""
        with self._write() as conn:
            conn.execute(
                badges.insert().values(
                    badge_hash=hash_secret(badge_code),
                    staff_id=staff_id,
                    name=name,
                    roles=json.dumps(list(roles)),
                    active=True,
                    expires_at=expires_at,
                )
            )

    def verify_badge(self, badge_code: str, now: float) -> BadgeCheck:
        """Whether a scanned badge is valid now."""
        with self._read() as conn:
            row = conn.execute(
                select(badges).where(badges.c.badge_hash == hash_secret(badge_code))
            ).first()
        if row is None:
            return BadgeCheck(False, None, None, [], "unknown badge")
        if not row.active:
            return BadgeCheck(False, None, None, [], "badge revoked")
        if row.expires_at is not None and row.expires_at < now:
            return BadgeCheck(False, None, None, [], "badge expired")
        return BadgeCheck(True, row.staff_id, row.name, list(json.loads(row.roles)), "")

    # --- catalog --------------------------------------------------------------------------

    def upload_catalog(
        self,
        catalog: Mapping[str, Any],
        layout: Mapping[str, Any] | None = None,
        gallery: Sequence[Mapping[str, Any]] | None = None,
    ) -> tuple[int, int]:
        """Store a whole catalog document; returns (catalog version, entries changed).

        Validated first by the cart's own catalog and layout code, so the store can never
        publish a catalog a cart would refuse. Only changed entries get the new version.
        """
        try:
            parse_catalog_json(json.dumps(catalog), source="uploaded catalog")
        except CatalogError as exc:
            raise ApiProblem(422, "invalid-catalog", str(exc)) from exc
        wanted: dict[str, list[tuple[str, str]]] = {
            "store": [("store", _store_body(catalog))],
            "product": [
                (p["sku"], ProductEntry.model_validate(p).model_dump_json())
                for p in catalog["products"]
            ],
            "offer": [
                (o["id"], OfferEntry.model_validate(o).model_dump_json())
                for o in catalog.get("offers", [])
            ],
        }
        if layout is not None:
            _check_layout(layout)
            wanted["layout"] = [("layout", json.dumps(layout, sort_keys=True))]
        if gallery is not None:
            entries = [GalleryEntry.model_validate(dict(g)) for g in gallery]
            wanted["gallery"] = [(e.embedding_id, e.model_dump_json()) for e in entries]
        with self._write() as conn:
            current = _current_version(conn)
            new_version = current + 1
            changed = 0
            for kind, items in wanted.items():
                existing = {
                    row.item_id: row
                    for row in conn.execute(
                        select(catalog_items).where(catalog_items.c.kind == kind)
                    )
                }
                for position, (item_id, body) in enumerate(items):
                    old = existing.pop(item_id, None)
                    if old is None:
                        conn.execute(
                            catalog_items.insert().values(
                                kind=kind,
                                item_id=item_id,
                                version=new_version,
                                deleted=False,
                                position=position,
                                body=body,
                            )
                        )
                        changed += 1
                    elif old.deleted or old.body != body:
                        conn.execute(
                            _item_update(kind, item_id).values(
                                version=new_version, deleted=False, position=position, body=body
                            )
                        )
                        changed += 1
                    elif old.position != position:
                        # Order is presentation only: it moves without a new version.
                        conn.execute(_item_update(kind, item_id).values(position=position))
                for item_id, old in existing.items():
                    if not old.deleted:
                        conn.execute(
                            _item_update(kind, item_id).values(version=new_version, deleted=True)
                        )
                        changed += 1
        return (new_version if changed else current), changed

    def catalog_version(self) -> int:
        """The current catalog version (0: no catalog yet)."""
        with self._read() as conn:
            return _current_version(conn)

    def catalog_snapshot(self) -> CatalogSnapshot | None:
        """The whole catalog, read in one statement so that it is consistent; None when empty."""
        with self._read() as conn:
            rows = conn.execute(
                select(catalog_items).order_by(catalog_items.c.kind, catalog_items.c.position)
            ).all()
        if not rows:
            return None
        version = max(row.version for row in rows)
        live = [row for row in rows if not row.deleted]
        store = next((r for r in live if r.kind == "store"), None)
        if store is None:
            return None
        layout = next((r for r in live if r.kind == "layout"), None)
        return CatalogSnapshot(
            api_version=API_VERSION,
            version=version,
            store=StoreEntry.model_validate_json(store.body),
            products=[
                ProductEntry.model_validate_json(r.body) for r in live if r.kind == "product"
            ],
            offers=[OfferEntry.model_validate_json(r.body) for r in live if r.kind == "offer"],
            gallery=[GalleryEntry.model_validate_json(r.body) for r in live if r.kind == "gallery"],
            layout=json.loads(layout.body) if layout is not None else None,
        )

    def catalog_changes(self, since: int) -> CatalogChanges | None:
        """Entries changed after version ``since``; None when nothing changed.

        Raises ApiProblem 410 when ``since`` is newer than the store's catalog (the store was
        reset or is another store): the cart must download the whole catalog.
        """
        with self._read() as conn:
            current = _current_version(conn)
            if since > current:
                raise ApiProblem(
                    410, "catalog-resync", f"version {since} is unknown here (current {current})"
                )
            rows = conn.execute(
                select(catalog_items)
                .where(catalog_items.c.version > since)
                .order_by(catalog_items.c.kind, catalog_items.c.position)
            ).all()
        if not rows:
            return None
        upserts: dict[str, list[str]] = {}
        deletes: dict[str, list[str]] = {}
        for row in rows:
            (deletes if row.deleted else upserts).setdefault(row.kind, []).append(
                row.item_id if row.deleted else row.body
            )
        store = upserts.get("store")
        layout = upserts.get("layout")
        return CatalogChanges(
            api_version=API_VERSION,
            since=since,
            version=max(row.version for row in rows),
            store=StoreEntry.model_validate_json(store[0]) if store else None,
            products=[ProductEntry.model_validate_json(b) for b in upserts.get("product", [])],
            products_deleted=deletes.get("product", []),
            offers=[OfferEntry.model_validate_json(b) for b in upserts.get("offer", [])],
            offers_deleted=deletes.get("offer", []),
            gallery=[GalleryEntry.model_validate_json(b) for b in upserts.get("gallery", [])],
            gallery_deleted=deletes.get("gallery", []),
            layout=json.loads(layout[0]) if layout else None,
        )


def _insert_ignoring_duplicates(dialect: str) -> Any:
    if dialect == "sqlite":
        return sqlite_insert(telemetry).on_conflict_do_nothing()
    if dialect == "postgresql":
        return postgresql_insert(telemetry).on_conflict_do_nothing()
    raise ApiProblem(
        500, "unsupported-database", f"telemetry needs SQLite or PostgreSQL, not {dialect}"
    )


def _current_version(conn: Connection) -> int:
    value = conn.execute(select(func.max(catalog_items.c.version))).scalar()
    return int(value or 0)


def _item_update(kind: str, item_id: str) -> Any:
    return update(catalog_items).where(
        catalog_items.c.kind == kind, catalog_items.c.item_id == item_id
    )


def _store_body(catalog: Mapping[str, Any]) -> str:
    store = catalog["store"]
    return StoreEntry(
        name=store["name"],
        currency=store["currency"],
        tax_included=store["tax_included"],
        tax_classes=dict(catalog["tax_classes"]),
    ).model_dump_json()


def _check_layout(layout: Mapping[str, Any]) -> None:
    # The layout loader reads files (it reports file and JSON path); give it one.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "layout.json"
        path.write_text(json.dumps(layout), encoding="utf-8")
        try:
            load_layout(path)
        except LayoutError as exc:
            raise ApiProblem(
                422, "invalid-layout", str(exc).replace(str(path), "uploaded layout")
            ) from exc


def _claims_columns(claims: TokenClaims, token: str) -> dict[str, Any]:
    return {
        "handoff_id": claims.handoff_id,
        "session_id": claims.session_id,
        "cart_id": claims.cart_id,
        "key_id": claims.key_id,
        "token": token,
        "total_cents": claims.total_cents,
        "line_count": claims.line_count,
        "lines_hash": claims.lines_hash.hex(),
        "issued_at": claims.issued_at,
        "expires_at": claims.expires_at,
    }


def _handoff_row(row: Any) -> HandoffRow:
    lines = None
    if row.lines_json is not None:
        lines = [HandoffLine.model_validate(item) for item in json.loads(row.lines_json)]
    return HandoffRow(
        handoff_id=row.handoff_id,
        session_id=row.session_id,
        cart_id=row.cart_id,
        status=row.status,
        status_reason=row.status_reason,
        total_cents=int(row.total_cents),
        line_count=int(row.line_count),
        lines_hash=row.lines_hash,
        expires_at=int(row.expires_at),
        currency=row.currency,
        lines=lines,
        payment_ref=row.payment_ref,
        paid_at=row.paid_at,
    )
