"""Several tracks naming the same product first: units or parts of one bunch, pooled."""

from __future__ import annotations

import math

import pytest

from cart_app.catalog import Catalog
from cart_app.clock import FakeClock
from cart_app.events import Ask, ChangeKind, Confirm
from cart_app.fusion import prompts as reasons
from cart_app.fusion.book import ProductBook
from cart_app.fusion.settings import FusionSettings
from cart_app.fusion.views import ObservationView, pool_agreeing, view_observation
from tests.fusion.helpers import UNKNOWN, Obs, Timeline, Weigh, make_fuser, seen, shopping

POOLING_OFF = FusionSettings(agreeing_view_weight=0.0)


def _play(
    catalog: Catalog, *events: Obs | Weigh, settings: FusionSettings | None = None
) -> list[object]:
    clock = FakeClock()
    fuser = make_fuser(catalog, clock, settings)
    return list(Timeline(fuser, clock, shopping()).play(list(events)))


def _views(catalog: Catalog, *tracks: tuple[tuple[str, float], ...]) -> list[ObservationView]:
    book = ProductBook(catalog, FusionSettings())
    return [
        view_observation(seen(*track), ChangeKind.ADD, book, FusionSettings()) for track in tracks
    ]


TOMATO_BUNCH = (
    Obs(0.0, seen(("Regular-Tomato", 0.97), ("Red-Bell-Pepper", 0.02))),
    Obs(0.0, seen(("Regular-Tomato", 0.95), ("Royal-Gala", 0.02))),
    Obs(0.0, seen(("Regular-Tomato", 0.97), ("Lime", 0.02))),
    Weigh(0.2, 325.0),
)


def test_a_bunch_seen_as_several_tracks_is_charged_without_asking(
    demo_catalog: Catalog,
) -> None:
    commands = _play(demo_catalog, *TOMATO_BUNCH)
    assert not [c for c in commands if isinstance(c, Ask)], commands
    (confirm,) = [c for c in commands if isinstance(c, Confirm)]
    assert confirm.sku == "FV-TOMATO"
    assert confirm.weight_g == pytest.approx(325.0)
    # Taken as three independent items, the tails (a pepper, an apple, a lime among the
    # tomatoes) left the bunch 11 % unsure, and the cart asked.
    unpooled = _play(demo_catalog, *TOMATO_BUNCH, settings=POOLING_OFF)
    assert not [c for c in unpooled if isinstance(c, Confirm)]
    assert [c for c in unpooled if isinstance(c, Ask)]


def test_units_of_one_product_in_several_tracks_are_counted_by_weight(
    demo_catalog: Catalog,
) -> None:
    commands = _play(
        demo_catalog,
        Obs(0.0, seen(("Avocado", 0.87), ("Lime", 0.03))),
        Obs(0.0, seen(("Avocado", 0.99), ("Granny-Smith", 0.005))),
        Obs(0.0, seen(("Avocado", 0.99), ("Lime", 0.005))),
        Weigh(0.2, 603.0),
    )
    assert not [c for c in commands if isinstance(c, Ask)], commands
    (confirm,) = [c for c in commands if isinstance(c, Confirm)]
    assert (confirm.sku, confirm.quantity) == ("FV-AVOCADO", 3)


def test_two_look_alikes_both_seen_as_one_of_them_are_asked_about(
    demo_catalog: Catalog,
) -> None:
    """A natural and a vanilla yoghurt put in together, both tracks giving natural first (0.95
    and 0.69): at ``agreeing_min_probability`` 0.5 the two pooled to 0.97 and were charged as
    two natural yoghurts (trip 441 of the 1,000-trip benchmark). A track under 0.8 pools
    nothing."""
    yoghurts = (
        Obs(0.0, seen(("Arla-Natural-Yoghurt", 0.954), ("Oatly-Natural-Oatghurt", 0.03))),
        Obs(0.0, seen(("Arla-Natural-Yoghurt", 0.69), ("Oatly-Natural-Oatghurt", 0.143))),
        Weigh(0.2, 2072.3),
    )
    commands = _play(demo_catalog, *yoghurts)
    assert not [c for c in commands if isinstance(c, Confirm)]
    (ask,) = [c for c in commands if isinstance(c, Ask)]
    assert ask.reason == reasons.AMBIGUOUS_ITEM
    lenient = _play(demo_catalog, *yoghurts, settings=FusionSettings(agreeing_min_probability=0.5))
    (wrong,) = [c for c in lenient if isinstance(c, Confirm)]
    assert (wrong.sku, wrong.quantity) == ("D-YOGHURT-NAT", 2)


