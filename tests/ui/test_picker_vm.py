""" "Something else…": the prompt's button, the product picker's answers, cancel, the staff path,
and the note when fusion asks again (plain Python, no Kivy; fusion and the engine are real)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cart_app.basket import PendingPrompt
from cart_app.catalog import Catalog
from cart_app.clock import FakeClock
from cart_app.engine import Engine
from cart_app.events import Answer, Ask, ChangeKind, Confirm, Sensed, StartSession
from cart_app.fusion import choices as ch
from cart_app.records import PromptAnswered
from cart_app.store_layout import StoreLayout, demo_store_dir, load_layout
from scale.types import WeightChange
from tests.ui.conftest import build_engine, run
from ui.i18n import Translator
from ui.viewmodels.maintenance import MaintenanceVM
from ui.viewmodels.map import MapVM
from ui.viewmodels.picker import MAX_QUANTITY, NamedPick, ProductPickerVM
from ui.viewmodels.prompt import HELP, OTHER, SCAN, PromptVM

UNSEEN = (":show", ":scan", ":other", ":not_mine")
"""What fusion offers for a weight nothing explains (no camera, no barcode)."""


@pytest.fixture
def layout() -> StoreLayout:
    return load_layout(demo_store_dir() / "layout.json")


def picker(catalog: Catalog, tr: Translator, layout: StoreLayout) -> ProductPickerVM:
    """The picker over the search screen's own search (``MapVM.search``)."""
    return ProductPickerVM(MapVM(layout, catalog, "SEK", tr).search, catalog, tr)


def pending(reason: str = "unseen_item", choices: tuple[str, ...] = UNSEEN) -> PendingPrompt:
    return PendingPrompt("p1", reason, choices, deadline=0.0)


def weigh(engine: Engine, clock: FakeClock, grams: float) -> PendingPrompt:
    """Put ``grams`` in with nothing seen or scanned: fusion asks."""
    now = clock.monotonic()
    engine.handle(Sensed(WeightChange(grams, 0.0, grams, now, now + 0.4)))
    clock.advance(10.0)  # no late observation comes
    engine.tick()
    (prompt,) = engine.snapshot.basket.pending_prompts
    return prompt


# -- the prompt's button ---------------------------------------------------------------------------
def test_the_button_shows_only_when_something_else_is_offered(
    engine: Engine, demo_catalog: Catalog, tr: Translator, clock: FakeClock
) -> None:
    prompt = PromptVM(demo_catalog, "SEK", tr, clock.wall)
    run(engine, StartSession())
    snap = run(engine, Ask("ambiguous_item", ("D-MILK-STD", ":other", ":scan"), prompt_id="a"))
    view = prompt.update(snap.basket)
    assert view is not None
    rows = [(c.kind, c.label, c.answer) for c in view.choices]
    # Last before "Call staff": the way on when nothing above is right.
    assert rows[-2:] == [(OTHER, "Something else…", ":other"), (HELP, "Call staff", "")]
    assert [c.kind for c in view.choices].count(OTHER) == 1
    other = view.choices[-2]
    assert other.tile == "⌨" and other.detail == ""
    # Tapping it sends nothing (the controller opens the picker instead).
    assert prompt.choose(":other") is None
    assert prompt.view is not None and prompt.view.waiting_for == ""

    run(engine, Answer("a", ":scan", "scan"))
    snap = run(engine, Ask("ambiguous_item", ("D-MILK-STD", ":scan"), prompt_id="b"))
    view = prompt.update(snap.basket)
    assert view is not None and OTHER not in [c.kind for c in view.choices]
    assert prompt.choose(":other") is None  # not offered: nothing happens


def test_the_picker_opens_only_for_prompts_offering_it(
    demo_catalog: Catalog, tr: Translator, layout: StoreLayout
) -> None:
    vm = picker(demo_catalog, tr, layout)
    assert not vm.open(pending(choices=("D-MILK-STD", ":scan")))
    assert not vm.is_open and not vm.view.open
    assert vm.open(pending())
    assert vm.view.open and not vm.view.staff and vm.prompt_id == "p1"
    assert vm.view.title == "Something else: find the product"
    assert vm.view.question == "Something went into the basket. What was it?"
    assert vm.view.hint.startswith("Search by name or barcode")
    assert not vm.view.can_confirm and vm.view.answer == ""
    assert vm.view.can_scan  # "Scan it" stays available, and "Call staff" always is


