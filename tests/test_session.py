"""The session lifecycle's transition table."""

from __future__ import annotations

import pytest

from cart_app.session import IllegalTransition, SessionState, basket_frozen, transition

S = SessionState


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.IDLE, S.SHOPPING),
        (S.SHOPPING, S.CHECKOUT),
        (S.CHECKOUT, S.SHOPPING),
        (S.CHECKOUT, S.HANDED_OFF),
        (S.HANDED_OFF, S.DONE),
        (S.HANDED_OFF, S.SHOPPING),
        (S.DONE, S.IDLE),
        (S.SHOPPING, S.LOCKED),
        (S.LOCKED, S.SHOPPING),
    ],
)
def test_allowed(current: SessionState, target: SessionState) -> None:
    assert transition(current, target) is target


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.IDLE, S.CHECKOUT),
        (S.SHOPPING, S.DONE),
        (S.SHOPPING, S.HANDED_OFF),
        (S.DONE, S.SHOPPING),
        (S.CHECKOUT, S.DONE),
        (S.LOCKED, S.DONE),
    ],
)
def test_refused(current: SessionState, target: SessionState) -> None:
    with pytest.raises(IllegalTransition, match=f"{current.value} to {target.value}"):
        transition(current, target)


def test_basket_frozen_states() -> None:
    assert {s for s in S if basket_frozen(s)} == {S.CHECKOUT, S.HANDED_OFF, S.DONE}
