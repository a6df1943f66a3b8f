"""The reference store server: store API v1 over FastAPI, with SQLite or PostgreSQL.

An optional extra for developers, the demo and the tests; the cart never imports it. It
implements the whole contract of ``cart_app.store.contract`` plus the exit lane's endpoints.

- :mod:`store_server.db`: storage (SQLAlchemy Core; SQLite by path, PostgreSQL by URL).
- :mod:`store_server.api`: the FastAPI application.
- :mod:`store_server.runner`: uvicorn in a thread (tests, bench) or in the foreground (CLI).
- :mod:`store_server.cli`: ``smartcart store-server`` and ``smartcart store-admin``.
"""