# -- picking ---------------------------------------------------------------------------------------
def test_per_unit_products_take_the_stepper_quantity(
    demo_catalog: Catalog, tr: Translator, layout: StoreLayout
) -> None:
    vm = picker(demo_catalog, tr, layout)
    vm.open(pending())
    view = vm.search("mjölk")
    assert [r.sku for r in view.results][:2] == ["D-MILK-STD", "D-MILK-MED"]
    first = view.results[0]
    assert (first.name, first.price, first.tile, first.action, first.can_pick) == (
        "Standardmjölk 3 % 1 l",
        "17,95 kr",
        "ST",
        "Pick",
        True,
    )
    view = vm.pick("D-MILK-MED")
    (item,) = view.picked
    assert (item.name, item.amount, item.can_less, item.can_more) == (
        "Mellanmjölk 1,5 % 1 l",
        "Quantity: 1",
        False,
        True,
    )
    assert view.answer == "D-MILK-MED" and view.can_confirm
    assert view.picked_title == "You put in:"
    vm.step(0, 1)
    view = vm.step(0, 1)
    assert view.answer == "D-MILK-MED*3" and view.picked[0].amount == "Quantity: 3"
    assert vm.step(0, -1).answer == "D-MILK-MED*2"
    for _ in range(20):
        vm.step(0, 1)
    assert vm.view.picked[0].quantity == MAX_QUANTITY and not vm.view.picked[0].can_more
    for _ in range(20):
        vm.step(0, -1)
    assert vm.view.answer == "D-MILK-MED"  # never below one
    # The same product again is "Picked", not a second line of the answer.
    by_sku = {r.sku: r for r in vm.view.results}
    assert by_sku["D-MILK-MED"].action == "✓ Picked" and not by_sku["D-MILK-MED"].can_pick
    assert by_sku["D-MILK-STD"].action == "+ Add"
    assert vm.pick("D-MILK-MED").answer == "D-MILK-MED"
    pick = vm.confirm()
    assert pick == NamedPick("p1", "D-MILK-MED", "shopper", "")
    assert not vm.is_open and not vm.view.open


def test_products_sold_by_weight_have_no_quantity(
    demo_catalog: Catalog, tr: Translator, layout: StoreLayout
) -> None:
    vm = picker(demo_catalog, tr, layout)
    vm.open(pending())
    view = vm.search("potatis")
    assert view.results[0].price == "12,90 kr/kg"
    view = vm.pick("FV-POTATO")
    (item,) = view.picked
    assert item.weighed and item.amount == "Sold by weight: the cart weighs it"
    assert not item.can_less and not item.can_more
    assert vm.step(0, 1).answer == "FV-POTATO"  # no "@grams": fusion fills in the weight
    assert ch.decode_choice(vm.view.answer) == (ch.ChoiceItem("FV-POTATO"),)


def test_two_products_are_joined_by_plus(
    demo_catalog: Catalog, tr: Translator, layout: StoreLayout
) -> None:
    vm = picker(demo_catalog, tr, layout)
    vm.open(pending())
    vm.search("yoghurt naturell")
    vm.pick("D-YOGHURT-NAT")
    vm.step(0, 1)
    vm.search("potatis")
    assert vm.view.results[0].action == "+ Add"
    view = vm.pick("FV-POTATO")
    assert view.answer == "D-YOGHURT-NAT*2+FV-POTATO"
    assert view.answer == ch.encode_choice(
        [ch.ChoiceItem("D-YOGHURT-NAT", 2), ch.ChoiceItem("FV-POTATO")]
    )
    # Two at most: the rest of the results cannot be picked.
    view = vm.search("mjölk")
    assert {(r.action, r.can_pick) for r in view.results} == {("2 picked", False)}
    assert vm.pick("D-MILK-STD").answer == "D-YOGHURT-NAT*2+FV-POTATO"
    # Removing one frees the place again.
    view = vm.remove(0)
    assert view.answer == "FV-POTATO" and view.results[0].action == "+ Add"
    assert vm.confirm() == NamedPick("p1", "FV-POTATO", "shopper", "")