def test_no_pooling_when_a_track_was_left_out_of_the_group(demo_catalog: Catalog) -> None:
    """A bag of Galas seen as four tracks, the farthest in time Gala, three Pink Lady: only the
    closest three (``max_group_observations``) are scored. Pooled, the three charged the bag as
    Pink Lady (trip 898 of the 1,000-trip benchmark, with Pink Lady at 0.94, 0.75, 0.72); the
    left-out track disagreed."""
    galas = (
        Obs(0.0, seen(("Royal-Gala", 0.637), ("Pink-Lady", 0.350), direction=UNKNOWN)),
        Obs(0.25, seen(("Pink-Lady", 0.944), ("Royal-Gala", 0.055), direction=UNKNOWN)),
        Obs(0.25, seen(("Pink-Lady", 0.86), ("Royal-Gala", 0.13), direction=UNKNOWN)),
        Obs(0.5, seen(("Pink-Lady", 0.83), ("Royal-Gala", 0.16), direction=UNKNOWN)),
        Weigh(0.7, 893.65),
    )
    commands = _play(demo_catalog, *galas)
    assert not [c for c in commands if isinstance(c, Confirm)], commands
    (ask,) = [c for c in commands if isinstance(c, Ask)]
    assert "FV-APPLE-GALA@893.65" in ask.choices
    # The three Pink Lady tracks alone (no fourth) do pool, and are charged.
    alone = _play(demo_catalog, *galas[1:])
    (confirm,) = [c for c in alone if isinstance(c, Confirm)]
    assert confirm.sku == "FV-APPLE-PINK"


def test_pooled_probability_follows_the_log_odds(demo_catalog: Catalog) -> None:
    views = _views(
        demo_catalog,
        (("Regular-Tomato", 0.9), ("Red-Bell-Pepper", 0.05)),
        (("Regular-Tomato", 0.8), ("Red-Bell-Pepper", 0.1)),
    )
    pooled = pool_agreeing(views, FusionSettings())
    odds = math.log(0.9 / 0.1) + 0.5 * math.log(0.8 / 0.2)
    expected = 1.0 / (1.0 + math.exp(-odds))
    tops = [view.masses[0] for view in pooled]
    assert all(sku == "FV-TOMATO" for sku, _ in tops)
    assert math.prod(m for _, m in tops) == pytest.approx(expected)
    # The rest of each track's mass keeps its proportions; the evidence (vision) is untouched.
    for before, after in zip(views, pooled, strict=True):
        rest_before = 1.0 - before.masses[0][1]
        rest_after = 1.0 - after.masses[0][1]
        assert after.masses[1][1] / rest_after == pytest.approx(before.masses[1][1] / rest_before)
        assert after.other / rest_after == pytest.approx(before.other / rest_before)
        assert after.vision == before.vision


@pytest.mark.parametrize(
    "tracks",
    [
        # one track alone
        ((("Regular-Tomato", 0.9),),),
        # best candidates differ
        ((("Regular-Tomato", 0.9),), (("Red-Bell-Pepper", 0.9),)),
        # one track unsure of its best candidate
        ((("Regular-Tomato", 0.9),), (("Regular-Tomato", 0.45), ("Red-Bell-Pepper", 0.4))),
        # a track with no candidates ("none of the products")
        ((("Regular-Tomato", 0.9),), ()),
    ],
)
def test_tracks_that_do_not_agree_pool_nothing(
    demo_catalog: Catalog, tracks: tuple[tuple[tuple[str, float], ...], ...]
) -> None:
    views = _views(demo_catalog, *tracks)
    assert pool_agreeing(views, FusionSettings()) == tuple(views)


def test_the_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="agreeing_view_weight"):
        FusionSettings(agreeing_view_weight=1.5)
    with pytest.raises(ValueError, match="agreeing_min_probability"):
        FusionSettings(agreeing_min_probability=1.0)
