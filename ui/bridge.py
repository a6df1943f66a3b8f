"""The one bridge from the cart's threads to the Kivy thread.

Listeners of the engine (and of the store link, and background jobs) run on their own
threads; no widget may be touched there. They hand their events to :class:`Bridge`, which

- keeps only the **latest** of each coalescing kind (engine snapshots, link statuses): a burst of
  twenty snapshots costs the screen one update;
- queues every other event (a rejected command, a fault, a finished job) in arrival order;
- asks for **one** call on the Kivy thread (a ``Clock`` trigger, which Kivy makes safe to
  call from any thread and runs once per frame however often it is triggered).

On the Kivy thread :meth:`Bridge.dispatch` drains everything and hands it to the handler:
discrete events first, in order, then the latest value of each coalescing kind. The
scheduler is injected, so the coalescing is tested without Kivy.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cart_app.engine import CartSnapshot
from cart_app.health import HealthState
from cart_app.store.link import LinkStatus

log = logging.getLogger(__name__)

COALESCING: tuple[type, ...] = (CartSnapshot, LinkStatus, HealthState)
"""Kinds of which only the newest matters: each is a complete state, not a change."""


@dataclass
class Batch:
    """What one dispatch delivers."""

    events: list[object] = field(default_factory=list)
    latest: dict[type, object] = field(default_factory=dict)
    received_at: dict[type, float] = field(default_factory=dict)
    """When the newest value of each coalescing kind arrived (``perf_counter``)."""

    @property
    def snapshot(self) -> CartSnapshot | None:
        """The newest engine snapshot in the batch."""
        snap = self.latest.get(CartSnapshot)
        return snap if isinstance(snap, CartSnapshot) else None


@dataclass
class BridgeStats:
    """Counts for the benchmark and the maintenance screen."""

    received: int = 0
    coalesced: int = 0
    dispatches: int = 0
    triggers: int = 0


class Bridge:
    """Thread-safe inbox for the Kivy thread; see the module docstring."""

    def __init__(
        self,
        handler: Callable[[Batch], None],
        schedule: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        """``handler`` runs on the Kivy thread; ``schedule`` asks for one :meth:`dispatch`
        there (set later with :meth:`set_scheduler` when Kivy is not up yet)."""
        self._handler = handler
        self._schedule = schedule
        self._clock = clock
        self._lock = threading.Lock()
        self._pending = Batch()
        self._scheduled = False
        self.stats = BridgeStats()

    def set_scheduler(self, schedule: Callable[[], None]) -> None:
        """Use ``schedule`` (a Kivy ``Clock`` trigger) from now on; flushes what waited."""
        with self._lock:
            self._schedule = schedule
            waiting = self._has_pending() and not self._scheduled
            if waiting:
                self._scheduled = True
        if waiting:
            self._fire()

    # -- any thread ------------------------------------------------------------------------------
    def post(self, event: object) -> None:
        """Queue ``event`` for the Kivy thread; engine listeners and jobs call this."""
        now = self._clock()
        with self._lock:
            self.stats.received += 1
            kind = next((k for k in COALESCING if isinstance(event, k)), None)
            if kind is not None:
                if kind in self._pending.latest:
                    self.stats.coalesced += 1
                self._pending.latest[kind] = event
                self._pending.received_at[kind] = now
            else:
                self._pending.events.append(event)
            if self._scheduled or self._schedule is None:
                return  # one dispatch is already on its way (or Kivy is not up yet)
            self._scheduled = True
        self._fire()

    __call__ = post
    """The bridge is itself an engine listener: ``engine.subscribe(bridge)``."""

    def _fire(self) -> None:
        schedule = self._schedule
        self.stats.triggers += 1
        if schedule is not None:
            schedule()

    def _has_pending(self) -> bool:
        return bool(self._pending.events or self._pending.latest)

    # -- the Kivy thread -------------------------------------------------------------------------
    def take(self) -> Batch:
        """Everything waiting, leaving the bridge empty (the Kivy thread, or tests)."""
        with self._lock:
            batch, self._pending = self._pending, Batch()
            self._scheduled = False
        return batch

    def dispatch(self, *_: object) -> None:
        """Deliver what is waiting to the handler (the trigger's callback)."""
        batch = self.take()
        if not batch.events and not batch.latest:
            return
        self.stats.dispatches += 1
        try:
            self._handler(batch)
        except Exception:  # one bad update must not stop later ones from showing
            log.exception("UI update failed")