def test_two_products_sold_by_weight_cannot_share_one_weighing(
    demo_catalog: Catalog, tr: Translator, layout: StoreLayout
) -> None:
    vm = picker(demo_catalog, tr, layout)
    vm.open(pending())
    vm.pick("FV-POTATO")
    view = vm.pick("FV-BANANA")
    assert view.problem.startswith("Items sold by weight are weighed one at a time")
    assert not view.can_confirm and vm.confirm() is None
    assert vm.remove(1).can_confirm
    # Taken out, each is a line of its own: fusion picks the lines.
    vm.open(pending("removal_mismatch", (":not_mine", ":other")))
    vm.pick("FV-POTATO")
    view = vm.pick("FV-BANANA")
    assert view.problem == "" and view.can_confirm and view.answer == "FV-POTATO+FV-BANANA"
    assert view.picked_title == "You took out:" and not view.can_scan


def test_cancel_sends_nothing(demo_catalog: Catalog, tr: Translator, layout: StoreLayout) -> None:
    vm = picker(demo_catalog, tr, layout)
    vm.open(pending())
    vm.search("mjölk")
    vm.pick("D-MILK-STD")
    vm.close()
    assert not vm.is_open and not vm.view.open and vm.confirm() is None
    # Opened again, it starts afresh.
    vm.open(pending())
    assert vm.view.picked == () and vm.view.query == "" and vm.view.results == ()


def test_a_timed_out_prompt_keeps_the_pick_for_its_staff_prompt(
    engine: Engine, demo_catalog: Catalog, tr: Translator, layout: StoreLayout
) -> None:
    vm = picker(demo_catalog, tr, layout)
    run(engine, StartSession())
    snap = run(engine, Ask("unseen_item", UNSEEN, prompt_id="a"))
    vm.open(snap.basket.pending_prompts[0])
    vm.pick("D-MILK-STD")
    assert not vm.follow(snap.basket)  # still open: nothing changes
    run(engine, Answer("a", "timeout", "timeout"))
    snap = run(engine, Ask("staff_needed", UNSEEN, prompt_id="b"))
    assert vm.follow(snap.basket)
    assert vm.prompt_id == "b" and vm.view.answer == "D-MILK-STD"
    assert vm.view.question == "A member of staff will help you."
    # Answered otherwise (a scan): the picker closes.
    snap = run(engine, Answer("b", ":scan", "scan"))
    assert vm.follow(snap.basket) and not vm.is_open


def test_the_language_follows(demo_catalog: Catalog, layout: StoreLayout) -> None:
    tr = Translator("en")
    vm = picker(demo_catalog, tr, layout)
    vm.open(pending())
    vm.search("potatis")
    vm.pick("FV-POTATO")
    tr.set_language("sv")
    view = vm.refresh()
    assert view.title == "Något annat: hitta varan"
    assert view.picked[0].amount == "Säljs per kilo: vagnen väger den"
    assert view.picked_title == "Du lade i:"


# -- the answer through the engine and fusion ----------------------------------------------------
def test_named_products_that_fit_the_weight_are_charged(
    engine: Engine, demo_catalog: Catalog, tr: Translator, clock: FakeClock, layout: StoreLayout
) -> None:
    prompt = PromptVM(demo_catalog, "SEK", tr, clock.wall)
    vm = picker(demo_catalog, tr, layout)
    run(engine, StartSession())
    asked = weigh(engine, clock, 1702.0)  # a milk and bananas went in together
    view = prompt.update(engine.snapshot.basket)
    assert view is not None and OTHER in [c.kind for c in view.choices]
    assert prompt.pending is not None and vm.open(prompt.pending)
    vm.search("mjölk")
    vm.pick("D-MILK-STD")
    vm.search("banan")
    vm.pick("FV-BANANA")
    pick = vm.confirm()
    assert pick is not None and pick.answer == "D-MILK-STD+FV-BANANA"
    command = prompt.answer_named(pick.prompt_id, pick.answer)
    assert command == Answer(asked.prompt_id, "D-MILK-STD+FV-BANANA", "shopper")
    assert prompt.update(engine.snapshot.basket) is None  # answered: the overlay closes
    engine.handle(command)
    basket = engine.snapshot.basket
    assert basket.pending_prompts == ()
    assert [(line.sku, line.quantity) for line in basket.lines] == [
        ("D-MILK-STD", 1),
        ("FV-BANANA", 1),
    ]
    assert basket.lines[1].weight_g == pytest.approx(642.0)  # what the milk left of the reading
    assert prompt.update(basket) is None


