"""The basket view-model: lines, per-kg details, offers and savings, budget, last item added."""

from __future__ import annotations

from cart_app.budget import BudgetLevel, BudgetStatus
from cart_app.catalog import Catalog
from cart_app.domain import Coupon, Evidence, EvidenceSource
from cart_app.engine import Engine
from cart_app.events import (
    ApplyCoupon,
    Ask,
    ChangeKind,
    Confirm,
    RequestCheckout,
    StartSession,
    VoidLine,
)
from tests.ui.conftest import run
from ui.i18n import Translator
from ui.viewmodels.basket import BasketVM, budget_view


def vm(catalog: Catalog, tr: Translator) -> BasketVM:
    return BasketVM(catalog, "SEK", tr)


def test_per_unit_and_per_kg_lines(engine: Engine, demo_catalog: Catalog, tr: Translator) -> None:
    basket = vm(demo_catalog, tr)
    run(engine, StartSession())
    run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 2))
    view = basket.update(run(engine, Confirm(ChangeKind.ADD, "FV-BANANA", 1, weight_g=642.0)))
    milk, bananas = view.lines
    assert (milk.name, milk.detail, milk.price) == (
        "Standardmjölk 3 % 1 l",
        "2 × 17,95 kr",
        "35,90 kr",
    )
    assert bananas.detail == "0,642 kg × 29,90 kr/kg"
    assert bananas.price == "19,20 kr"  # 29.90 × 0.642 = 19.1958, rounded half up
    assert view.total == "55,10 kr"
    assert view.item_count == "Items: 3"
    assert view.can_checkout and view.checkout_hint == ""
    assert not view.age_restricted and all(line.age_note == "" for line in view.lines)
    assert milk.tile == "ST" and milk.thumb is None


def test_offers_and_savings_are_shown_per_line_and_in_total(
    engine: Engine, demo_catalog: Catalog, tr: Translator
) -> None:
    basket = vm(demo_catalog, tr)
    run(engine, StartSession())
    run(engine, Confirm(ChangeKind.ADD, "D-YOGHURT-NAT", 3))
    view = basket.update(run(engine, ApplyCoupon(Coupon("TEN", amount_off_cents=1000))))
    (line,) = view.lines
    assert line.detail == "3 × 24,95 kr"
    assert line.saving.startswith("You save ")
    assert view.offers[0] == "3 för 2 på yoghurt 1 kg: -24,95 kr"
    assert view.offers[1] == "Coupon TEN: -10,00 kr"
    assert view.savings == "You save 34,95 kr in total"
    assert view.total == "39,90 kr"


def test_age_restricted_lines_say_so_in_words(
    engine: Engine, demo_catalog: Catalog, tr: Translator
) -> None:
    basket = vm(demo_catalog, tr)
    run(engine, StartSession())
    view = basket.update(run(engine, Confirm(ChangeKind.ADD, "J-LAGER-50CL", 1)))
    assert view.lines[0].age_note == "18+ ID check at the exit"
    assert view.age_restricted


def test_last_added_line_is_highlighted_with_its_evidence(
    engine: Engine, demo_catalog: Catalog, tr: Translator
) -> None:
    basket = vm(demo_catalog, tr)
    basket.update(run(engine, StartSession()))
    scanned = Evidence(EvidenceSource.BARCODE, weight_delta_g=1061.2, gtin="07350999000103")
    basket.update(run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1, evidence=scanned)))
    seen = Evidence(EvidenceSource.VISION, weight_delta_g=642.0, vision_probability=0.97)
    view = basket.update(
        run(engine, Confirm(ChangeKind.ADD, "FV-BANANA", 1, weight_g=642.0, evidence=seen))
    )
    assert [line.highlighted for line in view.lines] == [False, True]
    assert view.last_added is not None
    assert view.last_added.name == "Bananer ekologiska"
    assert view.last_added.weight == "Weight +642 g"
    assert view.last_added.barcode == ""
    assert view.last_added.source == "Seen by the camera (97%)"
    # One more milk: the milk line grew, so it is the last added now, with the barcode.
    view = basket.update(run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1, evidence=scanned)))
    assert [line.highlighted for line in view.lines] == [True, False]
    assert view.last_added is not None
    assert view.last_added.barcode == "Barcode 07350999000103"
    assert view.last_added.source == "Scanned barcode"
    # It leaves the basket: nothing is highlighted.
    milk_id = view.lines[0].line_id
    view = basket.update(run(engine, VoidLine(milk_id, "test")))
    assert view.last_added is None
    assert not any(line.highlighted for line in view.lines)


def test_a_restored_basket_highlights_nothing(
    engine: Engine, demo_catalog: Catalog, tr: Translator
) -> None:
    run(engine, StartSession())
    snap = run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1))
    view = vm(demo_catalog, tr).update(snap)
    assert view.last_added is None


def test_checkout_is_blocked_by_an_open_question_or_an_empty_basket(
    engine: Engine, demo_catalog: Catalog, tr: Translator
) -> None:
    basket = vm(demo_catalog, tr)
    view = basket.update(run(engine, StartSession()))
    assert not view.can_checkout and view.checkout_hint == "Your basket is empty."
    assert view.empty_text.startswith("Your basket is empty.")
    run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1))
    view = basket.update(run(engine, Ask("ambiguous_item", ("D-MILK-STD", "D-MILK-MED"))))
    assert not view.can_checkout
    assert view.checkout_hint == "Answer the cart's question first."


def test_checkout_state_disables_the_button(
    engine: Engine, demo_catalog: Catalog, tr: Translator
) -> None:
    basket = vm(demo_catalog, tr)
    run(engine, StartSession())
    run(engine, Confirm(ChangeKind.ADD, "D-MILK-STD", 1))
    view = basket.update(run(engine, RequestCheckout()))
    assert not view.can_checkout


def test_budget_levels_have_icons_and_words(tr: Translator) -> None:
    assert not budget_view(BudgetStatus(None, 500, None, BudgetLevel.OK), "SEK", tr).visible
    ok = budget_view(BudgetStatus(10_000, 2_000, 8_000, BudgetLevel.OK), "SEK", tr)
    near = budget_view(BudgetStatus(10_000, 9_500, 500, BudgetLevel.NEAR), "SEK", tr)
    over = budget_view(BudgetStatus(10_000, 11_200, -1_200, BudgetLevel.OVER), "SEK", tr)
    assert (ok.icon, ok.text) == ("✓", "80,00 kr left of your 100,00 kr budget")
    assert (near.icon, near.text) == ("!", "Close to your budget: 5,00 kr left of 100,00 kr")
    assert (over.icon, over.text) == ("✕", "Over your budget by 12,00 kr (budget 100,00 kr)")
    assert {ok.level, near.level, over.level} == {"ok", "near", "over"}


def test_budget_from_the_engine(engine: Engine, demo_catalog: Catalog, tr: Translator) -> None:
    basket = vm(demo_catalog, tr)
    run(engine, StartSession())
    view = basket.update(run(engine, Confirm(ChangeKind.ADD, "C-CHEESE-DELI", 1, weight_g=800.0)))
    assert view.budget.visible and view.budget.icon == "✕"  # 111,20 kr against 100 kr


def test_swedish_texts(engine: Engine, demo_catalog: Catalog) -> None:
    basket = BasketVM(demo_catalog, "SEK", Translator("sv"))
    run(engine, StartSession())
    view = basket.update(run(engine, Confirm(ChangeKind.ADD, "D-YOGHURT-NAT", 3)))
    assert view.item_count == "Varor: 3"
    assert view.lines[0].saving.startswith("Du sparar ")
