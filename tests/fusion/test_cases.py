"""Fusion case by case: observations, weight changes and answers in; engine commands out.

Every case runs against the real demo catalog on a fake clock. Weights are taken from the
catalog, so a case states the situation ("two avocados") rather than magic numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from cart_app.basket import BasketState
from cart_app.catalog import Catalog
from cart_app.clock import FakeClock
from cart_app.domain import BasketLine
from cart_app.fusion import FusionSettings
from cart_app.session import SessionState
from cart_app.variable_measure import build_variable_measure
from tests.fusion.helpers import (
    HELD,
    OUT,
    Event,
    Obs,
    Reply,
    Scan,
    Timeline,
    Weigh,
    make_fuser,
    seen,
    shopping,
    summary,
)

MILK_GTIN = "7350999000103"  # D-MILK-STD
LAGER_GTIN = "7350999000349"  # J-LAGER-50CL, 18+
GUM_GTIN = "73091233"  # K-CHEWING-GUM, too light for the scale
PEANUT_BUTTER_UPC = "045200000313"  # S-PEANUT-BUTTER, 385 g


@dataclass(frozen=True)
class Case:
    """A situation: the basket, what happens, and the commands fusion must send."""

    basket: BasketState
    events: list[Event]
    expected: list[tuple[object, ...]]
    until: float = 12.0
    settings: FusionSettings | None = None


def grams(catalog: Catalog, sku: str, units: int = 1) -> float:
    """What ``units`` of ``sku`` nominally weigh."""
    product = catalog.by_sku(sku)
    assert product is not None
    return units * product.nominal_weight_g


def add(sku: str, qty: int = 1, weight: float = 0.0) -> tuple[object, ...]:
    return ("confirm", "add", sku, qty, weight, None)


def remove(sku: str, line: int, qty: int = 1, weight: float = 0.0) -> tuple[object, ...]:
    return ("confirm", "remove", sku, qty, weight, line)


def ask(reason: str, *choices: str, pid: str = "p1") -> tuple[object, ...]:
    return ("ask", reason, choices, pid)


def answer(answer: str, by: str = "shopper", pid: str = "p1") -> tuple[object, ...]:
    return ("answer", pid, answer, by)


def one_item_in(c: Catalog) -> Case:
    avocado = grams(c, "FV-AVOCADO") + 4
    return Case(
        shopping(),
        [Obs(0.0, seen(("Avocado", 0.99), ("Lime", 0.005))), Weigh(0.2, avocado)],
        [add("FV-AVOCADO")],
    )


def identical_items_at_once(c: Catalog) -> Case:
    three = grams(c, "D-MILK-STD", 3) - 7
    return Case(
        shopping(),
        [Obs(0.0, seen(("Arla-Standard-Milk", 0.99))), Weigh(0.2, three)],
        [add("D-MILK-STD", 3)],
    )


def two_different_items_at_once(c: Catalog) -> Case:
    both = grams(c, "FV-AVOCADO") + grams(c, "FV-CUCUMBER") + 3
    return Case(
        shopping(),
        [
            Obs(0.0, seen(("Avocado", 0.99))),
            Obs(0.1, seen(("Cucumber", 0.99), camera="cam2")),
            Weigh(0.3, both),
        ],
        [add("FV-AVOCADO"), add("FV-CUCUMBER")],
    )


def second_item_reported_late(c: Catalog) -> Case:
    # The weight settles before vision reports the second item: fusion counted three avocados
    # at once, and the late report of a cucumber makes it take them back and charge the pair.
    both = grams(c, "FV-AVOCADO") + grams(c, "FV-CUCUMBER") + 3
    return Case(
        shopping(),
        [
            Obs(0.0, seen(("Avocado", 0.99))),
            Weigh(0.3, both),
            Obs(1.0, seen(("Cucumber", 0.99), camera="cam2")),
        ],
        [
            add("FV-AVOCADO", 3),
            ("confirm", "remove", "FV-AVOCADO", 3, 0.0, None),
            add("FV-AVOCADO"),
            add("FV-CUCUMBER"),
        ],
    )


def second_item_reported_late_with_a_grace(c: Catalog) -> Case:
    # A store whose cameras report late sets count_grace_s: fusion waits instead.
    case = second_item_reported_late(c)
    return Case(
        case.basket,
        case.events,
        [add("FV-AVOCADO"), add("FV-CUCUMBER")],
        settings=FusionSettings(count_grace_s=1.0),
    )


def removal_from_the_basket(c: Catalog) -> Case:
    lines = [BasketLine(3, "FV-AVOCADO", 2), BasketLine(5, "D-MILK-STD", 1)]
    return Case(
        shopping(lines),
        [
            Obs(0.0, seen(("Avocado", 0.9), ("Lime", 0.05), direction=OUT)),
            Weigh(0.2, -grams(c, "FV-AVOCADO") + 3),
        ],
        [remove("FV-AVOCADO", 3)],
    )


def removal_picks_the_line_whose_weight_fits(c: Catalog) -> Case:
    lines = [BasketLine(1, "FV-BANANA", 1, 1200.0), BasketLine(2, "FV-BANANA", 1, 800.0)]
    return Case(
        shopping(lines),
        [Obs(0.0, seen(("Banana", 0.95), direction=OUT)), Weigh(0.2, -801.0)],
        [remove("FV-BANANA", 2, weight=800.0)],
    )


def removal_of_one_of_two_near_identical_weighings(c: Catalog) -> Case:
    # Both lines fit the reading; the bill differs by grams: the closer one is taken, unasked.
    lines = [BasketLine(1, "FV-BANANA", 1, 805.0), BasketLine(2, "FV-BANANA", 1, 800.0)]
    return Case(
        shopping(lines),
        [Obs(0.0, seen(("Banana", 0.95), direction=OUT)), Weigh(0.2, -804.0)],
        [remove("FV-BANANA", 1, weight=805.0)],
    )


def removal_of_something_not_in_the_basket(c: Catalog) -> Case:
    # Vision says milk came out, but there is no milk line: matched only against the basket.
    lines = [BasketLine(1, "FV-AVOCADO", 1)]
    return Case(
        shopping(lines),
        [
            Obs(0.0, seen(("Arla-Standard-Milk", 0.95), direction=OUT)),
            Weigh(0.2, -grams(c, "D-MILK-STD")),
        ],
        [ask("removal_mismatch", ":scan", ":other", ":not_mine")],
    )


def removal_seen_by_weight_alone(c: Catalog) -> Case:
    lines = [BasketLine(1, "FV-AVOCADO", 2), BasketLine(2, "D-MILK-STD", 1)]
    return Case(
        shopping(lines), [Weigh(0.2, -grams(c, "D-MILK-STD") + 2)], [remove("D-MILK-STD", 2)]
    )


def removal_that_weight_cannot_tell(c: Catalog) -> Case:
    lines = [BasketLine(1, "D-OAT-DRINK", 1), BasketLine(2, "D-MILK-STD", 1)]
    return Case(
        shopping(lines),
        [Weigh(0.2, -1055.0)],
        [ask("ambiguous_removal", "D-MILK-STD#2", "D-OAT-DRINK#1", ":scan", ":other", ":not_mine")],
    )


def removal_by_weight_alone_that_two_items_also_fit(c: Catalog) -> Case:
    # One pineapple, or the avocado and the milk together? With nothing seen, ask.
    lines = [
        BasketLine(1, "FV-AVOCADO", 1),
        BasketLine(2, "D-MILK-STD", 1),
        BasketLine(3, "FV-PINEAPPLE", 1),
    ]
    both = grams(c, "FV-AVOCADO") + grams(c, "D-MILK-STD")
    return Case(
        shopping(lines),
        [Weigh(0.2, -both)],
        [
            ask(
                "ambiguous_removal",
                "D-MILK-STD#2+FV-AVOCADO#1",
                "FV-PINEAPPLE#3",
                ":scan",
                ":other",
                ":not_mine",
            )
        ],
    )


def produce_by_weight(c: Catalog) -> Case:
    return Case(
        shopping(),
        [Obs(0.0, seen(("Granny-Smith", 0.985), ("Pink-Lady", 0.01))), Weigh(0.2, 734.5)],
        [add("FV-APPLE-GRANNY", weight=734.5)],
    )


def held_over_the_basket(c: Catalog) -> Case:
    return Case(shopping(), [Obs(0.0, seen(("Avocado", 0.95), direction=HELD))], [])


def seen_going_in_but_never_weighed(c: Catalog) -> Case:
    # Vision said "into", the scale felt nothing: held, not placed; nothing is charged.
    return Case(shopping(), [Obs(0.0, seen(("Arla-Standard-Milk", 0.97)))], [])


def weight_with_nothing_seen(c: Catalog) -> Case:
    return Case(
        shopping(),
        [Weigh(0.2, 345.0)],
        [ask("unseen_item", ":show", ":scan", ":other", ":not_mine")],
    )


def weight_with_nothing_seen_offers_more_of_the_basket(c: Catalog) -> Case:
    lines = [BasketLine(1, "D-MILK-STD", 1)]
    return Case(
        shopping(lines),
        [Weigh(0.2, grams(c, "D-MILK-STD") + 1)],
        [ask("unseen_item", "D-MILK-STD", ":show", ":scan", ":other", ":not_mine")],
    )


def weight_fits_no_candidate(c: Catalog) -> Case:
    # Two and a half avocados: a swap, or something else in the hand.
    return Case(
        shopping(),
        [Obs(0.0, seen(("Avocado", 0.95))), Weigh(0.2, grams(c, "FV-AVOCADO", 2) + 120)],
        [ask("weight_mismatch", ":scan", ":other", ":not_mine")],
    )


def confident_candidate_that_does_not_fit_is_not_replaced(c: Catalog) -> Case:
    # Vision is sure of milk; the weight fits the unlikely pear bag. Never charge the pears.
    # The milk with pears in the same track (both went in together) is offered too.
    return Case(
        shopping(),
        [
            Obs(0.0, seen(("Arla-Standard-Milk", 0.85), ("Conference", 0.1))),
            Weigh(0.2, 2500.0),
        ],
        [
            ask(
                "weight_mismatch",
                "FV-PEAR-CONF@2500.0",
                "D-MILK-STD+FV-PEAR-CONF@1440.0",
                "D-MILK-STD*2+FV-PEAR-CONF@380.0",
                ":scan",
                ":other",
                ":not_mine",
            )
        ],
    )


def vision_undecided_between_same_weight_products(c: Catalog) -> Case:
    return Case(
        shopping(),
        [
            Obs(
                0.0,
                seen(("Arla-Standard-Milk", 0.5), ("Garant-Ecological-Standard-Milk", 0.45)),
            ),
            Weigh(0.2, grams(c, "D-MILK-STD")),
            Reply(4.0, "p1", "D-MILK-ECO"),
        ],
        [
            ask("ambiguous_item", "D-MILK-STD", "D-MILK-ECO", ":scan", ":other", ":not_mine"),
            answer("D-MILK-ECO"),
            add("D-MILK-ECO"),
        ],
    )


def own_bag_is_tared_and_taken_out_again(c: Catalog) -> Case:
    return Case(
        shopping(),
        [Weigh(0.2, 150.0), Reply(5.0, "p1", ":not_mine"), Weigh(7.0, -150.5)],
        [
            ask("unseen_item", ":show", ":scan", ":other", ":not_mine"),
            answer(":not_mine"),
            ("tare", 150.0),
        ],
        until=15.0,
    )


def too_light_item_by_barcode(c: Catalog) -> Case:
    return Case(shopping(), [Obs(0.0, seen(code=GUM_GTIN))], [add("K-CHEWING-GUM")])


def too_light_item_seen_by_two_cameras_is_one_item(c: Catalog) -> Case:
    return Case(
        shopping(),
        [Obs(0.0, seen(code=GUM_GTIN)), Obs(0.1, seen(code=GUM_GTIN, camera="cam2"))],
        [add("K-CHEWING-GUM")],
    )


def too_light_item_with_a_reading_is_weighed(c: Catalog) -> Case:
    # The scale noticed the gum after all: the weight is consumed by it, not asked about.
    return Case(
        shopping(),
        [Obs(0.0, seen(code=GUM_GTIN)), Weigh(0.2, grams(c, "K-CHEWING-GUM"))],
        [add("K-CHEWING-GUM")],
    )


def age_restricted_product(c: Catalog) -> Case:
    return Case(
        shopping(),
        [Obs(0.0, seen(code=LAGER_GTIN)), Weigh(0.2, grams(c, "J-LAGER-50CL") + 2)],
        [add("J-LAGER-50CL")],
    )


def barcode_outranks_vision(c: Catalog) -> Case:
    return Case(
        shopping(),
        [
            Obs(0.0, seen(("Oatly-Oat-Milk", 0.9), code=MILK_GTIN)),
            Weigh(0.2, grams(c, "D-MILK-STD")),
        ],
        [add("D-MILK-STD")],
    )


def barcode_that_contradicts_the_weight(c: Catalog) -> Case:
    # A milk label on something that weighs like a jar of peanut butter: a swapped label.
    return Case(
        shopping(),
        [Obs(0.0, seen(("Arla-Standard-Milk", 0.6), code=MILK_GTIN)), Weigh(0.2, 385.0)],
        [ask("barcode_mismatch", ":scan", ":other", ":not_mine")],
    )


def weight_label_is_charged_as_printed(c: Catalog) -> Case:
    code = build_variable_measure("23", "10001", 412)
    return Case(
        shopping(),
        [Obs(0.0, seen(code=code)), Weigh(0.2, 420.0)],
        [add("C-CHEESE-DELI", weight=412.0)],
    )


def scan_answers_the_prompt(c: Catalog) -> Case:
    return Case(
        shopping(),
        [Weigh(0.2, grams(c, "D-MILK-STD")), Scan(5.0, MILK_GTIN)],
        [
            ask("unseen_item", ":show", ":scan", ":other", ":not_mine"),
            answer(":scan", "scan"),
            add("D-MILK-STD"),
        ],
        until=15.0,
    )


def scan_that_does_not_fit_the_prompt(c: Catalog) -> Case:
    return Case(
        shopping(),
        [
            Weigh(0.2, grams(c, "D-MILK-STD")),
            Reply(4.5, "p1", ":scan"),
            Scan(5.0, PEANUT_BUTTER_UPC),
        ],
        [
            ask("unseen_item", ":show", ":scan", ":other", ":not_mine"),
            answer(":scan", "scan"),
            ask("barcode_mismatch", ":show", ":scan", ":other", ":not_mine", pid="p2"),
        ],
        until=15.0,
    )


def item_held_over_the_basket_unasked_does_not_answer_the_prompt(c: Catalog) -> Case:
    # A lime went in unseen (too small for a track); the shopper then looks at an onion over
    # the basket without tapping "show it". Onions are sold by weight, so 65 g "fits" them:
    # it must not be taken for the lime's answer.
    return Case(
        shopping(),
        [
            Weigh(0.2, grams(c, "FV-LIME")),
            Obs(5.0, seen(("Yellow-Onion", 0.95), direction=HELD)),
        ],
        [ask("unseen_item", ":show", ":scan", ":other", ":not_mine")],
    )


def item_shown_to_the_camera_answers_the_prompt(c: Catalog) -> Case:
    return Case(
        shopping(),
        [
            Weigh(0.2, grams(c, "FV-AVOCADO") + 3),
            Reply(4.5, "p1", ":show"),
            Obs(5.0, seen(("Avocado", 0.9), direction=HELD)),
        ],
        [
            ask("unseen_item", ":show", ":scan", ":other", ":not_mine"),
            answer(":show", "vision"),
            add("FV-AVOCADO"),
        ],
        until=15.0,
    )


def observation_reported_after_the_prompt_answers_it(c: Catalog) -> Case:
    # Vision's report of the item comes after fusion gave up waiting; its time says it is the
    # item the prompt is about.
    return Case(
        shopping(),
        [Weigh(0.2, grams(c, "FV-CUCUMBER")), Obs(4.5, seen(("Cucumber", 0.95)), seen_at=0.3)],
        [
            ask("unseen_item", ":show", ":scan", ":other", ":not_mine"),
            answer(":show", "vision"),
            add("FV-CUCUMBER"),
        ],
    )


def next_item_while_a_prompt_is_open(c: Catalog) -> Case:
    # A prompt is open about an unseen milk; the shopper puts a cucumber in: it is its own item.
    return Case(
        shopping(),
        [
            Weigh(0.2, grams(c, "D-MILK-STD")),
            Obs(5.0, seen(("Cucumber", 0.95))),
            Weigh(5.2, grams(c, "FV-CUCUMBER")),
        ],
        [ask("unseen_item", ":show", ":scan", ":other", ":not_mine"), add("FV-CUCUMBER")],
    )


def unresolved_item_taken_back_out(c: Catalog) -> Case:
    return Case(
        shopping(),
        [Weigh(0.2, 1060.0), Weigh(6.0, -1060.0)],
        [
            ask("unseen_item", ":show", ":scan", ":other", ":not_mine"),
            answer("withdrawn", "system"),
        ],
        until=15.0,
    )


def in_and_out_before_anyone_asks(c: Catalog) -> Case:
    return Case(shopping(), [Weigh(0.2, 1060.0), Weigh(1.0, -1061.0)], [], until=15.0)


def weight_change_during_checkout_reopens_shopping(c: Catalog) -> Case:
    return Case(
        shopping(state=SessionState.CHECKOUT),
        [Obs(0.0, seen(("Avocado", 0.95))), Weigh(0.2, grams(c, "FV-AVOCADO"))],
        [("reopen",), add("FV-AVOCADO")],
    )


def weight_change_after_handoff_reopens_shopping(c: Catalog) -> Case:
    return Case(
        shopping(state=SessionState.HANDED_OFF),
        [Weigh(0.2, 500.0)],
        [("reopen",), ask("unseen_item", ":show", ":scan", ":other", ":not_mine")],
    )


def idle_cart_ignores_the_scale(c: Catalog) -> Case:
    return Case(
        shopping(state=SessionState.IDLE),
        [Obs(0.0, seen(("Avocado", 0.95))), Weigh(0.2, grams(c, "FV-AVOCADO"))],
        [],
    )


CASES: dict[str, Callable[[Catalog], Case]] = {
    f.__name__: f
    for f in (
        one_item_in,
        identical_items_at_once,
        two_different_items_at_once,
        second_item_reported_late,
        second_item_reported_late_with_a_grace,
        removal_from_the_basket,
        removal_picks_the_line_whose_weight_fits,
        removal_of_one_of_two_near_identical_weighings,
        removal_of_something_not_in_the_basket,
        removal_seen_by_weight_alone,
        removal_that_weight_cannot_tell,
        removal_by_weight_alone_that_two_items_also_fit,
        produce_by_weight,
        held_over_the_basket,
        seen_going_in_but_never_weighed,
        weight_with_nothing_seen,
        weight_with_nothing_seen_offers_more_of_the_basket,
        weight_fits_no_candidate,
        confident_candidate_that_does_not_fit_is_not_replaced,
        vision_undecided_between_same_weight_products,
        own_bag_is_tared_and_taken_out_again,
        too_light_item_by_barcode,
        too_light_item_seen_by_two_cameras_is_one_item,
        too_light_item_with_a_reading_is_weighed,
        age_restricted_product,
        barcode_outranks_vision,
        barcode_that_contradicts_the_weight,
        weight_label_is_charged_as_printed,
        scan_answers_the_prompt,
        scan_that_does_not_fit_the_prompt,
        item_shown_to_the_camera_answers_the_prompt,
        item_held_over_the_basket_unasked_does_not_answer_the_prompt,
        observation_reported_after_the_prompt_answers_it,
        next_item_while_a_prompt_is_open,
        unresolved_item_taken_back_out,
        in_and_out_before_anyone_asks,
        weight_change_during_checkout_reopens_shopping,
        weight_change_after_handoff_reopens_shopping,
        idle_cart_ignores_the_scale,
    )
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_case(name: str, demo_catalog: Catalog, clock: FakeClock) -> None:
    case = CASES[name](demo_catalog)
    timeline = Timeline(make_fuser(demo_catalog, clock, case.settings), clock, case.basket)
    commands = timeline.play(case.events, case.until)
    assert [summary(c) for c in commands] == case.expected
    # Whatever happened, nothing is left pending once the dust settles, except open prompts.
    state = timeline.fuser.state
    assert state.observations == () and state.weights == ()
