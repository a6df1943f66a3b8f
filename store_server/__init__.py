"""The reference store server: store API v1 over FastAPI, with SQLite or PostgreSQL.

An optional extra for developers, the demo and the tests; the cart never imports it. It
implements the whole contract of ``cart_app.store.contract`` plus the exit lane's endpoints.

Storage (SQLAlchemy Core; SQLite by path, PostgreSQL by URL):

- :mod:`store_server.db`: ``StoreDB``, the database, combining the parts below.
- :mod:`store_server.schema`: the tables.
- :mod:`store_server.db_engine`: opening the database, transactions, the writer lock.
- :mod:`store_server.credentials_db`: API keys, the carts' public keys, staff badges.
- :mod:`store_server.handoff_db`: sessions, basket handoffs, payments.
- :mod:`store_server.telemetry_db`: cart telemetry.
- :mod:`store_server.catalog_db`: the versioned catalog.
- :mod:`store_server.errors`: ``ApiProblem``, the error meant for the client.

The API (FastAPI):

- :mod:`store_server.api`: the application (``create_app``) and ``/health``.
- :mod:`store_server.catalog_routes`, :mod:`store_server.cart_routes`,
  :mod:`store_server.handoff_routes`, :mod:`store_server.lane_routes`: the endpoints.
- :mod:`store_server.dependencies`: the caller, roles, cart ownership, token verification.
- :mod:`store_server.context`: ``ServerContext`` (database, clock, payment notifier, limiter).
- :mod:`store_server.problem_responses`: errors as ``application/problem+json``.
- :mod:`store_server.body_limit`: the request body size limit (413).
- :mod:`store_server.openapi`: the OpenAPI document (``docs/openapi.json``).

Running it:

- :mod:`store_server.runner`: uvicorn in a thread (tests, bench) or in the foreground (CLI).
- :mod:`store_server.cli`: ``smartcart store-server`` and ``smartcart store-admin``.
- :mod:`store_server.demo`: the demo store on a free loopback port.
"""
