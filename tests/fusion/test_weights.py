"""The weight model: spreads, fits and quantities."""

from __future__ import annotations

import math

import pytest

from cart_app.catalog import MIN_WEIGHING_SAMPLES, Catalog
from cart_app.config.schema import FusionConfig
from cart_app.domain import PricingMode, Product
from cart_app.fusion import FusionSettings
from cart_app.fusion.weights import (
    UnitWeight,
    best_quantity,
    fit,
    per_kg_in_bounds,
    per_kg_min_weight,
    reading_sigma,
    unit_weight,
    units_fit,
)

S = FusionSettings()


def product(tolerance: float = 12.0) -> Product:
    return Product("X", "x", (), 100, PricingMode.PER_UNIT, 300.0, tolerance)


def test_catalog_tolerance_is_three_sigma_until_weighings_are_learnt(demo_catalog: Catalog) -> None:
    milk = demo_catalog.by_sku("D-MILK-STD")
    assert milk is not None
    unit = unit_weight(milk, demo_catalog.weight_model(milk.sku), S)
    assert unit == UnitWeight(1060.0, 10.0 / 3, learnt=False)
    for grams in [1058.0, 1062.0] * (MIN_WEIGHING_SAMPLES // 2):
        demo_catalog.record_weighing(milk.sku, grams)
    learnt = unit_weight(milk, demo_catalog.weight_model(milk.sku), S)
    assert learnt.learnt and learnt.mean_g == pytest.approx(1060.0)
    assert learnt.sigma_g == pytest.approx(math.sqrt(4 * 10 / 9))


def test_missing_tolerance_uses_the_default() -> None:
    assert unit_weight(product(0.0), None, S).sigma_g == pytest.approx(10.0 / 3)


def test_reading_sigma_adds_scale_noise_and_ratio_in_quadrature() -> None:
    settings = FusionSettings(scale_sigma_g=2.0, weight_tolerance_ratio=0.03)
    sigma = reading_sigma(1000.0, 9.0, settings)
    assert sigma == pytest.approx(math.sqrt(9.0 + 4.0 + (0.03 * 1000 / 3) ** 2))


def test_weight_factor_is_flat_inside_the_band_and_falls_outside() -> None:
    inside = fit(310.0, 300.0, 16.0, S)
    assert inside.fits(S) and inside.factor(S) == 1.0
    outside = fit(300.0 + 4.5 * reading_sigma(300.0, 16.0, S), 300.0, 16.0, S)
    assert not outside.fits(S)
    assert outside.factor(S) == pytest.approx(math.exp(-0.5 * (4.5**2 - 3.0**2)))


@pytest.mark.parametrize(("units", "noise"), [(1, 0.0), (2, 9.0), (3, -14.0), (7, 20.0)])
def test_best_quantity_finds_the_unit_count(units: int, noise: float) -> None:
    unit = UnitWeight(300.0, 4.0)
    found = best_quantity(units * 300.0 + noise, unit, S)
    assert found is not None and found[0] == units


def test_no_quantity_fits_between_counts() -> None:
    assert best_quantity(450.0, UnitWeight(300.0, 4.0), S) is None
    assert not units_fit(450.0, UnitWeight(300.0, 4.0), 1, S).fits(S)


def test_per_kg_bounds(demo_catalog: Catalog) -> None:
    assert per_kg_in_bounds(S.min_per_kg_weight_g, S)
    assert not per_kg_in_bounds(S.min_per_kg_weight_g - 1, S)
    assert not per_kg_in_bounds(S.max_per_kg_weight_g + 1, S)
    apples = demo_catalog.by_sku("FV-APPLE-GRANNY")  # a piece is 180 ± 25 g
    assert per_kg_min_weight(apples, S) == pytest.approx(0.5 * (180 - 25))
    assert not per_kg_in_bounds(40.0, S, apples)
    assert per_kg_in_bounds(90.0, S, apples)


def test_settings_mirror_the_configuration() -> None:
    config = FusionConfig(pairing_window_s=2.0, min_confirm_probability=0.95)
    settings = FusionSettings.from_config(config, scale_sigma_g=0.5)
    assert settings.pairing_window_s == 2.0
    assert settings.min_confirm_probability == 0.95
    assert settings.scale_sigma_g == 0.5
    assert settings.prompt_timeout_s == config.prompt_timeout_s
    assert settings.weight_tolerance_ratio == config.weight_tolerance_ratio
    assert settings.default_weight_tolerance_g == config.default_weight_tolerance_g
    defaults = FusionSettings.from_config(FusionConfig())
    assert defaults == FusionSettings()


@pytest.mark.parametrize(
    "bad",
    [
        {"fit_sigmas": 0.0},
        {"min_confirm_probability": 1.0},
        {"scale_sigma_g": float("nan")},
        {"min_per_kg_weight_g": 20_000.0},
        {"weight_tolerance_ratio": -0.1},
    ],
)
def test_settings_refuse_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"fusion setting|min_per_kg"):
        FusionSettings(**bad)  # type: ignore[arg-type]
