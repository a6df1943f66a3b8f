"""Prompts: choices decoded into labelled buttons, countdown, answers carried out by fusion."""

from __future__ import annotations

import pytest

from cart_app.catalog import Catalog
from cart_app.clock import FakeClock
from cart_app.domain import EvidenceSource
from cart_app.engine import Engine
from cart_app.events import Answer, Ask, ChangeKind, Confirm, RequestCheckout, StartSession
from cart_app.session import SessionState
from tests.ui.conftest import run
from ui.i18n import Translator
from ui.viewmodels.prompt import HELP, NOT_MINE, NOTHING, PRODUCT, SCAN, SHOW, PromptVM


def vm(catalog: Catalog, tr: Translator, clock: FakeClock) -> PromptVM:
    return PromptVM(catalog, "SEK", tr, clock.wall)


def test_choices_become_labelled_buttons(
    engine: Engine, demo_catalog: Catalog, tr: Translator, clock: FakeClock
) -> None:
    prompt = vm(demo_catalog, tr, clock)
    run(engine, StartSession())
    choices = (
        "D-MILK-STD",
        "D-MILK-MED*2",
        "FV-BANANA@734.5",
        "J-LAGER-50CL+FV-LIME",
        ":scan",
        ":show",
        ":not_mine",
        ":none",
    )
    snap = run(engine, Ask("ambiguous_item", choices, prompt_id="p1"))
    view = prompt.update(snap.basket)
    assert view is not None
    assert view.title == "Which item did you put in?"
    rows = [(c.kind, c.label, c.detail) for c in view.choices]
    assert rows == [
        (PRODUCT, "Standardmjölk 3 % 1 l", "17,95 kr"),
        (PRODUCT, "2 × Mellanmjölk 1,5 % 1 l", "33,90 kr"),
        (PRODUCT, "Bananer ekologiska", "0,735 kg"),
        (PRODUCT, "Folköl ljus lager 3,5 % 50 cl + Lime", "16,90 kr · 4,95 kr"),
        (SCAN, "Scan it", ""),
        (SHOW, "Show it to the camera", ""),
        (NOT_MINE, "This is mine", ""),
        (NOTHING, "Nothing went in", ""),
        (HELP, "Call staff", ""),
    ]
    # Every button has a picture or letters, never an empty tile.
    assert all(c.tile for c in view.choices)
    assert view.choices[0].answer == "D-MILK-STD"


def test_malformed_choices_are_left_out_not_fatal(
    engine: Engine, demo_catalog: Catalog, tr: Translator, clock: FakeClock
) -> None:
    prompt = vm(demo_catalog, tr, clock)
    run(engine, StartSession())
    view = prompt.update(run(engine, Ask("ambiguous_item", ("D-MILK-STD", "bad choice!"))).basket)
    assert view is not None
    assert [c.kind for c in view.choices] == [PRODUCT, HELP]


def test_countdown_follows_the_deadline(
    engine: Engine, demo_catalog: Catalog, tr: Translator, clock: FakeClock
) -> None:
    prompt = vm(demo_catalog, tr, clock)
    run(engine, StartSession())
    prompt.update(run(engine, Ask("unseen_item", (":scan",), timeout_s=30.0)).basket)
    assert prompt.seconds_left() == 30
    assert prompt.countdown_text() == "30 s"
    clock.advance(12.2)
    assert prompt.seconds_left() == 18
    assert prompt.countdown_fraction() == pytest.approx(17.8 / 30.0)
    clock.advance(60)
    assert prompt.seconds_left() == 0 and prompt.countdown_fraction() == 0.0


def test_tapping_a_product_is_carried_out_by_fusion(
    engine: Engine, demo_catalog: Catalog, tr: Translator, clock: FakeClock
) -> None:
    prompt = vm(demo_catalog, tr, clock)
    run(engine, StartSession())
    snap = run(engine, Ask("ambiguous_item", ("D-MILK-STD", "D-MILK-MED"), prompt_id="p1"))
    prompt.update(snap.basket)
    command = prompt.choose("D-MILK-MED")
    assert command == Answer("p1", "D-MILK-MED", "shopper")
    snap = run(engine, command)
    assert snap.basket.pending_prompts == ()
    (line,) = snap.basket.lines
    assert line.sku == "D-MILK-MED"
    assert line.evidence[-1].source is EvidenceSource.SHOPPER
    assert prompt.update(snap.basket) is None


