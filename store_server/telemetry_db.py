"""Cart telemetry in the store database: each event stored once by (cart, event id)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from cart_app.store.contract import TelemetryEvent
from store_server.db_engine import StoreBase
from store_server.errors import ApiProblem
from store_server.schema import telemetry


class TelemetryStore(StoreBase):
    """Health, error and battery events the carts report."""

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


def _insert_ignoring_duplicates(dialect: str) -> Any:
    if dialect == "sqlite":
        return sqlite_insert(telemetry).on_conflict_do_nothing()
    if dialect == "postgresql":
        return postgresql_insert(telemetry).on_conflict_do_nothing()
    raise ApiProblem(
        500, "unsupported-database", f"telemetry needs SQLite or PostgreSQL, not {dialect}"
    )
