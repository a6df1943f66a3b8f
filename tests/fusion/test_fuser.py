"""The fuser's evidence, prompts and lifecycle beyond the case table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from cart_app.basket import PendingPrompt
from cart_app.catalog import Catalog, ScanMatch, WeightModel
from cart_app.clock import FakeClock
from cart_app.domain import BasketLine, EvidenceSource, Product
from cart_app.events import Answer, Ask, ChangeKind, Confirm, Tare
from cart_app.fusion import FusionSettings
from cart_app.fusion import prompts as reasons
from cart_app.session import SessionState
from tests.fusion.helpers import (
    INTO,
    UNKNOWN,
    Obs,
    Scan,
    Timeline,
    Weigh,
    barcode,
    make_fuser,
    seen,
    shopping,
    summary,
    weighed,
)

LAGER_GTIN = "7350999000349"


def confirms(commands: Sequence[object]) -> list[Confirm]:
    return [c for c in commands if isinstance(c, Confirm)]


def test_evidence_of_a_vision_confirm(demo_catalog: Catalog, clock: FakeClock) -> None:
    timeline = Timeline(make_fuser(demo_catalog, clock), clock, shopping())
    commands = timeline.play([Obs(0.0, seen(("Avocado", 0.93))), Weigh(0.2, 204.0)])
    (confirm,) = confirms(commands)
    evidence = confirm.evidence
    assert evidence is not None
    assert evidence.source is EvidenceSource.VISION
    assert evidence.weight_delta_g == 204.0  # the engine learns the unit weight from it
    assert evidence.vision_label == "Avocado" and evidence.vision_probability == 0.93
    assert evidence.camera_id == "cam1"
    assert "posterior=" in evidence.note


def test_age_restricted_lines_are_flagged_for_staff(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    timeline = Timeline(make_fuser(demo_catalog, clock), clock, shopping())
    commands = timeline.play([Obs(0.0, seen(code=LAGER_GTIN)), Weigh(0.2, 521.0)])
    (confirm,) = confirms(commands)
    assert confirm.evidence is not None
    assert confirm.evidence.source is EvidenceSource.BARCODE
    assert confirm.evidence.gtin == "07350999000349"
    assert "age_check=18" in confirm.evidence.note


def test_joint_weighing_does_not_teach_unit_weights(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    timeline = Timeline(make_fuser(demo_catalog, clock), clock, shopping())
    commands = timeline.play(
        [
            Obs(0.0, seen(("Avocado", 0.99))),
            Obs(0.1, seen(("Cucumber", 0.99), camera="cam2")),
            Weigh(0.3, 553.0),
        ]
    )
    found = confirms(commands)
    assert [c.sku for c in found] == ["FV-AVOCADO", "FV-CUCUMBER"]
    for confirm in found:
        assert confirm.evidence is not None
        assert confirm.evidence.weight_delta_g is None
        assert "weighed_with=" in confirm.evidence.note


def test_too_light_item_seen_but_unclear_is_asked(demo_catalog: Catalog, clock: FakeClock) -> None:
    # Give the gum a recogniser label for this test: the demo catalog has none.
    class Labelled:
        def by_sku(self, sku: str) -> Product | None:
            return demo_catalog.by_sku(sku)

        def by_label(self, label: str) -> Product | None:
            if label == "Gum":
                return demo_catalog.by_sku("K-CHEWING-GUM")
            return demo_catalog.by_label(label)

        def resolve_scan(self, code: str, symbology: str | None = None) -> ScanMatch | None:
            return demo_catalog.resolve_scan(code, symbology)

        def weight_model(self, sku: str) -> WeightModel:
            return demo_catalog.weight_model(sku)

    fuser = make_fuser(Labelled(), clock)
    timeline = Timeline(fuser, clock, shopping())
    commands = timeline.play([Obs(0.0, seen(("Gum", 0.7), ("Lime", 0.1)))])
    assert [summary(c) for c in commands] == [
        ("ask", reasons.TOO_LIGHT_UNCLEAR, ("K-CHEWING-GUM", ":scan", ":other", ":none"), "p1")
    ]
    assert fuser.on_answer("p1", ":scan", shopping()) == []  # the shopper taps "scan it"
    more = fuser.on_scan(barcode("73091233"), shopping())
    assert [summary(c) for c in more] == [
        ("answer", "p1", ":scan", "scan"),
        ("confirm", "add", "K-CHEWING-GUM", 1, 0.0, None),
    ]


def test_scan_before_placing_is_evidence(demo_catalog: Catalog, clock: FakeClock) -> None:
    timeline = Timeline(make_fuser(demo_catalog, clock), clock, shopping())
    commands = timeline.play([Scan(0.0, LAGER_GTIN), Weigh(1.0, 520.0)])
    (confirm,) = confirms(commands)
    assert confirm.sku == "J-LAGER-50CL"
    assert confirm.evidence is not None and confirm.evidence.camera_id == "scanner"


def test_scan_never_placed_charges_nothing(demo_catalog: Catalog, clock: FakeClock) -> None:
    timeline = Timeline(make_fuser(demo_catalog, clock), clock, shopping())
    assert timeline.play([Scan(0.0, LAGER_GTIN)]) == []


def test_prompt_timeout_calls_staff(demo_catalog: Catalog, clock: FakeClock) -> None:
    fuser = make_fuser(demo_catalog, clock)
    basket = shopping()
    assert fuser.on_weight_change(weighed(700.0, clock.monotonic()), basket) == []
    clock.advance(5)
    (ask,) = fuser.tick(clock.monotonic(), basket)
    assert isinstance(ask, Ask) and ask.prompt_id == "p1"
    opened = replace(basket, pending_prompts=(PendingPrompt("p1", ask.reason, ask.choices, 0),))
    assert fuser.tick(clock.monotonic(), opened) == []
    clock.advance(46)
    # The engine answered "timeout": the prompt is gone, the item still unaccounted for.
    (staff,) = fuser.tick(clock.monotonic(), basket)
    assert isinstance(staff, Ask)
    assert staff.reason == reasons.STAFF_NEEDED and staff.prompt_id == "p2"
    assert staff.choices == ask.choices
    assert staff.timeout_s == FusionSettings().staff_prompt_timeout_s
    # Staff resolve it: the shopper's bag after all.
    done = fuser.on_answer("p2", ":not_mine", basket, answered_by="staff")
    assert done == [
        Answer("p2", ":not_mine", "staff"),
        Tare(700.0, "shopper's own item (prompt p2)"),
    ]


def test_answer_that_is_not_a_choice_does_nothing(demo_catalog: Catalog, clock: FakeClock) -> None:
    fuser = make_fuser(demo_catalog, clock)
    basket = shopping()
    fuser.on_weight_change(weighed(700.0, clock.monotonic()), basket)
    clock.advance(5)
    fuser.tick(clock.monotonic(), basket)
    assert fuser.on_answer("p1", "NO-SUCH-SKU", basket) == []  # names no product
    assert fuser.on_answer("p9", ":not_mine", basket) == []
    assert fuser.on_answer("p1", ":scan", basket) == []  # the scan itself will answer
    assert [p.prompt_id for p in fuser.state.prompts] == ["p1"]


def test_prompt_restored_after_a_restart_can_be_answered(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    # A new fuser knows nothing of the prompt; its choice says all there is to do.
    fuser = make_fuser(demo_catalog, clock)
    lines = (BasketLine(4, "FV-BANANA", 1, 812.5),)
    pending = PendingPrompt("old", reasons.AMBIGUOUS_REMOVAL, ("FV-BANANA@812.5#4", ":scan"), 0)
    basket = shopping(lines, prompts=(pending,))
    commands = fuser.on_answer("old", "FV-BANANA@812.5#4", basket)
    assert commands[0] == Answer("old", "FV-BANANA@812.5#4", "shopper")
    confirm = commands[1]
    assert isinstance(confirm, Confirm)
    assert (confirm.kind, confirm.sku, confirm.weight_g, confirm.line_id) == (
        ChangeKind.REMOVE,
        "FV-BANANA",
        812.5,
        4,
    )


def test_locked_cart_keeps_pending_evidence(demo_catalog: Catalog, clock: FakeClock) -> None:
    fuser = make_fuser(demo_catalog, clock)
    fuser.on_observation(seen(("Avocado", 0.9), t=clock.monotonic()), shopping())
    locked = shopping(state=SessionState.LOCKED)
    assert fuser.on_weight_change(weighed(200.0, clock.monotonic()), locked) == []
    clock.advance(20)
    assert fuser.tick(clock.monotonic(), locked) == []
    assert len(fuser.state.observations) == 1
    assert fuser.tick(clock.monotonic(), shopping(state=SessionState.IDLE)) == []
    assert not fuser.state.observations


def test_unknown_direction_alone_needs_no_more_than_vision(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    # Vision could not tell the direction; the scale says it went in.
    timeline = Timeline(make_fuser(demo_catalog, clock), clock, shopping())
    commands = timeline.play(
        [Obs(0.0, seen(("Cucumber", 0.97), direction=UNKNOWN)), Weigh(0.2, 352.0)]
    )
    assert [c.sku for c in confirms(commands)] == ["FV-CUCUMBER"]


def test_answers_are_never_for_products_whose_weight_does_not_fit(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    timeline = Timeline(make_fuser(demo_catalog, clock), clock, shopping())
    commands = timeline.play(
        [Obs(0.0, seen(("Avocado", 0.6), ("Cucumber", 0.35), direction=INTO)), Weigh(0.2, 275.0)]
    )
    (ask,) = commands
    assert isinstance(ask, Ask)
    assert all(c.startswith(":") for c in ask.choices)
