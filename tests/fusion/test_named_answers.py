"""'Something else': answers naming a product the prompt did not offer, checked by weight."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from cart_app.basket import BasketState, PendingPrompt
from cart_app.catalog import Catalog
from cart_app.clock import FakeClock
from cart_app.domain import BasketLine, EvidenceSource
from cart_app.events import Ask, ChangeKind, Confirm
from cart_app.fusion import OTHER, FusionSettings
from cart_app.fusion import prompts as reasons
from cart_app.fusion.book import ProductBook
from cart_app.fusion.choices import ChoiceItem, accepts, encode_choice
from cart_app.fusion.fuser import Fuser
from cart_app.fusion.named import check_named
from tests.fusion.helpers import make_fuser, shopping, summary, weighed


def _asked(fuser: Fuser, clock: FakeClock, delta_g: float, lines: Sequence[BasketLine] = ()) -> Ask:
    """Weigh ``delta_g`` with nothing seen and let fusion ask about it."""
    basket = shopping(lines)
    fuser.on_weight_change(weighed(delta_g, clock.monotonic()), basket)
    clock.advance(5)
    (ask,) = [c for c in fuser.tick(clock.monotonic(), basket) if isinstance(c, Ask)]
    return ask


def _id(ask: Ask) -> str:
    assert ask.prompt_id is not None  # fusion always names its prompts
    return ask.prompt_id


def _open(ask: Ask, lines: Sequence[BasketLine] = ()) -> BasketState:
    return shopping(lines, prompts=(PendingPrompt(_id(ask), ask.reason, ask.choices, 0),))


def test_every_prompt_about_an_item_offers_something_else(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    ask = _asked(make_fuser(demo_catalog, clock), clock, 1060.0)
    assert OTHER in ask.choices


def test_a_named_product_that_fits_the_weight_is_charged(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    fuser = make_fuser(demo_catalog, clock)
    ask = _asked(fuser, clock, 1061.0)
    assert "D-MILK-STD" not in ask.choices
    commands = fuser.on_answer(_id(ask), "D-MILK-STD", _open(ask))
    assert [summary(c) for c in commands] == [
        ("answer", "p1", "D-MILK-STD", "shopper"),
        ("confirm", "add", "D-MILK-STD", 1, 0.0, None),
    ]
    confirm = commands[1]
    assert isinstance(confirm, Confirm) and confirm.evidence is not None
    assert confirm.evidence.source is EvidenceSource.SHOPPER
    assert "named" in confirm.evidence.note
    assert not fuser.state.prompts


def test_a_named_product_that_does_not_fit_is_asked_again_not_charged(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    fuser = make_fuser(demo_catalog, clock)
    ask = _asked(fuser, clock, 700.0)
    commands = fuser.on_answer(_id(ask), "D-MILK-STD", _open(ask))
    assert [summary(c) for c in commands] == [
        ("answer", "p1", "D-MILK-STD", "shopper"),
        ("ask", reasons.WEIGHT_MISMATCH, ask.choices, "p2"),
    ]
    # Staff at the cart may overrule the scale: carried out, the misfit on record.
    again = commands[1]
    assert isinstance(again, Ask)
    staff = fuser.on_answer("p2", "D-MILK-STD", _open(again), answered_by="staff")
    confirm = staff[1]
    assert isinstance(confirm, Confirm) and confirm.evidence is not None
    assert confirm.evidence.source is EvidenceSource.STAFF
    assert "weight_unchecked=expected 1060 g, weighed 700 g" in confirm.evidence.note


def test_a_weighed_product_named_with_a_pack_takes_what_the_reading_leaves(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    fuser = make_fuser(demo_catalog, clock)
    ask = _asked(fuser, clock, 1785.0)
    answer = "D-YOGHURT-NAT+FV-POTATO"
    commands = fuser.on_answer(_id(ask), answer, _open(ask))
    assert [summary(c) for c in commands] == [
        ("answer", "p1", answer, "shopper"),
        ("confirm", "add", "D-YOGHURT-NAT", 1, 0.0, None),
        ("confirm", "add", "FV-POTATO", 1, 745.0, None),
    ]


def test_a_named_removal_is_carried_out_on_its_line(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    lines = (BasketLine(1, "D-OAT-DRINK", 1, 0.0), BasketLine(2, "D-MILK-STD", 2, 0.0))
    fuser = make_fuser(demo_catalog, clock)
    ask = _asked(fuser, clock, -1055.0, lines)
    assert ask.reason == reasons.AMBIGUOUS_REMOVAL
    commands = fuser.on_answer(_id(ask), "D-OAT-DRINK", _open(ask, lines))
    assert [summary(c) for c in commands][1:] == [("confirm", "remove", "D-OAT-DRINK", 1, 0.0, 1)]


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ("NO-SUCH-SKU", "unknown products are no answer"),
        ("D MILK", "malformed text is no answer"),
        (":teleport", "an unknown token is no answer"),
    ],
)
def test_an_answer_that_names_nothing_does_nothing(
    demo_catalog: Catalog, clock: FakeClock, answer: str, why: str
) -> None:
    fuser = make_fuser(demo_catalog, clock)
    ask = _asked(fuser, clock, 1060.0)
    assert fuser.on_answer(_id(ask), answer, _open(ask)) == [], why
    assert [p.prompt_id for p in fuser.state.prompts] == ["p1"]


@pytest.mark.parametrize(
    "case",
    [
        # two milks at once, named as such
        ([ChoiceItem("D-MILK-STD", 2)], ChangeKind.ADD, 2119.0, (), True, None),
        # one milk named for two milks' weight: a mistake or a swap
        ([ChoiceItem("D-MILK-STD")], ChangeKind.ADD, 2119.0, (), False, None),
        # bananas alone: the reading is their weight
        ([ChoiceItem("FV-BANANA")], ChangeKind.ADD, 734.5, (), True, "FV-BANANA@734.5"),
        # two weighed products in one reading cannot be split
        (
            [ChoiceItem("FV-BANANA"), ChoiceItem("FV-POTATO")],
            ChangeKind.ADD,
            900.0,
            (),
            False,
            None,
        ),
        # a pack and too little left for a weighing of potatoes
        (
            [ChoiceItem("D-MILK-STD"), ChoiceItem("FV-POTATO")],
            ChangeKind.ADD,
            1070.0,
            (),
            False,
            None,
        ),
        # a removal of something not in the basket
        ([ChoiceItem("D-MILK-STD")], ChangeKind.REMOVE, -1060.0, (), False, None),
        # of two weighings of bananas, the one the loss fits
        (
            [ChoiceItem("FV-BANANA")],
            ChangeKind.REMOVE,
            -400.2,
            (BasketLine(1, "FV-BANANA", 1, 812.5), BasketLine(2, "FV-BANANA", 1, 401.0)),
            True,
            "FV-BANANA@401.0#2",
        ),
        # a removal of one of two milks on a line
        (
            [ChoiceItem("D-MILK-STD")],
            ChangeKind.REMOVE,
            -1058.0,
            (BasketLine(3, "D-MILK-STD", 2, 0.0),),
            True,
            "D-MILK-STD#3",
        ),
    ],
)
def test_named_answer_table(
    demo_catalog: Catalog,
    case: tuple[list[ChoiceItem], ChangeKind, float, tuple[BasketLine, ...], bool, str | None],
) -> None:
    items, kind, delta, lines, fits, completed = case
    settings = FusionSettings()
    checked = check_named(
        items,
        kind,
        delta,
        basket=shopping(lines),
        book=ProductBook(demo_catalog, settings),
        settings=settings,
    )
    assert checked.fits is fits, checked.problem
    assert bool(checked.problem) is not fits
    if completed is not None:
        assert encode_choice(checked.items) == completed


def test_only_prompts_offering_something_else_accept_a_product_they_did_not_list() -> None:
    assert accepts(("D-MILK-STD", ":scan", OTHER), "J-LAGER-50CL")
    assert not accepts(("D-MILK-STD", ":scan"), "J-LAGER-50CL")
    assert not accepts(("D-MILK-STD", OTHER), ":teleport")
    assert accepts(("D-MILK-STD", ":scan"), "D-MILK-STD")


def test_staff_cannot_carry_out_an_impossible_answer(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    fuser = make_fuser(demo_catalog, clock)
    ask = _asked(fuser, clock, 900.0)
    # A milk and potatoes in 900 g: nothing is left for the potatoes.
    answer = "D-MILK-STD+FV-POTATO"
    commands = fuser.on_answer(_id(ask), answer, _open(ask), answered_by="staff")
    assert not [c for c in commands if isinstance(c, Confirm)]
    assert [summary(c)[:2] for c in commands] == [
        ("answer", "p1"),
        ("ask", reasons.WEIGHT_MISMATCH),
    ]
