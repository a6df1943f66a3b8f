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
"""

from __future__ import annotations

import enum
import logging
import random
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final, Protocol

from pydantic import TypeAdapter, ValidationError

from cart_app.catalog_schema import StoreInfo
from cart_app.clock import Clock
from cart_app.engine import CartSnapshot, EngineEvent, Listener
from cart_app.events import Command, CompleteSession, HandOff, ReopenShopping, RequestCheckout
from cart_app.ledger import LedgerError
from cart_app.pricing import ReceiptLine
from cart_app.records import HandoffQueued, Record, StateChanged
from cart_app.session import SessionState
from cart_app.store.catalog_sync import CatalogSync, CatalogSyncError, SyncResult
from cart_app.store.client import StoreClient
from cart_app.store.contract import (
    BadgeVerifyResult,
    BatteryEvent,
    ComponentHealth,
    ErrorEvent,
    HandoffLine,
    HandoffRequest,
    HealthEvent,
    SessionStart,
    Severity,
    TelemetryBatch,
    TelemetryEvent,
    handoff_lines_hash,
    lines_hash,
)
from cart_app.store.http import (
    StoreAuthError,
    StoreError,
    StoreHTTPError,
    StoreUnreachable,
)
from cart_app.store.outbox import Outbox, OutboxEntry, OutboxError
from cart_app.store.token import CartKey, TokenClaims, issue_token

log = logging.getLogger(__name__)

_TELEMETRY: TypeAdapter[TelemetryEvent] = TypeAdapter(TelemetryEvent)
_ENGINE_CALL_TIMEOUT_S: Final = 10.0
_STOP_JOIN_S: Final = 2.0
_PAYMENT_JOIN_S: Final = 0.2
_TRIP_STATES: Final = frozenset(
    {SessionState.SHOPPING, SessionState.CHECKOUT, SessionState.HANDED_OFF}
)


class LinkState(enum.StrEnum):
    """How the cart's link to the store is, as the screen shows it."""

    ONLINE = "online"
    """The last call succeeded."""
    DEGRADED = "degraded"
    """The store answers, but not usefully: refused credentials, errors, broken answers."""
    OFFLINE = "offline"
    """The store cannot be reached; the cart works on, the outbox waits."""


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """The link as of ``since`` (wall time): its state, why, and how much waits to be sent."""

    state: LinkState
    reason: str
    since: float
    pending: int
    last_success: float | None = None


@dataclass(frozen=True, slots=True)
class HandoffTicket:
    """A basket handed off: the token for the QR code and when it expires."""

    handoff_id: str
    token: str
    expires_at: int
    total_cents: int
    currency: str


class HandoffRefused(Exception):
    """The basket could not be handed off; nothing was recorded. The message says why."""


@dataclass(frozen=True, slots=True)
class LinkSettings:
    """The link's named settings (seconds unless stated)."""

    cart_id: str
    token_ttl_s: float = 900.0
    catalog_sync_interval_s: float = 300.0
    heartbeat_interval_s: float = 60.0
    payment_wait_s: float = 20.0
    idle_poll_s: float = 1.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    telemetry_keep: int = 5_000
    """Most undelivered telemetry events kept while offline (the oldest go first)."""
    delivered_retention_s: float = 7 * 24 * 3600.0
    telemetry_batch: int = 100


class EngineLike(Protocol):
    """What the link needs from :class:`cart_app.engine.Engine`."""

    @property
    def snapshot(self) -> CartSnapshot:
        """The latest snapshot."""
        ...

    def call(self, command: Command, timeout: float | None = None) -> EngineEvent:
        """Apply a command and wait for its outcome."""
        ...

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Hear every engine event."""
        ...


class SessionRecords(Protocol):
    """What reconciliation reads from :class:`cart_app.ledger.Ledger`."""

    def records(self, session_id: str) -> list[Record]:
        """A session's records in order."""
        ...

    def latest_session_id(self) -> str | None:
        """The session a restart restores (None when the last one is done)."""
        ...


class StoreInfoSource(Protocol):
    """Where the currency comes from (:class:`cart_app.catalog.Catalog` is one)."""

    def store_info(self) -> StoreInfo:
        """The store's name, currency and tax convention."""
        ...


