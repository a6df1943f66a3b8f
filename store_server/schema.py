"""The store database's tables, in SQLAlchemy Core (``metadata.create_all`` creates them).

Correctness under concurrency rests on these definitions: primary keys make idempotency keys
and event ids unique, and a partial unique index allows at most one paid basket per session.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

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
