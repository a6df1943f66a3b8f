"""Fusion's named settings, with their documented defaults (see ``docs/fusion.md``).

The first five, and those :meth:`FusionSettings.from_config` copies, mirror ``[fusion]`` in the
configuration file (:class:`FusionConfig`) by name and default; the rest are the model's
constants. They are settings rather than literals so that the
benchmark can tune them and a store can adjust them without a code change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from cart_app.config.schema import FusionConfig


@dataclass(frozen=True, slots=True)
class FusionSettings:
    """Every number fusion decides with. Times are seconds, weights grams."""

    pairing_window_s: float = 3.0
    """An observation and a weight change this close in time are paired."""
    prompt_timeout_s: float = 45.0
    """How long a prompt waits for the shopper before staff are flagged."""
    min_confirm_probability: float = 0.97
    """Posterior an outcome needs to be confirmed without asking."""
    default_weight_tolerance_g: float = 10.0
    """Tolerance (a ±band, see ``tolerance_sigmas``) of products whose catalog gives none."""
    weight_tolerance_ratio: float = 0.01
    """Extra tolerance band as a fraction of the expected weight (scale and pack variation)."""

    tolerance_sigmas: float = 3.0
    """A catalog tolerance is read as this many standard deviations (±3σ covers 99.7 %)."""
    fit_sigmas: float = 3.0
    """A weight fits a hypothesis when it is within this many combined σ of the expectation."""
    scale_sigma_g: float = 1.5
    """Standard deviation of a settled weight change from the load cells alone."""
    max_units_per_change: int = 12
    """Most units of one product searched for in one weight change."""
    min_per_kg_weight_g: float = 10.0
    """Lightest weighing accepted for a product sold by weight."""
    max_per_kg_weight_g: float = 15_000.0
    """Heaviest weighing accepted for a product sold by weight."""
    min_per_kg_piece_fraction: float = 0.5
    """A per-kg weighing must reach this share of a small piece (nominal − tolerance)."""
    label_weight_tolerance_g: float = 15.0
    """Band between a weight label's net weight and the cart's reading (packaging, scales)."""
    observation_grace_s: float = 1.0
    """How long an undecided weight change waits for late observations before fusion asks
    (a decisive verdict is carried out at once)."""
    count_grace_s: float = 0.0
    """How long a decisive quantity the weight alone vouches for (n units seen as one) waits
    for a late observation of another item (see ``docs/fusion.md``, "Pairing and timing")."""
    staff_prompt_timeout_s: float = 600.0
    """Deadline of the staff prompt that replaces a prompt the shopper let time out."""

    vision_other_floor: float = 0.02
    """Least probability that an item is none of the recogniser's candidates."""
    vision_veto_probability: float = 0.3
    """A candidate this likely, seen going the change's way, must be in a silent outcome."""
    unknown_weight_factor: float = 0.01
    """Weight factor of "an item none of the candidates", relative to a perfect fit (1)."""
    barcode_confidence: float = 0.999
    """Probability that a decoded product barcode names the item it was read from."""
    placed_given_into: float = 0.99
    """Probability that an item seen going the change's way (in, or out) caused it."""
    placed_given_unknown: float = 0.5
    """Same, for an item whose direction vision could not tell (and handheld scans)."""
    placed_given_held: float = 0.1
    """Same, for an item vision saw held over the basket."""
    max_candidates: int = 4
    """Recogniser candidates considered per observation."""
    max_group_observations: int = 3
    """Observations considered with one weight change (the closest in time)."""
    max_choices: int = 4
    """Product choices offered in one prompt (besides scan, show and "not mine")."""
    two_in_one_prior: float = 0.05
    """Probability that one track held two different items (put in together)."""
    absorbed_candidate_probability: float = 0.1
    """A pack this likely, seen with a product sold by weight whose weighing has room for it,
    is asked about rather than charged as produce."""
    per_kg_vision_probability: float = 0.5
    """Least camera probability for charging a product sold by weight: its weighing says
    nothing of what it is, so its identity rests on the camera (or a label) alone."""
    weight_count_probability: float = 0.9
    """More units of a product than the cameras saw are counted by the weight only when the
    product itself is at least this likely (its barcode, or the recogniser)."""
    unsold_veto_probability: float = 0.1
    """A candidate label the store does not sell (``own-bag``) at least this likely, on an item
    going in, means no product is charged without asking."""
    own_bag_probability: float = 0.9
    """An item the recogniser calls the shopper's own bag (label ``own-bag``) at least this
    likely, going in, is tared without asking (when it weighs no more than ``own_bag_max_g``)."""
    own_bag_max_g: float = 400.0
    """Heaviest gain tared as an empty bag without asking: a heavier "bag" holds something."""
    agreeing_min_probability: float = 0.8
    """Tracks of one change whose best candidate is the same product, each at least this
    likely, are taken as units or parts of one kind of item (see ``pool_agreeing``). At 0.5
    a natural and a vanilla yoghurt put in together, both seen as natural (0.95 and 0.69),
    were charged as two natural yoghurts."""
    agreeing_view_weight: float = 0.5
    """What each further agreeing track adds to the surest one's evidence, as a share of its
    own log-odds (0: nothing, 1: an independent look). Tracks of one bunch look alike, so they
    count for less than independent looks."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(f"fusion setting {f.name} must be a finite number")
        positive = (
            "pairing_window_s",
            "prompt_timeout_s",
            "tolerance_sigmas",
            "fit_sigmas",
            "scale_sigma_g",
            "max_per_kg_weight_g",
            "staff_prompt_timeout_s",
            "unknown_weight_factor",
            "max_units_per_change",
            "max_candidates",
            "max_group_observations",
            "max_choices",
            "own_bag_max_g",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ValueError(f"fusion setting {name} must be positive")
        not_negative = (
            "default_weight_tolerance_g",
            "weight_tolerance_ratio",
            "min_per_kg_weight_g",
            "label_weight_tolerance_g",
            "observation_grace_s",
            "count_grace_s",
            "min_per_kg_piece_fraction",
            "agreeing_view_weight",
        )
        for name in not_negative:
            if getattr(self, name) < 0:
                raise ValueError(f"fusion setting {name} must not be negative")
        probabilities = (
            "min_confirm_probability",
            "vision_other_floor",
            "vision_veto_probability",
            "barcode_confidence",
            "placed_given_into",
            "placed_given_unknown",
            "placed_given_held",
            "two_in_one_prior",
            "absorbed_candidate_probability",
            "own_bag_probability",
            "weight_count_probability",
            "unsold_veto_probability",
            "per_kg_vision_probability",
            "agreeing_min_probability",
        )
        for name in probabilities:
            if not 0 < getattr(self, name) < 1:
                raise ValueError(f"fusion setting {name} must be between 0 and 1 (exclusive)")
        if self.agreeing_view_weight > 1:
            raise ValueError("agreeing_view_weight must be at most 1 (an independent look)")
        if self.min_per_kg_weight_g >= self.max_per_kg_weight_g:
            raise ValueError("min_per_kg_weight_g must be below max_per_kg_weight_g")

    @classmethod
    def from_config(cls, config: FusionConfig, **overrides: Any) -> FusionSettings:
        """Settings from the ``[fusion]`` table; the model constants keep their defaults."""
        base = cls(
            pairing_window_s=config.pairing_window_s,
            prompt_timeout_s=config.prompt_timeout_s,
            min_confirm_probability=config.min_confirm_probability,
            default_weight_tolerance_g=config.default_weight_tolerance_g,
            weight_tolerance_ratio=config.weight_tolerance_ratio,
            observation_grace_s=config.observation_grace_s,
            count_grace_s=config.count_grace_s,
            scale_sigma_g=config.scale_sigma_g,
            fit_sigmas=config.fit_sigmas,
            tolerance_sigmas=config.tolerance_sigmas,
            label_weight_tolerance_g=config.label_weight_tolerance_g,
            vision_veto_probability=config.vision_veto_probability,
            max_units_per_change=config.max_units_per_change,
            staff_prompt_timeout_s=config.staff_prompt_timeout_s,
        )
        return replace(base, **overrides) if overrides else base
