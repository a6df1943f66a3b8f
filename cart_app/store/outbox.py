"""The durable outbox: messages for the store that must arrive exactly once, in order.

Handoffs, voids, session starts, key registrations and telemetry are written here (SQLite, WAL,
``synchronous=FULL``: on disk before :meth:`Outbox.enqueue` returns) and delivered by the store
link's worker when the network allows. Each message is keyed by its idempotency key: enqueuing
the same key twice keeps one message, and the store keeps one effect per key, so a crash
between sending and marking delivered causes a resend that the store recognises, never a
second basket.

States: ``held`` (written ahead of the ledger, not yet deliverable), ``ready``, ``delivered``,
``dead`` (the store refused it for good; kept for staff, with the reason). A handoff is written
``held`` before the engine records it in the ledger and released after, so that the ledger
stays the commit point: at start-up :meth:`Outbox.held` entries are released when the ledger
has their handoff and discarded when it does not (see :mod:`cart_app.store.link`).

The outbox lives in its own file next to the ledger; the ledger's format is not touched.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Final, Literal

from cart_app.clock import Clock

APPLICATION_ID: Final = 0x53434F42  # "SCOB"
SCHEMA_VERSION: Final = 1

OutboxState = Literal["held", "ready", "delivered", "dead"]
OutboxKind = Literal["key", "session", "handoff", "void", "telemetry"]
KINDS: Final = ("key", "session", "handoff", "void", "telemetry")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    key          TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL,
    session_id   TEXT NOT NULL DEFAULT '',
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('held', 'ready', 'delivered', 'dead')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    created_at   REAL NOT NULL,
    delivered_at REAL,
    response     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state, seq);
"""


