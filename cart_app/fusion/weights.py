"""What a weight change says about a hypothesis: expected weights, spreads and fits.

A hypothesis predicts a weight ``E`` with a variance ``V`` that comes from the products' own
spread (learnt from confirmed weighings, else the catalog tolerance read as
``tolerance_sigmas`` standard deviations). The scale adds its own noise and a term proportional
to the expected weight (``weight_tolerance_ratio``, also a ±band), so the combined standard
deviation of a reading is::

    σ² = V + scale_sigma_g² + (weight_tolerance_ratio × E / tolerance_sigmas)²

A reading ``w`` *fits* when ``|z| = |w − E| / σ ≤ fit_sigmas``. The weight factor of a
hypothesis is 1 inside that band and falls off as the Gaussian does outside it,
``exp(−(z² − fit_sigmas²)/2)``, continuous at the band's edge. Inside the band the weight is a
check, not a vote: the catalog's tolerance says every weight in it is normal for the product,
so which of several fitting products it is, is for the camera and the barcode to say, and a
precise model must not outvote the camera against a product sold by weight, whose weighing
says nothing of its identity. Just outside the band a near miss keeps some weight, so that it
still blocks a weaker candidate from being confirmed in its place (``docs/fusion.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cart_app.catalog import WeightModel
from cart_app.domain import PricingMode, Product
from cart_app.fusion.settings import FusionSettings


@dataclass(frozen=True, slots=True)
class UnitWeight:
    """One unit's expected weight and standard deviation, and whether they were learnt."""

    mean_g: float
    sigma_g: float
    learnt: bool = False


@dataclass(frozen=True, slots=True)
class Fit:
    """How well a reading matches an expectation."""

    expected_g: float
    sigma_g: float
    z: float

    def factor(self, settings: FusionSettings) -> float:
        """The weight factor: 1 inside the fit band, the Gaussian's own fall beyond it."""
        excess = self.z * self.z - settings.fit_sigmas * settings.fit_sigmas
        return 1.0 if excess <= 0 else math.exp(-0.5 * excess)

    def fits(self, settings: FusionSettings) -> bool:
        """Whether the reading is within ``fit_sigmas`` of the expectation."""
        return abs(self.z) <= settings.fit_sigmas


def unit_weight(
    product: Product, model: WeightModel | None, settings: FusionSettings
) -> UnitWeight:
    """The weight model of one unit of a per-unit product.

    Learnt values (from ``MIN_WEIGHING_SAMPLES`` confirmed weighings on) are a measured mean and
    standard deviation, so they are used as they are; otherwise the catalog's tolerance is a
    ±band and is divided by ``tolerance_sigmas``.
    """
    tolerance = product.weight_tolerance_g
    if tolerance <= 0:
        tolerance = settings.default_weight_tolerance_g
    if model is not None and model.learnt_mean_g is not None and model.learnt_spread_g is not None:
        return UnitWeight(model.learnt_mean_g, model.learnt_spread_g, learnt=True)
    nominal = model.nominal_g if model is not None else product.nominal_weight_g
    if model is not None and model.tolerance_g > 0:
        tolerance = model.tolerance_g
    return UnitWeight(nominal, tolerance / settings.tolerance_sigmas)


def reading_sigma(expected_g: float, variance_g2: float, settings: FusionSettings) -> float:
    """Combined standard deviation of a reading expected to be ``expected_g``."""
    ratio_sigma = settings.weight_tolerance_ratio * abs(expected_g) / settings.tolerance_sigmas
    return math.sqrt(max(variance_g2, 0.0) + settings.scale_sigma_g**2 + ratio_sigma**2)


def fit(observed_g: float, expected_g: float, variance_g2: float, settings: FusionSettings) -> Fit:
    """The fit of a reading to an expectation with the products' own variance."""
    sigma = reading_sigma(expected_g, variance_g2, settings)
    return Fit(expected_g, sigma, (observed_g - expected_g) / sigma)


def units_fit(observed_g: float, unit: UnitWeight, quantity: int, settings: FusionSettings) -> Fit:
    """The fit of a reading to ``quantity`` units (independent spreads add as variances)."""
    return fit(observed_g, quantity * unit.mean_g, quantity * unit.sigma_g**2, settings)


def per_kg_min_weight(product: Product | None, settings: FusionSettings) -> float:
    """The lightest plausible weighing of a product sold by weight.

    Its catalog weight is a typical piece and the tolerance a ±band, so ``nominal − tolerance``
    is a small piece; less than ``min_per_kg_piece_fraction`` of that is no weighing of it.
    """
    floor = settings.min_per_kg_weight_g
    if product is None:
        return floor
    small_piece = max(product.nominal_weight_g - product.weight_tolerance_g, 0.0)
    return max(floor, settings.min_per_kg_piece_fraction * small_piece)


def per_kg_in_bounds(
    weight_g: float, settings: FusionSettings, product: Product | None = None
) -> bool:
    """Whether a weighing is plausible for a product sold by weight."""
    return per_kg_min_weight(product, settings) <= weight_g <= settings.max_per_kg_weight_g


def label_fit(observed_g: float, label_g: float, settings: FusionSettings) -> Fit:
    """The fit of a reading to the net weight printed on a weight label."""
    band = settings.label_weight_tolerance_g / settings.tolerance_sigmas
    return fit(observed_g, label_g, band * band, settings)


def best_quantity(
    observed_g: float, unit: UnitWeight, settings: FusionSettings, max_units: int | None = None
) -> tuple[int, Fit] | None:
    """The unit count that fits the reading best, or None when no count fits."""
    limit = settings.max_units_per_change if max_units is None else max_units
    best: tuple[int, Fit] | None = None
    for quantity in range(1, max(limit, 0) + 1):
        candidate = units_fit(observed_g, unit, quantity, settings)
        if best is None or abs(candidate.z) < abs(best[1].z):
            best = (quantity, candidate)
    if best is None or not best[1].fits(settings):
        return None
    return best


def is_per_kg(product: Product) -> bool:
    """Whether the product's quantity is its weight."""
    return product.pricing_mode is PricingMode.PER_KG
