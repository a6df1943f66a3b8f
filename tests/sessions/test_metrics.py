"""The line-by-line check on silent charges: units the cart added that no action put in."""

from __future__ import annotations

import pytest

from cart_app.sessions.metrics import unmatched_auto_units
from cart_app.sessions.replay import LineChange
from cart_app.sessions.truth import Action, Truth, TruthItem


def _truth(*actions: Action) -> Truth:
    return Truth(lines=(), item_count=0, items_handled=0, total_cents=0, actions=actions)


def _add(action_id: int, t_weight: float, *items: tuple[str, int]) -> Action:
    return Action(
        id=action_id,
        kind="add",
        t_start=t_weight - 1.0,
        t_weight=t_weight,
        t_settle=t_weight + 0.3,
        items=tuple(TruthItem(sku=sku, quantity=n) for sku, n in items),
    )


# The natural yoghurt asked about at 1052 s, then a natural and a vanilla one put in at 1069 s.
YOGHURTS = _truth(
    _add(8, 1052.2, ("D-YOGHURT-NAT", 1), ("FV-PINEAPPLE", 1)),
    _add(11, 1069.1, ("D-YOGHURT-VAN", 1), ("D-YOGHURT-NAT", 1)),
)


def _line(t: float, sku: str, quantity: int, source: str, weight_g: float = 0.0) -> LineChange:
    return LineChange(t, "add", 1, sku, quantity, weight_g, source)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        # right: what action 11 put in, charged by vision
        (
            [
                _line(1070.3, "D-YOGHURT-NAT", 1, "vision"),
                _line(1070.3, "D-YOGHURT-VAN", 1, "vision"),
            ],
            0,
        ),
        # two natural yoghurts for a natural and a vanilla one, the earlier natural yoghurt
        # already charged on the shopper's answer: one unit no action put in
        (
            [
                _line(1056.3, "D-YOGHURT-NAT", 1, "shopper"),
                _line(1056.3, "FV-PINEAPPLE", 1, "shopper", weight_g=1447.6),
                _line(1070.3, "D-YOGHURT-NAT", 2, "vision"),
            ],
            1,
        ),
        # two actions carried out at one moment (a crispbread and an avocado weighed apart)
        (
            [
                _line(1070.3, "D-YOGHURT-VAN", 1, "vision"),
                _line(1070.3, "FV-PINEAPPLE", 1, "vision", weight_g=1447.6),
            ],
            0,
        ),
        # the same change on the shopper's answer is not the cart's own doing
        ([_line(1070.3, "D-YOGHURT-NAT", 2, "shopper")], 0),
        # a product no action near then put in
        ([_line(1070.3, "D-MILK-STD", 1, "barcode")], 1),
        # a weighing of produce counts as one unit whatever its weight
        ([_line(1053.0, "FV-PINEAPPLE", 1, "vision", weight_g=1447.6)], 0),
        ([_line(1053.0, "FV-BANANA", 1, "vision", weight_g=1447.6)], 1),
        # long after the action (beyond the window): not its change
        ([_line(1120.0, "D-YOGHURT-VAN", 1, "vision")], 1),
    ],
)
def test_units_the_cart_added_that_no_action_put_in(lines: list[LineChange], expected: int) -> None:
    assert unmatched_auto_units(YOGHURTS, lines) == expected
