"""The store link's two worker threads.

- The **outbox worker** delivers the outbox in order (key registration, session starts,
  handoffs, voids, telemetry batches), syncs the catalog on its interval and queues a health
  heartbeat; after a failure it backs off exponentially with jitter.
- The **payment watcher** long-polls the payment status of the basket handed off last and,
  when the lane reports it paid, completes the session through the engine.
"""

from __future__ import annotations

import logging

from pydantic import TypeAdapter, ValidationError

from cart_app.events import CompleteSession
from cart_app.session import SessionState
from cart_app.store.catalog_sync import CatalogSyncError
from cart_app.store.contract import (
    HandoffRequest,
    HealthEvent,
    SessionStart,
    TelemetryBatch,
    TelemetryEvent,
)
from cart_app.store.http import StoreAuthError, StoreError, StoreHTTPError
from cart_app.store.link_core import ENGINE_CALL_TIMEOUT_S, LINK_LOGGER
from cart_app.store.link_telemetry import LinkTelemetry
from cart_app.store.link_types import LinkState
from cart_app.store.outbox import OutboxEntry

log = logging.getLogger(LINK_LOGGER)

_TELEMETRY: TypeAdapter[TelemetryEvent] = TypeAdapter(TelemetryEvent)


class _Permanent(Exception):
    """A message the store refused for good."""


