"""The session lifecycle as a pure transition table.

``idle → shopping → checkout → handed_off → done``, plus ``maintenance`` (staff) and ``locked``
(tamper or fault). The engine asks :func:`transition` before it records a state change, so an
illegal move is refused in one place.
"""

from __future__ import annotations

import enum


class SessionState(enum.StrEnum):
    """Where the cart is in a shopping trip."""

    IDLE = "idle"
    SHOPPING = "shopping"
    CHECKOUT = "checkout"
    HANDED_OFF = "handed_off"
    DONE = "done"
    MAINTENANCE = "maintenance"
    LOCKED = "locked"


class IllegalTransition(Exception):
    """A state change that the lifecycle does not allow."""

    def __init__(self, current: SessionState, target: SessionState) -> None:
        super().__init__(f"cannot go from {current.value} to {target.value}")
        self.current = current
        self.target = target


_ALLOWED: dict[SessionState, frozenset[SessionState]] = {
    SessionState.IDLE: frozenset(
        {SessionState.SHOPPING, SessionState.MAINTENANCE, SessionState.LOCKED}
    ),
    SessionState.SHOPPING: frozenset(
        {SessionState.CHECKOUT, SessionState.LOCKED, SessionState.MAINTENANCE}
    ),
    # Any weight change during checkout reopens shopping: the basket is frozen there.
    SessionState.CHECKOUT: frozenset(
        {SessionState.SHOPPING, SessionState.HANDED_OFF, SessionState.LOCKED}
    ),
    # After handoff a weight change invalidates the token and reopens shopping too.
    SessionState.HANDED_OFF: frozenset(
        {SessionState.DONE, SessionState.SHOPPING, SessionState.LOCKED}
    ),
    SessionState.DONE: frozenset({SessionState.IDLE}),
    SessionState.MAINTENANCE: frozenset({SessionState.IDLE, SessionState.SHOPPING}),
    # Only staff leave locked; where to is decided by what the basket holds.
    SessionState.LOCKED: frozenset(
        {SessionState.SHOPPING, SessionState.MAINTENANCE, SessionState.IDLE}
    ),
}


def can_transition(current: SessionState, target: SessionState) -> bool:
    """Whether the lifecycle allows going from ``current`` to ``target``."""
    return target in _ALLOWED[current]


def transition(current: SessionState, target: SessionState) -> SessionState:
    """Return ``target`` if the move is allowed, else raise :class:`IllegalTransition`."""
    if not can_transition(current, target):
        raise IllegalTransition(current, target)
    return target


def basket_frozen(state: SessionState) -> bool:
    """Whether lines may not change in ``state`` without reopening shopping first."""
    return state in {SessionState.CHECKOUT, SessionState.HANDED_OFF, SessionState.DONE}
