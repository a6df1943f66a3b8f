"""The simulated shopper of generated trips: honest answers, and no answer it cannot give."""

from __future__ import annotations

from dataclasses import replace

from cart_app.basket import BasketState, PendingPrompt, empty_basket
from cart_app.events import ChangeKind
from cart_app.fusion import FusionState, OpenPrompt, PromptContext
from cart_app.session import SessionState
from cart_app.sessions.inputs import AnswerInput
from cart_app.sessions.shopper import Scheduled, TruthShopper
from cart_app.sessions.sim.plan import SHOW_DELAY_S, SHOW_DURATION_S
from cart_app.sessions.truth import Action, Truth, TruthItem
from scale.types import WeightChange

MILK, YOGHURT, POTATO = "D-MILK-STD", "D-YOGHURT-NAT", "FV-POTATO"
SPECIALS = (":scan", ":other", ":not_mine")


def _truth(*actions: Action) -> Truth:
    return Truth(lines=(), item_count=0, items_handled=0, total_cents=0, actions=actions)


def _add(action_id: int, t: float, *items: TruthItem, seen: bool = True) -> Action:
    delta = sum(i.weight_g or 0.0 for i in items)
    return Action(
        id=action_id,
        kind="add",
        t_start=t,
        t_weight=t + 1.2,
        t_settle=t + 1.5,
        items=items,
        seen=seen,
        delta_g=delta,
    )


def _asked(
    prompt_id: str, delta_g: float, t_settled: float, choices: tuple[str, ...]
) -> tuple[BasketState, FusionState]:
    change = WeightChange(delta_g, 0.0, delta_g, t_settled - 0.6, t_settled)
    context = PromptContext(ChangeKind.ADD, delta_g, (), change)
    prompt = OpenPrompt(prompt_id, "ambiguous_item", choices, context, t_settled + 45.0)
    basket = replace(
        empty_basket("s1", "cart"),
        state=SessionState.SHOPPING,
        pending_prompts=(PendingPrompt(prompt_id, "ambiguous_item", choices, 0.0),),
    )
    return basket, FusionState(prompts=(prompt,))


def _answers(scheduled: list[Scheduled]) -> list[str]:
    return [s.item.answer for s in scheduled if isinstance(s.item, AnswerInput)]


def test_the_true_choice_is_tapped() -> None:
    shopper = TruthShopper(
        _truth(_add(0, 10.0, TruthItem(sku=MILK, weight_g=1061.0))), {}, frozenset()
    )
    basket, fusion = _asked("p1", 1060.8, 11.9, (YOGHURT, MILK, *SPECIALS))
    assert _answers(shopper.observe(12.0, basket, fusion)) == [MILK]


def test_with_no_true_choice_the_products_are_named_once_then_left_to_staff() -> None:
    pair = _add(
        0,
        10.0,
        TruthItem(sku=YOGHURT, weight_g=1041.0),
        TruthItem(sku=POTATO, weight_g=745.0),
    )
    shopper = TruthShopper(_truth(pair), {YOGHURT: "7310865000293"}, frozenset({POTATO}))
    basket, fusion = _asked("p1", 1786.0, 11.9, ("D-OATGHURT+FV-POTATO@746.0", *SPECIALS))
    # Named as found by search: units of the pack, the produce without a weight.
    assert _answers(shopper.observe(12.0, basket, fusion)) == [f"{YOGHURT}+{POTATO}"]
    # Asked again about the same thing: the shopper lets it go to staff (a wake-up, no answer).
    again, fusion2 = _asked("p2", 1786.0, 11.9, ("D-OATGHURT+FV-POTATO@746.0", *SPECIALS))
    later = shopper.observe(14.0, again, fusion2)
    assert _answers(later) == [] and [s.item for s in later] == [None]


def test_a_weight_no_action_explains_is_not_claimed_as_an_item() -> None:
    # A lean on the handle while the last item was going in: 342 g is nothing the shopper did.
    shopper = TruthShopper(
        _truth(_add(0, 10.0, TruthItem(sku=MILK, weight_g=1061.0))), {}, frozenset()
    )
    basket, fusion = _asked("p1", 342.0, 12.0, SPECIALS)
    assert _answers(shopper.observe(12.1, basket, fusion)) == [":not_mine"]
    assert shopper.action_of("p1") is None


def test_an_item_shown_but_still_asked_about_is_named() -> None:
    drop = _add(0, 10.0, TruthItem(sku=MILK, weight_g=1061.0), seen=False)
    drop = drop.model_copy(update={"t_weight": 10.0, "t_settle": 10.3})
    shopper = TruthShopper(_truth(drop), {}, frozenset())
    choices = (":show", *SPECIALS)
    basket, fusion = _asked("p1", 1061.0, 10.8, choices)
    basket = replace(basket, pending_prompts=(PendingPrompt("p1", "unseen_item", choices, 0.0),))
    first = shopper.observe(13.8, basket, fusion)
    assert _answers(first) == [":show"]
    due = max(s.t for s in first)
    assert due >= 10.0 + SHOW_DELAY_S + SHOW_DURATION_S
    assert _answers(shopper.observe(due, basket, fusion)) == [MILK]
