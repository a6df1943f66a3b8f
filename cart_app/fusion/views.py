"""Observations as evidence: each one's product masses after the catalog and the barcode.

The vision mass is the recogniser's calibrated probability, summed over labels of the same
product; whatever the top candidates leave (at least ``vision_other_floor``) is "other". A
barcode that resolves to a product replaces the vision mass by ``barcode_confidence`` for that
product. How likely the item caused the change being explained depends on the direction vision
saw it go (:func:`placed_probability`). Several tracks that name the same product first pool
their evidence for it (:func:`pool_agreeing`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from cart_app.catalog import ScanMatch
from cart_app.events import ChangeKind
from cart_app.fusion.book import ProductBook
from cart_app.fusion.settings import FusionSettings
from vision.types import Direction, ItemObservation

SCANNER_CAMERA: Final = "scanner"
"""``camera_id`` of the observation a handheld scan becomes when no prompt is open."""


@dataclass(frozen=True, slots=True)
class ObservationView:
    """One observation as evidence: product masses after the catalog and the barcode."""

    observation: ItemObservation
    masses: tuple[tuple[str, float], ...]
    """(sku, mass) of its top products, best first; a barcode's product leads with its mass."""
    vision: tuple[tuple[str, float, str], ...]
    """(sku, recogniser probability, label) as seen, for evidence."""
    other: float
    """Mass of "none of these products"."""
    placed: float
    """Probability that its item caused the change being explained."""
    barcode: ScanMatch | None = None

    def mass(self, sku: str) -> float:
        """The mass of ``sku`` (0 when it is not among the top products)."""
        return next((m for s, m in self.masses if s == sku), 0.0)

    def seen(self, sku: str) -> tuple[float, str] | None:
        """The recogniser's probability and label for ``sku``, if it was a candidate."""
        return next(((p, label) for s, p, label in self.vision if s == sku), None)

    @property
    def top(self) -> tuple[str, float] | None:
        """The recogniser's most likely product and its probability, if any."""
        return (self.vision[0][0], self.vision[0][1]) if self.vision else None

    @property
    def unsold(self) -> tuple[str, float] | None:
        """The most likely candidate label that names nothing the store sells (a shopper's
        bag, a hand), with its probability: the camera's own word that the item may be none
        of the products."""
        sold = {label for _s, _p, label in self.vision}
        found = [c for c in self.observation.candidates if c.label not in sold]
        best = max(found, key=lambda c: c.probability, default=None)
        return (best.label, best.probability) if best is not None else None

    def claims(self, kind: ChangeKind) -> bool:
        """Whether vision saw this item go the way of the change (in for adds, out for removals)."""
        wanted = Direction.INTO if kind is ChangeKind.ADD else Direction.OUT_OF
        return self.observation.direction is wanted


def placed_probability(direction: Direction, kind: ChangeKind, settings: FusionSettings) -> float:
    """P(the item caused a change of this kind | the direction vision saw)."""
    wanted = Direction.INTO if kind is ChangeKind.ADD else Direction.OUT_OF
    if direction is wanted:
        return settings.placed_given_into
    if direction is Direction.HELD:
        return settings.placed_given_held
    if direction is Direction.UNKNOWN:
        return settings.placed_given_unknown
    # The opposite direction: such observations are not paired, but stay consistent if they are.
    return settings.placed_given_held * settings.placed_given_held


def view_observation(
    obs: ItemObservation,
    kind: ChangeKind,
    book: ProductBook,
    settings: FusionSettings,
    placed: float | None = None,
) -> ObservationView:
    """Resolve an observation's labels and barcode against the catalog."""
    probabilities = [min(max(c.probability, 0.0), 1.0) for c in obs.candidates]
    total = sum(probabilities)
    # A recogniser that is not calibrated may sum past 1; rescale so masses stay probabilities.
    scale = 1.0 / total if total > 1.0 else 1.0
    by_sku: dict[str, float] = {}
    labels: dict[str, str] = {}
    for candidate, p in zip(obs.candidates, probabilities, strict=True):
        product = book.by_label(candidate.label)
        if product is None or p <= 0:
            continue  # unknown labels ("hand", "bag", retired products) are "other" mass
        by_sku[product.sku] = by_sku.get(product.sku, 0.0) + p * scale
        labels.setdefault(product.sku, candidate.label)
    ranked = sorted(by_sku.items(), key=lambda kv: (-kv[1], kv[0]))[: settings.max_candidates]
    other = max(settings.vision_other_floor, 1.0 - sum(m for _, m in ranked))
    vision = tuple((sku, m, labels[sku]) for sku, m in ranked)
    barcode = None
    if obs.barcode is not None and obs.barcode.gtin is not None:
        barcode = book.resolve(obs.barcode.gtin)
    masses = tuple(ranked)
    if barcode is not None:
        # A verified GTIN is near-certain: it overrides the recogniser rather than joining it.
        doubt = 1.0 - settings.barcode_confidence
        b = barcode.product.sku
        others = tuple((sku, m * doubt) for sku, m in ranked if sku != b)
        masses = ((b, settings.barcode_confidence), *others)
        other *= doubt
    p_placed = placed if placed is not None else placed_probability(obs.direction, kind, settings)
    return ObservationView(obs, masses, vision, other, p_placed, barcode)


def pool_agreeing(
    views: Sequence[ObservationView], settings: FusionSettings
) -> tuple[ObservationView, ...]:
    """Several tracks whose best candidate is one product: their evidence for it pooled.

    Three tomatoes of one bunch, seen as three tracks at 0.97, 0.95 and 0.97, are 11 % likely
    to hold something else between them when the tracks are taken as independent items (a
    pepper among the tomatoes, a lime beside them), and the cart asked about every such bunch.
    Tracks that all name the same product first are units or parts of one kind of item far
    more often than independent draws, so their log-odds for it are pooled: the surest track's
    in full, each further one's at ``agreeing_view_weight``. Each track then holds its share
    of the pooled probability (the n-th root, so that all of them together hold it), and the
    rest of its mass keeps its proportions. Tracks unsure of their best candidate (under
    ``agreeing_min_probability``), a track with no candidates, or a disagreeing one, pool
    nothing; a barcode already leads its track's masses with its product.
    """
    if len(views) < 2 or settings.agreeing_view_weight <= 0 or not all(v.masses for v in views):
        return tuple(views)
    sku = views[0].masses[0][0]
    tops = [view.masses[0] for view in views]
    if any(s != sku or p < settings.agreeing_min_probability for s, p in tops):
        return tuple(views)
    probabilities = sorted((min(p, _SURE) for _, p in tops), reverse=True)
    log_odds = [math.log(p / (1.0 - p)) for p in probabilities]
    pooled_log_odds = log_odds[0] + settings.agreeing_view_weight * sum(log_odds[1:])
    pooled = min(_SURE, 1.0 / (1.0 + math.exp(-pooled_log_odds)))
    share = pooled ** (1.0 / len(views))
    pooled_views = []
    for view in views:
        mass = view.masses[0][1]
        if share <= mass:
            pooled_views.append(view)
            continue
        scale = (1.0 - share) / (1.0 - mass)
        masses = ((sku, share), *((other, m * scale) for other, m in view.masses[1:]))
        pooled_views.append(replace(view, masses=masses, other=view.other * scale))
    return tuple(pooled_views)


_SURE: Final = 1.0 - 1e-6
"""Probabilities are capped below 1 so that their log-odds stay finite."""
