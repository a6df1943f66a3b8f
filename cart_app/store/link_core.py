"""The store link's shared state and its published link status.

:class:`LinkCore` is the base of :class:`cart_app.store.link.StoreLink`: it holds what the
link's parts (handoff, telemetry, workers) share, and publishes the link state (``online``,
``degraded``, ``offline``) to subscribers.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Final

from cart_app.clock import Clock
from cart_app.session import SessionState
from cart_app.store.backoff import Backoff
from cart_app.store.catalog_sync import CatalogSync, SyncResult
from cart_app.store.client import StoreClient
from cart_app.store.contract import ComponentHealth
from cart_app.store.http import StoreUnreachable
from cart_app.store.link_types import (
    EngineLike,
    LinkSettings,
    LinkState,
    LinkStatus,
    SessionRecords,
    StoreInfoSource,
)
from cart_app.store.outbox import Outbox
from cart_app.store.token import CartKey

LINK_LOGGER: Final = "cart_app.store.link"
"""The logger of every module of the link: its records keep the name they had before the link
was split into modules, so log filters and readers of the log see no change."""

log = logging.getLogger(LINK_LOGGER)

ENGINE_CALL_TIMEOUT_S: Final = 10.0


class LinkCore:
    """The link's shared state and link status (the base of the link's parts)."""

    def __init__(
        self,
        *,
        client: StoreClient,
        outbox: Outbox,
        engine: EngineLike,
        ledger: SessionRecords,
        store_info: StoreInfoSource,
        key: CartKey,
        settings: LinkSettings,
        clock: Clock,
        catalog_sync: CatalogSync | None = None,
        rng: Callable[[], float] = random.random,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
        on_stop: Sequence[Callable[[], None]] = (),
    ) -> None:
        """Wire the link; nothing runs until :meth:`start`.

        ``on_stop`` closes what the link was given to own (its outbox and cache files) after
        its threads ended.
        """
        self._client = client
        self._outbox = outbox
        self._engine = engine
        self._ledger = ledger
        self._store_info = store_info
        self._key = key
        self._settings = settings
        self._clock = clock
        self._sync = catalog_sync
        self._new_id = new_id
        self._on_stop = tuple(on_stop)
        self._backoff = Backoff(settings.backoff_initial_s, settings.backoff_max_s, rng)
        self._payment_backoff = Backoff(settings.backoff_initial_s, settings.backoff_max_s, rng)
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._payment_wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._unsubscribe: Callable[[], None] | None = None
        self._handoff_lock = threading.Lock()
        self._status_lock = threading.Lock()
        self._listeners: list[Callable[[LinkStatus], None]] = []
        self._status = LinkStatus(LinkState.OFFLINE, "not connected yet", clock.wall(), 0)
        self._components: dict[str, ComponentHealth] = {}
        self._started_mono = clock.monotonic()
        self._next_sync = clock.monotonic()
        self._sync_requested = True
        self._next_heartbeat = clock.monotonic() + settings.heartbeat_interval_s
        self._last_seen: tuple[str, SessionState, str | None] | None = None
        self._settled: dict[str, str] = {}
        self.last_sync: SyncResult | None = None

    # --- link state -----------------------------------------------------------------------

    @property
    def status(self) -> LinkStatus:
        """The current link status."""
        with self._status_lock:
            return self._status

    def subscribe(self, listener: Callable[[LinkStatus], None]) -> Callable[[], None]:
        """Call ``listener`` (on a link thread) whenever the status changes."""
        with self._status_lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._status_lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _set_status(self, state: LinkState, reason: str, *, success: bool = False) -> None:
        with self._status_lock:
            old = self._status
            now = self._clock.wall()
            last_success = now if success else old.last_success
            if old.state is state and old.reason == reason:
                self._status = replace(old, last_success=last_success)
                return
            self._status = LinkStatus(state, reason, now, old.pending, last_success)
            status, listeners = self._status, list(self._listeners)
        if state is not old.state:
            log.info("store link %s: %s", state.value, reason)
        self._publish(status, listeners)

    def _refresh_pending(self) -> None:
        try:
            pending = self._outbox.pending_count()
        except Exception:  # a status figure must never break a caller
            return
        with self._status_lock:
            if self._status.pending == pending:
                return
            self._status = replace(self._status, pending=pending)
            status, listeners = self._status, list(self._listeners)
        self._publish(status, listeners)

    @staticmethod
    def _publish(status: LinkStatus, listeners: list[Callable[[LinkStatus], None]]) -> None:
        for listener in listeners:
            try:
                listener(status)
            except Exception:  # a broken screen must not stop the link
                log.exception("link status listener failed")

    def _note_failure(self, exc: BaseException) -> None:
        if isinstance(exc, StoreUnreachable):
            self._set_status(LinkState.OFFLINE, str(exc))
        else:
            self._set_status(LinkState.DEGRADED, str(exc))
