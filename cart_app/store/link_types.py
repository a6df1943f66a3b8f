"""The store link's types: its state and status, the handoff ticket and refusal, its settings,
and what it needs from the engine, the ledger and the catalog (as protocols).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from cart_app.catalog_schema import StoreInfo
from cart_app.engine import CartSnapshot, EngineEvent, Listener
from cart_app.events import Command
from cart_app.records import Record


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
