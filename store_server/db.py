"""Storage of the reference store server, in SQLAlchemy Core: :class:`StoreDB`.

SQLite by file path (WAL, ``synchronous=FULL``), PostgreSQL (or any SQLAlchemy URL) by URL.
Correctness under concurrency rests on the database, not on the process: primary keys make
idempotency keys and event ids unique, a partial unique index allows at most one paid basket
per session, and paying is a conditional ``UPDATE ... WHERE status = 'awaiting_payment'``. With
SQLite one process-wide lock also serialises writers, because SQLite has one writer anyway and
a lock avoids ``database is locked`` retries.

:class:`StoreDB` combines the storage parts, each in its own module:

- :mod:`store_server.schema`: the tables;
- :mod:`store_server.db_engine`: opening the database, transactions, the writer lock;
- :mod:`store_server.credentials_db`: API keys, cart keys, staff badges;
- :mod:`store_server.handoff_db`: sessions, basket handoffs, payments;
- :mod:`store_server.telemetry_db`: cart telemetry;
- :mod:`store_server.catalog_db`: the versioned catalog.
"""

from __future__ import annotations

from store_server.catalog_db import CatalogStore
from store_server.credentials_db import CredentialStore
from store_server.handoff_db import HandoffStore
from store_server.schema import cart_keys, catalog_items, metadata
from store_server.telemetry_db import TelemetryStore

# The tables are re-exported: tests, benchmarks and tools import them from here.
__all__ = ["StoreDB", "cart_keys", "catalog_items", "metadata"]


class StoreDB(CredentialStore, HandoffStore, TelemetryStore, CatalogStore):
    """The store's database. Thread-safe; one per process."""