class OutboxError(Exception):
    """The outbox file cannot be used (corrupt, foreign, newer, or a failed write)."""


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One message and its delivery state."""

    seq: int
    key: str
    kind: OutboxKind
    session_id: str
    payload: str
    state: OutboxState
    attempts: int
    last_error: str
    created_at: float
    delivered_at: float | None
    response: str


_COLUMNS = (
    "seq, key, kind, session_id, payload, state, attempts, last_error, created_at, "
    "delivered_at, response"
)


class Outbox:
    """An open outbox file; thread-safe (one connection behind a lock)."""

    def __init__(self, path: Path, conn: sqlite3.Connection, clock: Clock) -> None:
        """Use :meth:`open`."""
        self._path = path
        self._conn = conn
        self._clock = clock
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: Path, clock: Clock) -> Outbox:
        """Open (or create) the outbox at ``path``; :class:`OutboxError` for a bad file."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise OutboxError(f"{path}: cannot open: {exc}") from exc
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            names = {
                str(row[0])
                for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            # An outbox table without the identity is one this code began to create when an
            # older build was cut off between the two steps; anything else is another file.
            half_created = app_id == 0 and names <= {"outbox", "sqlite_sequence"}
            if names and app_id != APPLICATION_ID and not half_created:
                raise OutboxError(f"{path}: not a smartcart outbox (application_id {app_id:#x})")
            if version > SCHEMA_VERSION:
                raise OutboxError(
                    f"{path}: outbox format {version} is newer than this build ({SCHEMA_VERSION})"
                )
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL: a message is on disk before enqueue returns, like a ledger record.
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=5000")
            # Schema and identity in one transaction: a power cut during the first start leaves
            # either no outbox or a complete one, never tables without the identity.
            conn.executescript(
                f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA application_id={APPLICATION_ID}; "
                f"PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
            )
        except OutboxError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise OutboxError(f"{path}: {exc}") from exc
        return cls(path, conn, clock)

    @property
    def path(self) -> Path:
        """The outbox file."""
        return self._path

    def close(self) -> None:
        """Close the file (everything enqueued is already durable)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                raise OutboxError(f"{self._path}: write failed: {exc}") from exc
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                raise

    def _rows(self, where: str, params: tuple[object, ...]) -> list[OutboxEntry]:
        with self._lock:
            try:
                rows = self._conn.execute(
                    f"SELECT {_COLUMNS} FROM outbox {where}", params
                ).fetchall()
            except sqlite3.Error as exc:
                raise OutboxError(f"{self._path}: read failed: {exc}") from exc
        return [OutboxEntry(*row) for row in rows]

    # --- writing --------------------------------------------------------------------------

    def enqueue(
        self,
        key: str,
        kind: OutboxKind,
        payload: str,
        *,
        session_id: str = "",
        held: bool = False,
    ) -> bool:
        """Store a message durably; False (and nothing changed) when ``key`` is already there."""
        if kind not in KINDS:
            raise ValueError(f"unknown outbox kind {kind!r}")
        state = "held" if held else "ready"
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO outbox (key, kind, session_id, payload, state, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key, kind, session_id, payload, state, self._clock.wall()),
            )
            return cursor.rowcount == 1

    def release(self, key: str) -> bool:
        """Make a held message deliverable; False when ``key`` is not held."""
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE outbox SET state = 'ready' WHERE key = ? AND state = 'held'", (key,)
            )
            return cursor.rowcount == 1

    def discard(self, key: str) -> bool:
        """Drop a held message (its handoff never reached the ledger)."""
        with self._write() as conn:
            cursor = conn.execute("DELETE FROM outbox WHERE key = ? AND state = 'held'", (key,))
            return cursor.rowcount == 1

    def mark_delivered(self, keys: list[str], response: str = "") -> None:
        """Record that the store acknowledged ``keys``."""
        with self._write() as conn:
            conn.executemany(
                "UPDATE outbox SET state = 'delivered', delivered_at = ?, response = ?, "
                "attempts = attempts + 1, last_error = '' WHERE key = ? AND state = 'ready'",
                [(self._clock.wall(), response, key) for key in keys],
            )

    def mark_failed(self, keys: list[str], error: str) -> None:
        """Count a failed attempt; the messages stay ready for the next round."""
        with self._write() as conn:
            conn.executemany(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? "
                "WHERE key = ? AND state = 'ready'",
                [(error[:500], key) for key in keys],
            )

    def mark_dead(self, keys: list[str], error: str) -> None:
        """The store refused ``keys`` for good: keep them, with the reason, for staff."""
        with self._write() as conn:
            conn.executemany(
                "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = ? "
                "WHERE key = ? AND state = 'ready'",
                [(error[:500], key) for key in keys],
            )

    def trim_telemetry(self, keep: int) -> int:
        """Drop the oldest undelivered telemetry beyond ``keep`` messages; returns how many.

        Telemetry is the only kind ever dropped: a cart offline for days must not fill its
        disk with heartbeats, and a handoff or void is never dropped.
        """
        with self._write() as conn:
            cursor = conn.execute(
                "DELETE FROM outbox WHERE kind = 'telemetry' AND state = 'ready' AND seq NOT IN "
                "(SELECT seq FROM outbox WHERE kind = 'telemetry' AND state = 'ready' "
                "ORDER BY seq DESC LIMIT ?)",
                (keep,),
            )
            return cursor.rowcount

    def prune_delivered(self, older_than_s: float) -> int:
        """Forget delivered messages older than ``older_than_s``; returns how many."""
        cutoff = self._clock.wall() - older_than_s
        with self._write() as conn:
            cursor = conn.execute(
                "DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < ?", (cutoff,)
            )
            return cursor.rowcount

    # --- reading --------------------------------------------------------------------------

    def ready(self, limit: int = 100) -> list[OutboxEntry]:
        """Deliverable messages, oldest first."""
        return self._rows("WHERE state = 'ready' ORDER BY seq LIMIT ?", (limit,))

    def held(self) -> list[OutboxEntry]:
        """Messages written ahead of the ledger and not yet released."""
        return self._rows("WHERE state = 'held' ORDER BY seq", ())

    def get(self, key: str) -> OutboxEntry | None:
        """The message with ``key``, or None."""
        found = self._rows("WHERE key = ?", (key,))
        return found[0] if found else None

    def entries(self, state: OutboxState | None = None) -> list[OutboxEntry]:
        """Every message (or those in ``state``), oldest first."""
        if state is None:
            return self._rows("ORDER BY seq", ())
        return self._rows("WHERE state = ? ORDER BY seq", (state,))

    def pending_count(self) -> int:
        """How many messages wait for delivery (held or ready)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT count(*) FROM outbox WHERE state IN ('held', 'ready')"
            ).fetchone()
        return int(row[0])
