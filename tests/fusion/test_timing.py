"""When fusion acts, and the cases the trip benchmark taught it: decisive verdicts at once,
withdrawals, SKU labels, a pack hidden in a weighing, a scanned label that disagrees, and the
shopper's own things after a restart."""

from __future__ import annotations

from dataclasses import replace

from cart_app.basket import PendingPrompt
from cart_app.catalog import Catalog
from cart_app.clock import FakeClock
from cart_app.events import Ask, Confirm, Tare
from cart_app.fusion import Fuser, FusionSettings
from scale.types import WeightChange
from tests.fusion.helpers import (
    OUT,
    SETTLE_S,
    barcode,
    make_fuser,
    seen,
    shopping,
    summary,
    weighed,
)
from vision.types import Direction, ItemObservation

GUM_GTIN = "73091233"


def _weigh(fuser: Fuser, clock: FakeClock, delta_g: float) -> list[tuple[object, ...]]:
    start = clock.monotonic()
    clock.advance(SETTLE_S)
    return [summary(c) for c in fuser.on_weight_change(weighed(delta_g, start), shopping())]


def _tick(fuser: Fuser, clock: FakeClock, seconds: float) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    end = clock.monotonic() + seconds
    while clock.monotonic() < end:
        clock.advance(0.1)
        out += [summary(c) for c in fuser.tick(clock.monotonic(), shopping())]
    return out


