"""Opening the store database: the engine, its connections and the writer lock.

SQLite by file path (WAL, ``synchronous=FULL``), PostgreSQL (or any SQLAlchemy URL) by URL.
With SQLite one process-wide lock serialises writers, because SQLite has one writer anyway and
a lock avoids ``database is locked`` retries. :class:`StoreBase` is what the storage parts
(:mod:`store_server.credentials_db`, :mod:`store_server.handoff_db`,
:mod:`store_server.telemetry_db`, :mod:`store_server.catalog_db`) build on.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

from sqlalchemy import Connection, Engine, create_engine, event

from store_server.schema import metadata


def database_url(target: str) -> str:
    """A SQLAlchemy URL from ``--db``: a URL as given, a file path as SQLite."""
    if "://" in target:
        return target
    return f"sqlite:///{Path(target).expanduser().resolve()}"


class StoreBase:
    """The engine and its transactions; the storage parts add their queries on top."""

    def __init__(self, engine: Engine) -> None:
        """Use :meth:`open`."""
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._write_lock = threading.Lock()

    @classmethod
    def open(cls, target: str) -> Self:
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
