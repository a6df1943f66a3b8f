"""Properties of fusion over random insertions of demo-catalog products.

- A product seen confidently, weighing what its model allows for its quantity, is confirmed
  with the right quantity: no prompt, no other product.
- A weight that fits no quantity of what vision saw (a swap) is never silently confirmed, and
  no confirm fusion sends is for a product whose weight does not fit.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cart_app.catalog import Catalog
from cart_app.clock import FakeClock
from cart_app.domain import PricingMode, Product
from cart_app.events import ChangeKind, Confirm
from cart_app.fusion import FusionSettings
from cart_app.fusion.weights import (
    per_kg_in_bounds,
    per_kg_min_weight,
    unit_weight,
    units_fit,
)
from cart_app.store_layout import demo_store_dir
from tests.fusion.helpers import Obs, Timeline, Weigh, make_fuser, seen, shopping

_DIR = Path(tempfile.mkdtemp(prefix="smartcart-fusion-props-"))
_CATALOG = Catalog.open(_DIR / "catalog.sqlite3")
_CATALOG.import_json(demo_store_dir() / "catalog.json")
_SETTINGS = FusionSettings()
_SEEN = [p for p in _CATALOG.products() if p.labels and not p.too_light_for_scale]
_UNIT = [p for p in _SEEN if p.pricing_mode is PricingMode.PER_UNIT]
_PROPS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@st.composite
def vision(draw: st.DrawFn, product: Product, top_low: float) -> tuple[tuple[str, float], ...]:
    """A calibrated candidate list whose top-1 is ``product``."""
    top = draw(st.floats(top_low, 0.995))
    others = draw(
        st.lists(
            st.sampled_from([p for p in _SEEN if p.sku != product.sku]),
            max_size=3,
            unique_by=lambda p: p.sku,
        )
    )
    rest = 1.0 - top
    shares = draw(st.lists(st.floats(0.0, 1.0), min_size=len(others), max_size=len(others)))
    total = sum(shares) or 1.0
    spread = rest * draw(st.floats(0.5, 1.0))  # the recogniser keeps some mass for "unknown"
    candidates = [(product.labels[0], top)]
    candidates += [
        (p.labels[0], min(spread * s / total, 0.99 * top))
        for p, s in zip(others, shares, strict=True)
    ]
    return tuple(candidates)


def fits(confirm: Confirm, delta_g: float) -> bool:
    product = _CATALOG.by_sku(confirm.sku)
    assert product is not None
    if product.pricing_mode is PricingMode.PER_KG:
        return per_kg_in_bounds(confirm.weight_g, _SETTINGS, product) and math.isclose(
            confirm.weight_g, delta_g
        )
    unit = unit_weight(product, _CATALOG.weight_model(product.sku), _SETTINGS)
    return units_fit(delta_g, unit, confirm.quantity, _SETTINGS).fits(_SETTINGS)


def run(candidates: tuple[tuple[str, float], ...], delta_g: float) -> list[Confirm | object]:
    clock = FakeClock()
    timeline = Timeline(make_fuser(_CATALOG, clock), clock, shopping())
    return list(timeline.play([Obs(0.0, seen(*candidates)), Weigh(0.3, delta_g)], until=8.0))


@_PROPS
@given(data=st.data(), product=st.sampled_from(_SEEN), units=st.integers(1, 4))
def test_confident_vision_and_a_fitting_weight_confirm(
    data: st.DataObject, product: Product, units: int
) -> None:
    candidates = data.draw(vision(product, 0.985))
    if product.pricing_mode is PricingMode.PER_KG:
        units = 1
        delta = data.draw(st.floats(per_kg_min_weight(product, _SETTINGS), 5_000.0))
    else:
        # Noise anywhere in the catalog's tolerance band of that many units.
        noise = data.draw(st.floats(-1.0, 1.0)) * product.weight_tolerance_g * math.sqrt(units)
        delta = units * product.nominal_weight_g + noise
    commands = run(candidates, delta)
    assert len(commands) == 1, commands
    (confirm,) = commands
    assert isinstance(confirm, Confirm), confirm
    assert (confirm.kind, confirm.sku) == (ChangeKind.ADD, product.sku)
    if product.pricing_mode is PricingMode.PER_KG:
        assert confirm.weight_g == delta
    else:
        assert confirm.quantity == units


@_PROPS
@given(data=st.data(), product=st.sampled_from(_UNIT), delta=st.floats(20.0, 8_000.0))
def test_a_weight_that_does_not_fit_is_never_charged(
    data: st.DataObject, product: Product, delta: float
) -> None:
    unit = unit_weight(product, _CATALOG.weight_model(product.sku), _SETTINGS)
    assume(
        not any(
            units_fit(delta, unit, n, _SETTINGS).fits(_SETTINGS)
            for n in range(1, _SETTINGS.max_units_per_change + 1)
        )
    )
    candidates = data.draw(vision(product, 0.3))
    commands = run(candidates, delta)
    # What vision saw does not weigh this: a swap or a misread. Fusion asks; it never charges
    # the seen product, nor a weaker candidate in its place.
    assert not [c for c in commands if isinstance(c, Confirm)], commands


@_PROPS
@given(
    data=st.data(),
    product=st.sampled_from(_SEEN),
    delta=st.floats(5.0, 8_000.0),
    top=st.floats(0.05, 0.995),
)
def test_every_confirm_fits_its_weight(
    data: st.DataObject, product: Product, delta: float, top: float
) -> None:
    candidates = data.draw(vision(product, top))
    for command in run(candidates, delta):
        if isinstance(command, Confirm):
            assert fits(command, delta), (command, delta)
