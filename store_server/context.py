"""What the endpoints share at run time: :class:`ServerContext`.

It holds the database, the clock, the long-poll notifier of payments and the limiter of badge
guessing.
"""

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from store_server.db import StoreDB

DEFAULT_MAX_WAIT_S = 30


class PaymentNotifier:
    """Wakes long polls of a handoff when its status changes in this process."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: dict[str, set[asyncio.Event]] = {}

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Attach to the server's event loop (at start-up)."""
        self._loop = loop

    def register(self, handoff_id: str) -> asyncio.Event:
        """An event set at the next change of ``handoff_id`` (event-loop thread only)."""
        waiter = asyncio.Event()
        self._waiters.setdefault(handoff_id, set()).add(waiter)
        return waiter

    def unregister(self, handoff_id: str, waiter: asyncio.Event) -> None:
        """Forget a waiter (event-loop thread only)."""
        waiters = self._waiters.get(handoff_id)
        if waiters is not None:
            waiters.discard(waiter)
            if not waiters:
                del self._waiters[handoff_id]

    def notify(self, handoff_id: str) -> None:
        """``handoff_id`` changed; callable from any thread."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake, handoff_id)

    def _wake(self, handoff_id: str) -> None:
        for waiter in self._waiters.get(handoff_id, ()):
            waiter.set()


class FailureLimiter:
    """At most ``limit`` failures per key in a sliding ``window_s`` (badge guessing)."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float]) -> None:
        self._limit = limit
        self._window = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def blocked(self, key: str) -> bool:
        """Whether ``key`` used up its failures."""
        times = self._failures.get(key)
        if not times:
            return False
        cutoff = self._clock() - self._window
        while times and times[0] < cutoff:
            times.popleft()
        return len(times) >= self._limit

    def fail(self, key: str) -> None:
        """Count one failure of ``key``."""
        self._failures.setdefault(key, deque()).append(self._clock())


@dataclass
class ServerContext:
    """What the endpoints share: the database, the clock and the long-poll notifier."""

    db: StoreDB
    clock: Callable[[], float] = time.time
    token_leeway_s: float = 60.0
    max_wait_s: int = DEFAULT_MAX_WAIT_S
    notifier: PaymentNotifier = field(default_factory=PaymentNotifier)
    badge_limiter: FailureLimiter | None = None

    def __post_init__(self) -> None:
        if self.badge_limiter is None:
            self.badge_limiter = FailureLimiter(10, 60.0, self.clock)