class Backoff:
    """Exponential backoff with jitter: each delay is drawn from [d/2, d], d doubling to max."""

    def __init__(
        self, initial_s: float, max_s: float, rng: Callable[[], float] = random.random
    ) -> None:
        """``rng`` returns floats in [0, 1) (injectable for tests)."""
        self._initial = initial_s
        self._max = max_s
        self._rng = rng
        self._failures = 0

    def reset(self) -> None:
        """After a success: the next failure waits the initial delay again."""
        self._failures = 0

    def next_delay(self) -> float:
        """The delay after one more failure."""
        ceiling = min(self._max, self._initial * 2.0 ** min(self._failures, 30))
        self._failures += 1
        # Jitter spreads the carts of a store that all lost the network at the same moment.
        return ceiling * (0.5 + 0.5 * self._rng())


class _Permanent(Exception):
    """A message the store refused for good."""


class StoreLink:
    """The store part of the cart (``Part`` protocol: ``name``, ``start``, ``stop``)."""

    name = "store"

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

    # --- engine events (engine thread) ----------------------------------------------------

    def _on_engine_event(self, event: EngineEvent) -> None:
        if not isinstance(event, CartSnapshot):
            return
        basket = event.basket
        seen = (basket.session_id, basket.state, basket.handoff_key)
        previous, self._last_seen = self._last_seen, seen
        if previous == seen:
            return
        try:
            if (
                basket.session_id
                and basket.state in _TRIP_STATES
                and (previous is None or previous[0] != basket.session_id)
            ):
                self._enqueue_session(basket.session_id, basket.cart_id)
            if basket.handoff_key and basket.state in (SessionState.HANDED_OFF, SessionState.DONE):
                # The ledger has the handoff: it may go (normally hand_off releases it first).
                self._outbox.release(basket.handoff_key)
            if (
                previous is not None
                and previous[0] == basket.session_id
                and previous[1] is SessionState.HANDED_OFF
                and previous[2] is not None
                and basket.state not in (SessionState.HANDED_OFF, SessionState.DONE)
            ):
                self._enqueue_void(previous[2], f"basket reopened ({basket.state.value})")
        except OutboxError:
            log.exception("cannot write the store outbox")
            self._set_status(LinkState.DEGRADED, "cannot write the outbox (disk)")
        self._wake.set()
        self._payment_wake.set()

    def _enqueue_session(self, session_id: str, cart_id: str) -> None:
        start = SessionStart(
            session_id=session_id,
            cart_id=cart_id,
            started_at=self._clock.wall(),
            key_id=self._key.key_id,
        )
        self._outbox.enqueue(
            f"session:{session_id}", "session", start.model_dump_json(), session_id=session_id
        )

    def _enqueue_void(self, handoff_id: str, reason: str) -> None:
        # The token of that basket must no longer be payable: any weight change after handoff
        # invalidates it.
        self._outbox.enqueue(f"void:{handoff_id}", "void", reason[:200])
        self._refresh_pending()

    # --- handoff (UI thread) --------------------------------------------------------------

    def hand_off(self) -> HandoffTicket:
        """Sign the checked-out basket, record the handoff, queue it for the store.

        Works offline: the token is valid at the lane at once (it verifies the cart's
        signature), and the basket follows when the network allows. Raises
        :class:`HandoffRefused` when the basket is not in checkout or cannot be priced.
        """
        with self._handoff_lock:
            snap = self._engine.snapshot
            basket = snap.basket
            if basket.state is not SessionState.CHECKOUT:
                raise HandoffRefused(f"hand-off happens from checkout, not {basket.state.value}")
            if snap.receipt is None:
                raise HandoffRefused(f"the basket cannot be priced: {snap.fault or 'unknown'}")
            if not snap.receipt.lines:
                raise HandoffRefused("the basket is empty")
            currency = self._store_info.store_info().currency
            lines = [
                HandoffLine(
                    line_id=rl.line_id,
                    sku=rl.sku,
                    name=rl.name[:200] or rl.sku,
                    quantity=rl.quantity,
                    weight_g=rl.weight_g,
                    unit_price_cents=rl.unit_price_cents,
                    net_cents=rl.net_cents,
                    age_restricted=rl.age_restricted,
                )
                for rl in snap.receipt.lines
            ]
            digest = handoff_lines_hash(lines)
            handoff_id = self._new_id()
            now = int(self._clock.wall())
            expires = now + int(self._settings.token_ttl_s)
            claims = TokenClaims(
                key_id=self._key.key_id,
                handoff_id=handoff_id,
                session_id=basket.session_id,
                cart_id=basket.cart_id,
                issued_at=now,
                expires_at=expires,
                total_cents=snap.receipt.total_cents,
                line_count=len(lines),
                lines_hash=digest,
            )
            token = issue_token(self._key, claims)
            request = HandoffRequest(
                handoff_id=handoff_id,
                session_id=basket.session_id,
                cart_id=basket.cart_id,
                token=token,
                currency=currency,
                total_cents=snap.receipt.total_cents,
                lines=lines,
                created_at=float(now),
            )
            # Written ahead of the ledger: the ledger record below is the commit point.
            try:
                self._outbox.enqueue(
                    handoff_id,
                    "handoff",
                    request.model_dump_json(),
                    session_id=basket.session_id,
                    held=True,
                )
            except OutboxError as exc:
                # Nothing was recorded: the basket stays in checkout, the shopper may retry.
                self._set_status(LinkState.DEGRADED, "cannot write the outbox (disk)")
                raise HandoffRefused(f"the cart cannot save the handoff: {exc}") from exc
            try:
                event = self._engine.call(HandOff(handoff_id, token), _ENGINE_CALL_TIMEOUT_S)
            except TimeoutError:
                # Left held: the engine listener releases it if the record lands; reconcile
                # at the next start decides otherwise.
                raise HandoffRefused("the cart is busy; try again") from None
            if not (
                isinstance(event, CartSnapshot)
                and event.basket.handoff_key == handoff_id
                and event.basket.state is SessionState.HANDED_OFF
            ):
                try:
                    self._outbox.discard(handoff_id)
                except OutboxError:  # left held: reconcile discards it at the next start
                    log.exception("cannot discard the refused handoff %s", handoff_id)
                reason = getattr(event, "reason", None) or getattr(event, "message", "refused")
                raise HandoffRefused(str(reason))
            try:
                self._outbox.release(handoff_id)
            except OutboxError:
                # Recorded in the ledger, so it is handed off; reconcile releases it at the
                # next start, and the token is valid at the lane meanwhile.
                log.exception("cannot release handoff %s now", handoff_id)
                self._set_status(LinkState.DEGRADED, "cannot write the outbox (disk)")
            self._refresh_pending()
            after = event.receipt
            if (
                after is None
                or after.total_cents != claims.total_cents
                or _lines_digest(after.lines) != digest
            ):
                # Another command changed the basket between the snapshot and the record: the
                # token does not describe it, so void it and go back to shopping.
                self._engine.call(
                    ReopenShopping("basket changed during hand-off"), _ENGINE_CALL_TIMEOUT_S
                )
                raise HandoffRefused("the basket changed during hand-off; check out again")
            self._wake.set()
            self._payment_wake.set()
            return HandoffTicket(handoff_id, token, expires, claims.total_cents, currency)

    def reissue(self) -> HandoffTicket:
        """A fresh token for a handed-off basket whose token expired (the old one is voided)."""
        if self._engine.snapshot.basket.state is SessionState.HANDED_OFF:
            self._engine.call(ReopenShopping("token renewed"), _ENGINE_CALL_TIMEOUT_S)
        self._engine.call(RequestCheckout(), _ENGINE_CALL_TIMEOUT_S)
        return self.hand_off()

    # --- telemetry and staff --------------------------------------------------------------

    def set_component_health(self, component: str, health: ComponentHealth) -> None:
        """Record a component's health for the next heartbeat."""
        with self._status_lock:
            self._components[component[:40]] = health

    def report_error(self, component: str, message: str, severity: Severity = "error") -> None:
        """Queue an error report for the store."""
        event = ErrorEvent(
            kind="error",
            event_id=self._new_id(),
            t=self._clock.wall(),
            component=component[:40] or "cart",
            severity=severity,
            message=message[:2000] or "(no message)",
        )
        self._enqueue_telemetry(event)

    def report_battery(self, percent: int, charging: bool, voltage_v: float | None = None) -> None:
        """Queue a battery reading for the store."""
        event = BatteryEvent(
            kind="battery",
            event_id=self._new_id(),
            t=self._clock.wall(),
            percent=max(0, min(100, percent)),
            charging=charging,
            voltage_v=voltage_v,
        )
        self._enqueue_telemetry(event)

    def _enqueue_telemetry(self, event: HealthEvent | ErrorEvent | BatteryEvent) -> None:
        try:
            self._outbox.enqueue(event.event_id, "telemetry", event.model_dump_json())
        except OutboxError:
            log.exception("telemetry not queued")

    def verify_badge(self, badge_id: str) -> BadgeVerifyResult:
        """Ask the store whether a scanned staff badge is valid (raises StoreError offline)."""
        try:
            result = self._client.verify_badge(badge_id, self._settings.cart_id)
        except StoreError as exc:
            self._note_failure(exc)
            raise
        self._set_status(LinkState.ONLINE, "badge verified", success=True)
        return result

    def request_catalog_sync(self) -> None:
        """Sync the catalog at the next opportunity."""
        self._sync_requested = True
        self._wake.set()

    # --- reconciliation -------------------------------------------------------------------

    def reconcile(self) -> None:
        """Settle what a crash may have left between the outbox and the ledger.

        Held handoffs are released when the ledger recorded them and discarded when it did not.
        A handoff whose basket went back to shopping later in the ledger gets its void queued
        (the crash may have come between the ledger record and the void).
        """
        sessions: dict[str, list[Record] | None] = {}

        def records(session_id: str) -> list[Record] | None:
            if session_id not in sessions:
                try:
                    sessions[session_id] = self._ledger.records(session_id)
                except LedgerError:
                    log.exception("ledger unreadable; outbox left as it is")
                    sessions[session_id] = None
            return sessions[session_id]

        for entry in self._outbox.held():
            found = records(entry.session_id)
            if found is None:
                continue
            if any(isinstance(r, HandoffQueued) and r.idempotency_key == entry.key for r in found):
                self._outbox.release(entry.key)
            else:
                log.warning("handoff %s never reached the ledger; discarded", entry.key)
                self._outbox.discard(entry.key)
        # Only the session being restored can have changed since its handoff: older sessions
        # ended (done) or were left, so reading them again would only slow the start.
        try:
            current = self._ledger.latest_session_id()
        except LedgerError:
            log.exception("ledger unreadable; voids not reconciled")
            return
        if current is None:
            return
        for entry in self._outbox.entries():
            if entry.kind != "handoff" or entry.state == "held" or entry.session_id != current:
                continue
            found = records(entry.session_id)
            if found is not None and _reopened_after(found, entry.key):
                self._enqueue_void(entry.key, "basket reopened after hand-off")

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
            self._engine.call(CompleteSession("paid"), _ENGINE_CALL_TIMEOUT_S)


def _lines_digest(lines: tuple[ReceiptLine, ...]) -> bytes:
    return lines_hash((ln.sku, ln.quantity, ln.weight_g or 0, ln.net_cents) for ln in lines)


def _reopened_after(records: list[Record], handoff_id: str) -> bool:
    """Whether the basket left ``handed_off`` for anything but done after ``handoff_id``."""
    seen = False
    for record in records:
        if isinstance(record, HandoffQueued) and record.idempotency_key == handoff_id:
            seen = True
        elif (
            seen
            and isinstance(record, StateChanged)
            and record.state is not SessionState.HANDED_OFF
        ):
            # The first move away from handed_off decides: paid (done) or reopened.
            return record.state is not SessionState.DONE
    return False


def default_paths(data_dir: Path) -> dict[str, Path]:
    """Where the link keeps its files inside the cart's data folder."""
    return {
        "outbox": data_dir / "store_outbox.sqlite3",
        "catalog_cache": data_dir / "store_catalog.sqlite3",
        "cart_key": data_dir / "cart_key.pem",
        "layout": data_dir / "store_layout.json",
    }
