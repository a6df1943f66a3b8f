"""Guards against charging what the evidence does not vouch for, and the shopper's own bag."""

from __future__ import annotations

from cart_app.catalog import Catalog
from cart_app.clock import FakeClock
from cart_app.domain import BasketLine
from cart_app.events import Answer, Ask, Confirm, Tare
from cart_app.fusion import WITHDRAWN
from cart_app.fusion import prompts as reasons
from cart_app.fusion.fuser import OWN_BAG_LABEL
from scale.types import WeightChange
from tests.fusion.helpers import (
    UNKNOWN,
    Obs,
    Scan,
    Timeline,
    Weigh,
    make_fuser,
    seen,
    shopping,
    weighed,
)


def _play(catalog: Catalog, clock: FakeClock, *events: Obs | Weigh | Scan) -> list[object]:
    return list(Timeline(make_fuser(catalog, clock), clock, shopping()).play(list(events)))


def test_a_bag_the_camera_is_sure_of_is_tared_without_asking(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    commands = _play(demo_catalog, clock, Obs(0.0, seen((OWN_BAG_LABEL, 0.95))), Weigh(0.2, 120.0))
    assert len(commands) == 1
    (tare,) = commands
    assert isinstance(tare, Tare) and tare.weight_g == 120.0
    assert "own bag" in tare.reason


def test_a_heavy_or_unsure_bag_is_asked_about(demo_catalog: Catalog, clock: FakeClock) -> None:
    heavy = _play(demo_catalog, clock, Obs(0.0, seen((OWN_BAG_LABEL, 0.95))), Weigh(0.2, 650.0))
    unsure = _play(
        demo_catalog, FakeClock(), Obs(0.0, seen((OWN_BAG_LABEL, 0.6))), Weigh(0.2, 120.0)
    )
    for commands in (heavy, unsure):
        assert not [c for c in commands if isinstance(c, Tare | Confirm)], commands
        assert [c for c in commands if isinstance(c, Ask)]


def test_units_counted_by_weight_need_a_sure_identity(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    unsure = _play(
        demo_catalog, clock, Obs(0.0, seen(("Arla-Standard-Milk", 0.6))), Weigh(0.2, 2121.0)
    )
    assert not [c for c in unsure if isinstance(c, Confirm)]
    (ask,) = [c for c in unsure if isinstance(c, Ask)]
    assert ask.reason == reasons.AMBIGUOUS_ITEM and "D-MILK-STD*2" in ask.choices
    sure = _play(
        demo_catalog, FakeClock(), Obs(0.0, seen(("Arla-Standard-Milk", 0.95))), Weigh(0.2, 2121.0)
    )
    (confirm,) = [c for c in sure if isinstance(c, Confirm)]
    assert (confirm.sku, confirm.quantity) == ("D-MILK-STD", 2)


def test_two_products_in_one_track_are_offered_never_charged_silently(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    commands = _play(
        demo_catalog,
        clock,
        Obs(0.0, seen(("God-Morgon-Orange-Juice", 0.5), ("Arla-Sour-Cream", 0.495))),
        Weigh(0.2, 1400.0),
    )
    assert not [c for c in commands if isinstance(c, Confirm)]
    (ask,) = [c for c in commands if isinstance(c, Ask)]
    assert any("+" in choice for choice in ask.choices)


def test_a_withdrawn_gain_closes_the_question_already_asked(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    fuser = make_fuser(demo_catalog, clock)
    basket = shopping()
    gain = weighed(342.0, clock.monotonic())
    fuser.on_weight_change(gain, basket)
    clock.advance(5)
    (ask,) = [c for c in fuser.tick(clock.monotonic(), basket) if isinstance(c, Ask)]
    now = clock.monotonic()
    mirror = WeightChange(-gain.delta_g, gain.after_g, gain.before_g, now, now)
    assert ask.prompt_id is not None
    assert fuser.on_weight_change(mirror, basket) == [Answer(ask.prompt_id, WITHDRAWN, "system")]
    assert not fuser.state.prompts and not fuser.state.weights


def test_what_the_camera_calls_unsold_is_not_charged_as_produce_that_fits_any_weight(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    # A bag the camera was not sure enough of to tare, with a pear among the weaker
    # candidates: pears are sold by weight, so 143 g "fits" them. Asked, never charged.
    commands = _play(
        demo_catalog,
        clock,
        Obs(0.0, seen((OWN_BAG_LABEL, 0.4), ("Conference", 0.09), ("Alpro-Fresh-Soy-Milk", 0.05))),
        Weigh(0.2, 142.7),
    )
    assert not [c for c in commands if isinstance(c, Confirm | Tare)]
    (ask,) = [c for c in commands if isinstance(c, Ask)]
    assert ask.reason == reasons.WEIGHT_MISMATCH and ":not_mine" in ask.choices


def test_a_mirrored_loss_after_a_seen_item_is_decided_as_a_removal(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    # A cucumber went in (seen, asked about); something of the same weight came out and the
    # scale reported it as the gain's mirror. It may be the cucumber or another item: not
    # closed as "withdrawn" on the scale's word alone.
    fuser = make_fuser(demo_catalog, clock)
    basket = shopping([BasketLine(1, "S-PEANUT-BUTTER", 1, 0.0)])
    fuser.on_observation(seen(("Cucumber", 0.6), ("Avocado", 0.3), t=clock.monotonic()), basket)
    gain = weighed(386.3, clock.monotonic())
    fuser.on_weight_change(gain, basket)
    clock.advance(5)
    asks = [c for c in fuser.tick(clock.monotonic(), basket) if isinstance(c, Ask)]
    assert asks
    now = clock.monotonic()
    mirror = WeightChange(-gain.delta_g, gain.after_g, gain.before_g, now, now)
    assert not [c for c in fuser.on_weight_change(mirror, basket) if isinstance(c, Answer)]


def test_a_scan_nobody_asked_for_is_the_next_items_not_the_open_questions(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    # Juice and a look-alike milk both fit the first weighing, so the cart asks. While the
    # question is open, the shopper scans the milk's barcode — stuck on an oat drink — and
    # puts the oat drink in. The scan must not answer the juice question as "milk".
    milk_gtin = "7350999000141"
    assert demo_catalog.resolve_scan(milk_gtin) is not None
    timeline = Timeline(make_fuser(demo_catalog, clock), clock, shopping())
    commands = timeline.play(
        [
            Obs(
                0.0, seen(("Tropicana-Apple-Juice", 0.5), ("Garant-Ecological-Standard-Milk", 0.4))
            ),
            Weigh(0.2, 1074.0),
            Scan(4.0, milk_gtin),
            Obs(5.0, seen(("Oatly-Oat-Milk", 0.9))),
            Weigh(5.2, 1055.0),
        ],
        until=9.0,
    )
    assert not [c for c in commands if isinstance(c, Confirm)], commands
    asks = [c for c in commands if isinstance(c, Ask)]
    assert [a.reason for a in asks] == [reasons.AMBIGUOUS_ITEM, reasons.BARCODE_MISMATCH]
    assert not [c for c in commands if isinstance(c, Answer)]


def test_a_product_sold_by_weight_is_not_charged_on_a_weak_sighting_by_elimination(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    # A bag the camera half took for carrots: the juice does not fit 134 g, and carrots fit
    # any weight, so they won by elimination. A weighing says little of what produce is.
    commands = _play(
        demo_catalog,
        clock,
        Obs(
            0.0,
            seen(("Carrots", 0.35), ("Tropicana-Mandarin-Morning", 0.27), (OWN_BAG_LABEL, 0.16)),
        ),
        Weigh(0.2, 133.7),
    )
    assert not [c for c in commands if isinstance(c, Confirm | Tare)]
    assert [c for c in commands if isinstance(c, Ask)]


def test_a_count_by_weight_is_asked_when_something_else_was_seen_going_in(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    # Crispbread and a juice put in together; the juice's track gave no candidates. Three
    # crispbreads weigh what the two do: not counted silently.
    commands = _play(
        demo_catalog,
        clock,
        Obs(0.0, seen(direction=UNKNOWN)),
        Obs(0.5, seen(("S-CRISPBREAD", 0.95))),
        Weigh(0.6, 1626.0),
    )
    assert not [c for c in commands if isinstance(c, Confirm)]


def test_a_bag_the_camera_takes_for_packs_of_gum_is_not_counted(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    commands = _play(
        demo_catalog,
        clock,
        Obs(0.0, seen(("K-CHEWING-GUM", 0.87), ("Alpro-Fresh-Soy-Milk", 0.04))),
        Weigh(0.2, 43.1),
    )
    assert not [c for c in commands if isinstance(c, Confirm)]


def test_a_code_scanned_after_an_item_went_down_names_the_next_item(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    # A lime went in unseen; then a chewing-gum label — stuck on a pot of sour cream — is
    # scanned and the pot put in. 60 g is four packs of gum, but the scan came after the lime
    # was down: it names the pot (whose weight it does not fit), not the lime.
    commands = _play(
        demo_catalog,
        clock,
        Weigh(0.2, 59.7),
        Scan(2.0, "73091233"),
        Obs(2.6, seen(("Arla-Sour-Cream", 0.6))),
        Weigh(2.8, 321.0),
    )
    assert not [c for c in commands if isinstance(c, Confirm)]
    asks = [c.reason for c in commands if isinstance(c, Ask)]
    assert len(asks) == 2 and reasons.BARCODE_MISMATCH in asks