def test_a_decisive_single_item_is_charged_when_its_weight_settles(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    fuser = make_fuser(demo_catalog, clock)
    fuser.on_observation(seen(("Avocado", 0.97), t=clock.monotonic()), shopping())
    assert _weigh(fuser, clock, 203.0) == [("confirm", "add", "FV-AVOCADO", 1, 0.0, None)]


def test_units_only_the_weight_counts_are_charged_at_once(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    fuser = make_fuser(demo_catalog, clock)
    fuser.on_observation(seen(("Arla-Natural-Yoghurt", 0.97), t=clock.monotonic()), shopping())
    assert _weigh(fuser, clock, 3 * 1040.0) == [("confirm", "add", "D-YOGHURT-NAT", 3, 0.0, None)]
    # The next item, reported once the grace for late reports is over, does not touch it.
    clock.advance(fuser.settings.observation_grace_s + 0.1)
    late = fuser.on_observation(seen(("Avocado", 0.9), t=clock.monotonic()), shopping())
    assert not [c for c in late if "remove" in str(c)]
    assert _tick(fuser, clock, 3.0) == []


def test_units_only_the_weight_counts_wait_with_a_count_grace(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    settings = FusionSettings(count_grace_s=1.0)
    fuser = make_fuser(demo_catalog, clock, settings)
    fuser.on_observation(seen(("Arla-Natural-Yoghurt", 0.97), t=clock.monotonic()), shopping())
    assert _weigh(fuser, clock, 3 * 1040.0) == []
    after = _tick(fuser, clock, settings.count_grace_s + 0.2)
    assert after == [("confirm", "add", "D-YOGHURT-NAT", 3, 0.0, None)]


def test_a_withdrawn_increase_is_dropped_whatever_was_seen(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    # A lean on the handle while an item was held over the basket.
    fuser = make_fuser(demo_catalog, clock)
    fuser.on_observation(seen(("Avocado", 0.6), direction=Direction.HELD), shopping())
    gain = WeightChange(412.0, 5000.0, 5412.0, clock.monotonic(), clock.monotonic() + 0.4)
    clock.advance(0.5)
    fuser.on_weight_change(gain, shopping())
    clock.advance(0.5)
    t = clock.monotonic()
    mirror = WeightChange(-412.0, 5412.0, 5000.0, t, t)
    assert fuser.on_weight_change(mirror, shopping()) == []
    assert fuser.state.weights == ()
    assert _tick(fuser, clock, 10.0) == []


def test_a_sku_label_names_its_product(demo_catalog: Catalog, clock: FakeClock) -> None:
    # Stores enrol products under their SKU; the crispbread has no other recognition label.
    fuser = make_fuser(demo_catalog, clock)
    fuser.on_observation(seen(("S-CRISPBREAD", 0.97), t=clock.monotonic()), shopping())
    assert _weigh(fuser, clock, 546.0) == [("confirm", "add", "S-CRISPBREAD", 1, 0.0, None)]


def test_a_pack_seen_with_produce_is_not_charged_as_produce(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    # Apples and a tub of oatghurt went in together, seen as one track.
    fuser = make_fuser(demo_catalog, clock)
    obs = seen(("Granny-Smith", 0.55), ("Oatly-Natural-Oatghurt", 0.2), t=clock.monotonic())
    fuser.on_observation(obs, shopping())
    out = _weigh(fuser, clock, 582.8 + 1040.0) + _tick(fuser, clock, 3.0)
    (ask,) = out
    assert ask[0] == "ask" and ask[1] == "weigh_separately"
    choices = ask[2]
    assert isinstance(choices, tuple)
    assert any(str(c).startswith("D-OATGHURT+FV-APPLE-GRANNY@") for c in choices)


def test_a_scanned_label_that_disagrees_is_asked_about(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    # The gum's barcode, stuck on a tub of sour cream, is scanned; the camera sees sour cream.
    fuser = make_fuser(demo_catalog, clock)
    fuser.on_scan(barcode(GUM_GTIN), shopping())
    clock.advance(1.0)
    fuser.on_observation(seen(("Arla-Sour-Cream", 0.8), t=clock.monotonic()), shopping())
    out = _weigh(fuser, clock, 321.0) + _tick(fuser, clock, 6.0)
    assert [c[:2] for c in out] == [("ask", "barcode_mismatch")]
    assert not [c for c in out if c[0] == "confirm"]


def test_own_things_are_known_again_after_a_restart(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    restored = replace(shopping(), tare_g=85.0)
    fuser = make_fuser(demo_catalog, clock)  # a new fuser: the cart restarted
    fuser.tick(clock.monotonic(), restored)
    bag_out = ItemObservation("cam1", OUT, (), None, clock.monotonic())
    fuser.on_observation(bag_out, restored)
    commands = fuser.on_weight_change(weighed(-85.0, clock.monotonic()), restored)
    commands += fuser.tick(clock.monotonic() + 5.0, restored)
    assert not [c for c in commands if isinstance(c, Ask | Confirm | Tare)]


def test_a_prompt_nobody_answers_goes_to_staff(demo_catalog: Catalog, clock: FakeClock) -> None:
    fuser = make_fuser(demo_catalog, clock)
    (ask,) = [c for c in _weigh(fuser, clock, 777.0) + _tick(fuser, clock, 4.0)]
    assert ask[:2] == ("ask", "unseen_item")
    pending = PendingPrompt("p1", "unseen_item", tuple(ask[2]), 0.0)  # type: ignore[arg-type]
    basket = replace(shopping(), pending_prompts=(pending,))
    fuser.tick(clock.monotonic(), basket)  # the engine applied the prompt
    clock.advance(fuser.settings.prompt_timeout_s + 1.0)
    commands = [summary(c) for c in fuser.tick(clock.monotonic(), basket)]
    assert commands[0] == ("answer", "p1", "timeout", "timeout")
    assert commands[1][:2] == ("ask", "staff_needed")


def test_a_unit_product_taken_for_produce_is_asked_about(
    demo_catalog: Catalog, clock: FakeClock
) -> None:
    # The camera takes a pepper (sold per piece) for tomatoes (sold by weight); the reading is
    # one pepper's. Charging tomatoes by the kilo for it would be silent and wrong.
    fuser = make_fuser(demo_catalog, clock)
    obs = seen(("Regular-Tomato", 0.88), ("Red-Bell-Pepper", 0.12), t=clock.monotonic())
    fuser.on_observation(obs, shopping())
    out = _weigh(fuser, clock, 212.0) + _tick(fuser, clock, 3.0)
    assert [c[:2] for c in out] == [("ask", "weigh_separately")]