def test_a_named_answer_that_does_not_fit_is_asked_again_with_a_note(
    engine: Engine, demo_catalog: Catalog, tr: Translator, clock: FakeClock
) -> None:
    prompt = PromptVM(demo_catalog, "SEK", tr, clock.wall)
    run(engine, StartSession())
    asked = weigh(engine, clock, 520.0)
    prompt.update(engine.snapshot.basket)
    assert prompt.answer_named("not-this-one", "D-MILK-STD") is None
    assert prompt.answer_named(asked.prompt_id, ":none") is None  # not offered, not a product
    command = prompt.answer_named(asked.prompt_id, "D-MILK-STD")
    assert command is not None
    engine.handle(command)
    basket = engine.snapshot.basket
    assert basket.lines == ()  # 1 060 g of milk is not 520 g: nothing is charged
    view = prompt.update(basket)
    assert view is not None and view.reason == "weight_mismatch"
    assert view.prompt_id != asked.prompt_id
    assert view.notice == "That doesn't match the weight — please scan it or ask staff."
    assert [c.kind for c in view.choices].count(SCAN) == 1  # scanning stays a way on
    # The note belongs to that question only.
    engine.handle(Answer(view.prompt_id, ":scan", "scan"))
    snap = run(engine, Ask("unseen_item", UNSEEN, prompt_id="later"))
    view = prompt.update(snap.basket)
    assert view is not None and view.notice == ""


def test_a_prompt_after_an_accepted_named_answer_has_no_note(
    engine: Engine, demo_catalog: Catalog, tr: Translator, clock: FakeClock
) -> None:
    prompt = PromptVM(demo_catalog, "SEK", tr, clock.wall)
    run(engine, StartSession())
    asked = weigh(engine, clock, 1060.0)
    prompt.update(engine.snapshot.basket)
    command = prompt.answer_named(asked.prompt_id, "D-MILK-STD")
    assert command is not None
    engine.handle(command)
    assert [line.sku for line in engine.snapshot.basket.lines] == ["D-MILK-STD"]
    assert prompt.update(engine.snapshot.basket) is None
    following = weigh(engine, clock, 520.0)  # the next item: a question of its own
    view = prompt.update(engine.snapshot.basket)
    assert view is not None and view.prompt_id == following.prompt_id and view.notice == ""


# -- staff -----------------------------------------------------------------------------------------
def test_staff_named_answers_are_staff_answers(
    tmp_path: Path,
    demo_catalog: Catalog,
    tr: Translator,
    clock: FakeClock,
    layout: StoreLayout,
) -> None:
    engine, ledger = build_engine(tmp_path, demo_catalog, clock)
    maintenance = MaintenanceVM(demo_catalog, "SEK", tr)
    vm = picker(demo_catalog, tr, layout)
    try:
        engine.restore()
        run(engine, StartSession("staff-other"))
        run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1))
        weigh(engine, clock, 520.0)
        maintenance.update(engine.snapshot)
        (flagged,) = maintenance.view.prompts
        labels = dict(flagged.answers)
        assert labels[":other"] == "Something else (pick the product)"
        (pending_prompt,) = engine.snapshot.basket.pending_prompts
        assert vm.open(pending_prompt, "staff", "kim")
        assert vm.view.staff and vm.view.title == "Staff answer: pick the product"
        assert not vm.view.can_scan  # staff are at the cart
        vm.search("mellanmjölk")
        vm.pick("D-MILK-MED")
        vm.step(0, 1)
        pick = vm.confirm()
        assert pick == NamedPick(pending_prompt.prompt_id, "D-MILK-MED*2", "staff", "kim")
        command = maintenance.resolve_prompt(pick.prompt_id, pick.answer, pick.staff_id)
        assert command.answered_by == "staff" and command.staff_id == "kim"
        engine.handle(command)
        basket = engine.snapshot.basket
        records = ledger.records("staff-other")
    finally:
        engine.stop()
        ledger.close()
    # Staff are at the cart: carried out although 2 milks are not 520 g (the misfit is noted).
    assert basket.pending_prompts == ()
    assert [(line.sku, line.quantity) for line in basket.lines][-1] == ("D-MILK-MED", 2)
    answered = [r for r in records if isinstance(r, PromptAnswered)]
    assert [(r.answer, r.answered_by) for r in answered] == [("D-MILK-MED*2", "staff kim")]
