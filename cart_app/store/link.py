"""The store link: the part that keeps the cart and the store in step, offline first.

Two worker threads:

- the **outbox worker** delivers the outbox in order (key registration, session starts,
  handoffs, voids, telemetry batches), syncs the catalog on its interval and queues a health
  heartbeat; after a failure it backs off exponentially with jitter;
- the **payment watcher** long-polls the payment status of the basket handed off last and,
  when the lane reports it paid, completes the session through the engine.

Neither thread writes the basket: the engine stays the single writer (``CompleteSession``).
The link listens to the engine's snapshots to notice a new session (reported to the store) and
a basket that left ``handed_off`` for shopping again (its token is voided at the store, so the
lane refuses it).

A handoff (:meth:`StoreLink.hand_off`) is written to the outbox *held* first, then recorded by
the engine in the ledger, then released. The ledger is the commit point; at start-up,
:meth:`StoreLink.reconcile` releases held handoffs the ledger has and discards those it does
not. With the store's idempotency keys, each basket is recorded at the store exactly once.

The link state (``online``, ``degraded``, ``offline``) goes to subscribers, for the screen.

The link is one class, :class:`StoreLink`, assembled from parts kept in their own modules:

- :mod:`cart_app.store.link_types`: the link's state, status, ticket, settings and protocols;
- :mod:`cart_app.store.link_core`: the shared state and the published link status;
- :mod:`cart_app.store.link_handoff`: engine events, the handoff and reconciliation;
- :mod:`cart_app.store.link_telemetry`: telemetry and the staff badge check;
- :mod:`cart_app.store.link_workers`: the outbox worker and the payment watcher;
- :mod:`cart_app.store.backoff`: the workers' backoff.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Final

from cart_app.store.backoff import Backoff
from cart_app.store.link_handoff import LinkHandoff
from cart_app.store.link_types import (
    EngineLike,
    HandoffRefused,
    HandoffTicket,
    LinkSettings,
    LinkState,
    LinkStatus,
    SessionRecords,
    StoreInfoSource,
)
from cart_app.store.link_workers import LinkWorkers

# The link's types moved to their own modules; they stay importable from here, where the
# cart and its screens have always imported them.
__all__ = [
    "Backoff",
    "EngineLike",
    "HandoffRefused",
    "HandoffTicket",
    "LinkSettings",
    "LinkState",
    "LinkStatus",
    "SessionRecords",
    "StoreInfoSource",
    "StoreLink",
    "default_paths",
]

log = logging.getLogger(__name__)

_STOP_JOIN_S: Final = 2.0
_PAYMENT_JOIN_S: Final = 0.2


class StoreLink(LinkHandoff, LinkWorkers):
    """The store part of the cart (``Part`` protocol: ``name``, ``start``, ``stop``)."""

    name = "store"

    # --- Part -----------------------------------------------------------------------------

    def start(self) -> None:
        """Reconcile the outbox with the ledger, listen to the engine, start both threads."""
        self._stopping.clear()
        self.reconcile()
        self._outbox.enqueue(
            f"key:{self._key.key_id}",
            "key",
            self._key.public_key_b64,
        )
        self._outbox.prune_delivered(self._settings.delivered_retention_s)
        self._outbox.trim_telemetry(self._settings.telemetry_keep)
        self._on_engine_event(self._engine.snapshot)
        self._unsubscribe = self._engine.subscribe(self._on_engine_event)
        self._refresh_pending()
        for target, name in ((self._run_outbox, "store-outbox"), (self._run_payment, "store-pay")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop listening and end both threads; undelivered messages stay in the outbox."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self._stopping.set()
        self._wake.set()
        self._payment_wake.set()
        self._client.close()
        for thread in self._threads:
            # A long poll in flight cannot be interrupted; its daemon thread ends when the
            # poll returns (it checks the stop flag first), so stop() does not wait for it.
            limit = _STOP_JOIN_S if thread.name == "store-outbox" else _PAYMENT_JOIN_S
            thread.join(limit)
            if thread.is_alive() and thread.name == "store-outbox":
                log.warning("%s did not stop within %.1f s", thread.name, limit)
        self._threads.clear()
        for close in self._on_stop:
            try:
                close()
            except Exception:  # stopping goes on; the files are already durable
                log.exception("closing a store file failed")


def default_paths(data_dir: Path) -> dict[str, Path]:
    """Where the link keeps its files inside the cart's data folder."""
    return {
        "outbox": data_dir / "store_outbox.sqlite3",
        "catalog_cache": data_dir / "store_catalog.sqlite3",
        "cart_key": data_dir / "cart_key.pem",
        "layout": data_dir / "store_layout.json",
    }