class LinkWorkers(LinkTelemetry):
    """The link's outbox worker and payment watcher (a part of the store link)."""

    def request_catalog_sync(self) -> None:
        """Sync the catalog at the next opportunity."""
        self._sync_requested = True
        self._wake.set()

    # --- outbox worker --------------------------------------------------------------------

    def _run_outbox(self) -> None:
        delay = 0.0
        while not self._stopping.is_set():
            if delay > 0:
                self._wake.wait(delay)
                self._wake.clear()
                if self._stopping.is_set():
                    return
            try:
                self._outbox_round()
            except StoreError as exc:
                if self._stopping.is_set():
                    return
                self._note_failure(exc)
                delay = self._backoff.next_delay()
                continue
            except Exception as exc:  # a bug or a disk fault: keep the thread, back off
                log.exception("store outbox round failed")
                self._set_status(LinkState.DEGRADED, f"outbox: {exc}")
                delay = self._backoff.next_delay()
                continue
            self._backoff.reset()
            delay = self._settings.idle_poll_s

    def _outbox_round(self) -> None:
        self._deliver()
        now = self._clock.monotonic()
        if self._sync is not None and (self._sync_requested or now >= self._next_sync):
            self._sync_catalog()
        if now >= self._next_heartbeat:
            self._next_heartbeat = now + self._settings.heartbeat_interval_s
            self._heartbeat()
        self._refresh_pending()

    def _deliver(self) -> None:
        while not self._stopping.is_set():
            entries = self._outbox.ready(self._settings.telemetry_batch)
            if not entries:
                return
            first = entries[0]
            if first.kind == "telemetry":
                batch = []
                for entry in entries:
                    if entry.kind != "telemetry":
                        break
                    batch.append(entry)
                self._deliver_telemetry(batch)
            else:
                self._deliver_one(first)
            self._refresh_pending()

    def _deliver_one(self, entry: OutboxEntry) -> None:
        try:
            response = self._send(entry)
        except _Permanent as exc:
            log.error("store refused %s %s for good: %s", entry.kind, entry.key, exc)
            self._outbox.mark_dead([entry.key], str(exc))
            # Kept in the outbox (state dead, with the reason) for staff; the store hears too.
            self.report_error("store-link", f"{entry.kind} {entry.key} refused: {exc}", "critical")
            self._set_status(LinkState.DEGRADED, f"store refused {entry.kind}: {exc}")
            return
        except StoreError as exc:
            self._outbox.mark_failed([entry.key], str(exc))
            raise
        self._outbox.mark_delivered([entry.key], response)
        self._set_status(LinkState.ONLINE, "delivered", success=True)

    def _send(self, entry: OutboxEntry) -> str:
        """Send one message; returns the acknowledgement to keep, raises _Permanent/StoreError."""
        try:
            if entry.kind == "key":
                ack = self._client.register_key(
                    self._settings.cart_id, entry.key.removeprefix("key:"), entry.payload
                )
                return ack.model_dump_json()
            if entry.kind == "session":
                start = SessionStart.model_validate_json(entry.payload)
                return self._client.start_session(start).model_dump_json()
            if entry.kind == "handoff":
                request = HandoffRequest.model_validate_json(entry.payload)
                try:
                    handoff = self._client.hand_off(request)
                except StoreHTTPError as exc:
                    if exc.problem_type != "token-unknown-key":
                        raise
                    # The store lost (or never got) this cart's key, e.g. after a reset of its
                    # database: register it again and resend; never drop a basket for that.
                    self._client.register_key(
                        self._settings.cart_id, self._key.key_id, self._key.public_key_b64
                    )
                    handoff = self._client.hand_off(request)
                if handoff.status == "paid":
                    self._complete(request.handoff_id)
                self._payment_wake.set()
                return handoff.model_dump_json()
            if entry.kind == "void":
                handoff_id = entry.key.removeprefix("void:")
                return self._client.void_handoff(handoff_id, entry.payload).model_dump_json()
        except ValidationError as exc:
            raise _Permanent(f"stored message is unreadable: {exc}") from exc
        except StoreAuthError:
            raise
        except StoreHTTPError as exc:
            if exc.retryable:
                raise
            raise _Permanent(str(exc)) from exc
        raise _Permanent(f"unknown outbox kind {entry.kind!r}")

    def _deliver_telemetry(self, entries: list[OutboxEntry]) -> None:
        events: list[TelemetryEvent] = []
        good: list[OutboxEntry] = []
        for entry in entries:
            try:
                events.append(_TELEMETRY.validate_json(entry.payload))
                good.append(entry)
            except ValidationError as exc:
                self._outbox.mark_dead([entry.key], f"unreadable: {exc}")
        if not events:
            return
        keys = [e.key for e in good]
        try:
            ack = self._client.send_telemetry(
                TelemetryBatch(cart_id=self._settings.cart_id, events=events)
            )
        except StoreHTTPError as exc:
            if exc.retryable or isinstance(exc, StoreAuthError):
                self._outbox.mark_failed(keys, str(exc))
                raise
            # The batch was refused as a whole: telemetry is not worth blocking the queue.
            self._outbox.mark_dead(keys, str(exc))
            return
        except StoreError as exc:
            self._outbox.mark_failed(keys, str(exc))
            raise
        self._outbox.mark_delivered(keys, ack.model_dump_json())
        self._set_status(LinkState.ONLINE, "delivered", success=True)

    def _sync_catalog(self) -> None:
        assert self._sync is not None
        self._sync_requested = False
        self._next_sync = self._clock.monotonic() + self._settings.catalog_sync_interval_s
        try:
            result = self._sync.sync()
        except CatalogSyncError as exc:
            # The store's catalog is bad, not the link: keep selling from the current one.
            log.error("%s", exc)
            self.report_error("catalog", str(exc))
            self._set_status(LinkState.DEGRADED, str(exc))
            return
        except StoreError:
            self._sync_requested = True
            raise
        self.last_sync = result
        if result.outcome != "unchanged":
            log.info("catalog %s to v%d", result.outcome, result.version)
        self._set_status(LinkState.ONLINE, "catalog in sync", success=True)

    def _heartbeat(self) -> None:
        status = self.status
        with self._status_lock:
            components = dict(self._components)
        event = HealthEvent(
            kind="health",
            event_id=self._new_id(),
            t=self._clock.wall(),
            link=status.state.value,
            session_state=self._engine.snapshot.basket.state.value,
            outbox_pending=status.pending,
            uptime_s=max(0.0, self._clock.monotonic() - self._started_mono),
            components=components,
        )
        self._enqueue_telemetry(event)
        self._outbox.trim_telemetry(self._settings.telemetry_keep)

    # --- payment watcher ------------------------------------------------------------------

    def _payment_target(self) -> str | None:
        basket = self._engine.snapshot.basket
        key = basket.handoff_key
        if basket.state is not SessionState.HANDED_OFF or key is None or key in self._settled:
            return None
        entry = self._outbox.get(key)
        # Poll only once the store has the basket: before that, it knows nothing to report.
        return key if entry is not None and entry.state == "delivered" else None

    def _run_payment(self) -> None:
        while not self._stopping.is_set():
            try:
                key = self._payment_target()
            except Exception:
                log.exception("payment watcher cannot read the outbox")
                key = None
            if key is None:
                self._payment_wake.wait(self._settings.idle_poll_s)
                self._payment_wake.clear()
                continue
            try:
                status = self._client.payment_status(key, self._settings.payment_wait_s)
            except StoreError as exc:
                if self._stopping.is_set():
                    return
                self._note_failure(exc)
                self._payment_wake.wait(self._payment_backoff.next_delay())
                self._payment_wake.clear()
                continue
            if self._stopping.is_set():
                return
            self._payment_backoff.reset()
            self._set_status(LinkState.ONLINE, "payment status", success=True)
            if status.status == "paid":
                self._complete(key)
            elif status.status in ("void", "superseded"):
                self._settled[key] = status.status

    def _complete(self, handoff_id: str) -> None:
        """The lane reported ``handoff_id`` paid: finish the session if it is still that one."""
        self._settled[handoff_id] = "paid"
        if self._stopping.is_set():
            return  # the engine may be stopping too; the next start polls again
        basket = self._engine.snapshot.basket
        if basket.state is SessionState.HANDED_OFF and basket.handoff_key == handoff_id:
            self._engine.call(CompleteSession("paid"), ENGINE_CALL_TIMEOUT_S)
