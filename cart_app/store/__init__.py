"""The cart's link to the store: API contract, HTTP client, durable outbox, signed basket token.

- :mod:`cart_app.store.contract`: the wire models of store API v1 (the single source of the
  OpenAPI document in ``docs/openapi.json``), shared with the reference server.
- :mod:`cart_app.store.token`: the Ed25519-signed basket token shown as a QR code.
- :mod:`cart_app.store.http`: a hardened HTTP transport (timeouts, retries with jitter, size and
  time limits, no redirects, TLS verification on).
- :mod:`cart_app.store.client`: typed calls of the store API.
- :mod:`cart_app.store.outbox`: the durable, exactly-once outbox of handoffs and telemetry.
- :mod:`cart_app.store.catalog_sync`: the catalog cache and incremental sync with ETags.
- :mod:`cart_app.store.link`: the part that ties them together on its worker threads and
  publishes the link state (online, degraded, offline); its pieces are in
  :mod:`~cart_app.store.link_types`, :mod:`~cart_app.store.link_core`,
  :mod:`~cart_app.store.link_handoff`, :mod:`~cart_app.store.link_telemetry`,
  :mod:`~cart_app.store.link_workers` and :mod:`~cart_app.store.backoff`.

Nothing here imports the reference server (``store_server``); the dependency goes the other way.
"""
