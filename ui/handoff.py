"""How the checkout screen hands the basket off: through the store link, or on board.

With a store (``[store] mode = "http"``) the store link signs the basket, records the handoff
and queues it (:meth:`cart_app.store.link.StoreLink.hand_off`). The embedded demo store has no
link and no signing key: :class:`OnBoardHandoff` records the handoff in the ledger and shows a
code naming the session and the handoff, which a staffed lane of the demo (or staff in
maintenance, "end trip") settles. Both block, so the app calls them from its job thread.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Protocol

from cart_app.engine import CartSnapshot, EngineEvent
from cart_app.events import Command, HandOff
from cart_app.session import SessionState
from cart_app.store.link import HandoffRefused, HandoffTicket

DEMO_PREFIX = "SCDEMO:"
CALL_TIMEOUT_S = 10.0


class HandoffPort(Protocol):
    """What the checkout screen needs: hand the basket off (blocking)."""

    def hand_off(self) -> HandoffTicket:
        """Hand the checked-out basket to the exit lane; :class:`HandoffRefused` if not."""
        ...


class EngineCaller(Protocol):
    """The engine's blocking call and its latest snapshot."""

    @property
    def snapshot(self) -> CartSnapshot:
        """The latest snapshot."""
        ...

    def call(self, command: Command, timeout: float | None = None) -> EngineEvent:
        """Apply ``command`` and wait for its outcome."""
        ...


class OnBoardHandoff:
    """The embedded store's handoff: recorded in the ledger, paid at a staffed lane."""

    def __init__(
        self,
        engine: EngineCaller,
        currency: str,
        wall: Callable[[], float],
        ttl_s: float = 900.0,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        """Codes are valid for ``ttl_s`` (like the store link's tokens)."""
        self._engine = engine
        self._currency = currency
        self._wall = wall
        self._ttl_s = ttl_s
        self._new_id = new_id

    def hand_off(self) -> HandoffTicket:
        """Record the handoff and return the code to show."""
        snap = self._engine.snapshot
        if snap.basket.state is not SessionState.CHECKOUT:
            raise HandoffRefused(f"hand-off happens from checkout, not {snap.basket.state.value}")
        if snap.receipt is None or not snap.receipt.lines:
            raise HandoffRefused("the basket is empty or cannot be priced")
        handoff_id = self._new_id()
        code = f"{DEMO_PREFIX}{snap.basket.cart_id}:{snap.basket.session_id}:{handoff_id}"
        event = self._engine.call(HandOff(handoff_id, code), CALL_TIMEOUT_S)
        if not (isinstance(event, CartSnapshot) and event.basket.state is SessionState.HANDED_OFF):
            raise HandoffRefused(str(getattr(event, "reason", getattr(event, "message", event))))
        total = event.receipt.total_cents if event.receipt else snap.receipt.total_cents
        expires = int(self._wall() + self._ttl_s)
        return HandoffTicket(handoff_id, code, expires, total, self._currency)