def test_the_answered_prompt_is_hidden_until_the_engine_closes_it(
    engine: Engine, demo_catalog: Catalog, tr: Translator, clock: FakeClock
) -> None:
    prompt = vm(demo_catalog, tr, clock)
    run(engine, StartSession())
    run(engine, Ask("ambiguous_item", ("D-MILK-STD",), prompt_id="p1"))
    snap = run(engine, Ask("unseen_item", (":scan", ":none"), prompt_id="p2"))
    view = prompt.update(snap.basket)
    assert view is not None and view.prompt_id == "p1"
    assert prompt.choose("D-MILK-STD") is not None
    # A snapshot from before the answer still lists p1: the next prompt shows meanwhile.
    view = prompt.update(snap.basket)
    assert view is not None and view.prompt_id == "p2"


def test_scan_and_show_change_the_screen(
    engine: Engine, demo_catalog: Catalog, tr: Translator, clock: FakeClock
) -> None:
    prompt = vm(demo_catalog, tr, clock)
    run(engine, StartSession())
    prompt.update(run(engine, Ask("unseen_item", (":scan", ":show"), prompt_id="p1")).basket)
    # "Scan it" tells fusion the next scan answers this question; the prompt stays open.
    assert prompt.choose(":scan") == Answer("p1", ":scan", "shopper")
    assert prompt.view is not None and prompt.view.waiting_for == "scan"
    assert prompt.view.instruction == "Scan the item's barcode at the scanner now."
    prompt.back_to_choices()
    assert prompt.view is not None and prompt.view.waiting_for == ""
    assert prompt.choose(":show") == Answer("p1", ":show", "shopper")
    assert prompt.view is not None and prompt.view.instruction.startswith("Hold the item up")
    assert prompt.choose("") is None  # call staff
    assert prompt.view is not None and prompt.view.waiting_for == "staff"
    assert prompt.choose("NOT-A-CHOICE") is None


def test_bags_mode_puts_my_bags_first(
    engine: Engine, demo_catalog: Catalog, tr: Translator, clock: FakeClock
) -> None:
    prompt = vm(demo_catalog, tr, clock)
    prompt.bags_mode = True
    run(engine, StartSession())
    view = prompt.update(
        run(engine, Ask("unseen_item", (":scan", ":show", ":not_mine"), prompt_id="p1")).basket
    )
    assert view is not None
    assert (view.choices[0].kind, view.choices[0].label) == (NOT_MINE, "These are my bags")


def test_removal_prompts_word_not_mine_for_taking_out(
    engine: Engine, demo_catalog: Catalog, tr: Translator, clock: FakeClock
) -> None:
    prompt = vm(demo_catalog, tr, clock)
    run(engine, StartSession())
    run(engine, Confirm(ChangeKind.ADD, "FV-AVOCADO", 2))
    view = prompt.update(
        run(engine, Ask("ambiguous_removal", ("FV-AVOCADO#2", ":not_mine"), prompt_id="p")).basket
    )
    assert view is not None
    assert view.title == "Which item did you take out?"
    assert view.choices[0].detail.endswith("from line 2")
    assert view.choices[1].label == "It was my own item"


def test_staff_prompts_stay_answerable(
    engine: Engine, demo_catalog: Catalog, tr: Translator, clock: FakeClock
) -> None:
    prompt = vm(demo_catalog, tr, clock)
    run(engine, StartSession())
    view = prompt.update(run(engine, Ask("staff_needed", ("D-MILK-STD", ":scan"))).basket)
    assert view is not None and view.staff_needed
    assert view.instruction.startswith("Please wait: staff")
    assert [c.kind for c in view.choices] == [PRODUCT, SCAN, HELP]
    assert prompt.countdown_text() == ""


def test_no_prompt_outside_shopping_and_checkout(
    engine: Engine, demo_catalog: Catalog, tr: Translator, clock: FakeClock
) -> None:
    prompt = vm(demo_catalog, tr, clock)
    run(engine, StartSession())
    run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1))
    snap = run(engine, RequestCheckout())
    assert snap.basket.state is SessionState.CHECKOUT
    assert prompt.update(snap.basket) is None


def test_unknown_reason_has_a_generic_question(
    engine: Engine, demo_catalog: Catalog, clock: FakeClock
) -> None:
    prompt = vm(demo_catalog, Translator("sv"), clock)
    run(engine, StartSession())
    view = prompt.update(run(engine, Ask("something_new", (":scan",))).basket)
    assert view is not None
    assert view.title == "Kontrollera varan du just flyttade."
    assert view.choices[0].label == "Skanna den"
