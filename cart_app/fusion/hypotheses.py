"""Hypotheses for one weight change and the observations paired with it, and their posterior.

A *hypothesis* says, for every paired observation, which product it shows (or that it shows
something outside the candidates, "other", or that its item did not cause this change, "not
placed"), and how many units of each product the weight holds. Its score is::

    score = Π over observations (vision mass of its product × P(placed | direction)
                                 or P(not placed | direction))
            × weight factor

The vision mass is the recogniser's calibrated probability, summed over labels of the same
product; whatever the top candidates leave (at least ``vision_other_floor``) is "other". A
barcode that resolves to a product replaces the vision mass by ``barcode_confidence`` for that
product. The weight factor is 1 when the reading fits the hypothesis and a tail beyond (see
:mod:`cart_app.fusion.weights`); a hypothesis with an unknown item gets
``unknown_weight_factor``. Hypotheses that lead to the same *outcome* (the same products,
quantities and lines) pool their scores, and outcomes are normalised into posteriors.

The hypotheses of an addition are enumerated in :mod:`cart_app.fusion.addition`, those of a
removal in :mod:`cart_app.fusion.removal`; :func:`cart_app.fusion.verdicts.verdict` turns the
ranked outcomes into "confirm this" or "ask with these choices". This module holds what they
share: the outcome and hypothesis types, and how weights combine and scores pool.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from cart_app.events import ChangeKind
from cart_app.fusion.settings import FusionSettings
from cart_app.fusion.views import ObservationView
from cart_app.fusion.weights import UnitWeight, fit

OTHER: Final = ":other"
"""Assignment of an observation to an item that is none of its candidates."""
NOT_PLACED: Final = ":not_placed"
"""Assignment of an observation whose item did not cause this weight change."""
UNLISTED: Final = ":unlisted"
"""Removals: an observation of a basket product that is not among its candidates."""

NEGLIGIBLE = 1e-12
"""Scores below this are dropped: they cannot change a decision, only slow it down."""


@dataclass(frozen=True, slots=True)
class Item:
    """One thing an outcome says went in or came out.

    ``weight_g`` is the charged weight of a product sold by weight (for removals: the line's
    weight); ``line_id`` names the line a removal takes from. ``own`` marks the shopper's own
    item and ``withdraws`` the prompt of an unresolved item; both carry an empty ``sku``.
    ``inferred_weight`` marks a per-kg weight inferred from a joint weighing, never silent.
    """

    sku: str
    quantity: int = 1
    weight_g: float | None = None
    unit_price_cents: int | None = None
    line_id: int | None = None
    own: bool = False
    withdraws: str | None = None
    inferred_weight: bool = False

    def sort_key(self) -> tuple[str, int, float, int, int, bool, str]:
        """A total order (fields that may be None compare as −1 or ""): ties break the same
        way every time, so the same evidence always gives the same decision."""
        return (
            self.sku,
            self.quantity,
            -1.0 if self.weight_g is None else self.weight_g,
            -1 if self.unit_price_cents is None else self.unit_price_cents,
            -1 if self.line_id is None else self.line_id,
            self.own,
            self.withdraws or "",
        )


def sorted_items(items: Iterable[Item]) -> tuple[Item, ...]:
    """``items`` in :meth:`Item.sort_key` order."""
    return tuple(sorted(items, key=Item.sort_key))


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened, as far as the basket is concerned; the unit of decision."""

    items: tuple[Item, ...] = ()
    fits: bool = False
    unknown: bool = False
    split_needed: bool = False

    @property
    def skus(self) -> frozenset[str]:
        """The products in the outcome."""
        return frozenset(i.sku for i in self.items if i.sku)

    @property
    def chargeable(self) -> bool:
        """Whether fusion may carry the outcome out without asking (given enough posterior)."""
        return (
            not self.unknown
            and self.fits
            and not self.split_needed
            and bool(self.items)
            and not any(i.inferred_weight for i in self.items)
        )

    @property
    def offerable(self) -> bool:
        """Whether the outcome may be offered to the shopper as a choice."""
        return (
            not self.unknown
            and self.fits
            and not self.split_needed
            and bool(self.items)
            and all(i.sku and not i.own and i.withdraws is None for i in self.items)
        )


UNKNOWN: Final = Outcome(unknown=True)
"""Something none of the candidates explains (an unseen item, a swap, a misread)."""


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """One explanation of the evidence and its unnormalised score."""

    outcome: Outcome
    score: float
    assignment: tuple[str, ...]
    z: float | None = None


@dataclass(frozen=True, slots=True)
class RankedOutcome:
    """An outcome, its posterior, and its best-scoring hypothesis (for the evidence)."""

    outcome: Outcome
    posterior: float
    best: Hypothesis


@dataclass(frozen=True, slots=True)
class Assessment:
    """The scored outcomes of one weight change with its paired observations."""

    kind: ChangeKind
    delta_g: float
    views: tuple[ObservationView, ...]
    ranked: tuple[RankedOutcome, ...]
    targets: frozenset[str] = field(default=frozenset())
    """For removals: the products in the basket."""
    absorbed: str | None = None
    """A pack the camera saw that the best outcome's weighed product may be hiding (adds)."""

    @property
    def best(self) -> RankedOutcome:
        """The most probable outcome."""
        return self.ranked[0]


@dataclass(frozen=True, slots=True)
class Option:
    """One way a term may take weight: an item and the weight (mean, variance) it brings."""

    item: Item
    mean_g: float
    variance_g2: float


@dataclass(frozen=True, slots=True)
class Term:
    """A source of weight: a product (or line) and the quantities it may take."""

    sku: str
    options: tuple[Option, ...] = ()
    free: bool = False  # sold by weight: takes whatever weight the others leave
    unit_price_cents: int | None = None
    min_g: float = 0.0  # the lightest weighing of a free term


@dataclass(frozen=True, slots=True)
class Combo:
    """Items whose weights together explain a reading, with the weight factor of the fit."""

    items: tuple[Item, ...]
    factor: float
    fits: bool
    z: float | None = None
    split_needed: bool = False


def combine(terms: Sequence[Term], w: float, settings: FusionSettings) -> list[Combo]:
    """Every way the terms can add up to ``w``: (items, weight factor, fits, z)."""
    free = [t for t in terms if t.free]
    fixed = [t for t in terms if not t.free]
    if len(free) > 1:
        # Two products sold by weight in one weighing: the split between them is unknowable.
        pair = sorted_items(Item(t.sku, 1, None, t.unit_price_cents) for t in free)
        possible = w >= sum(t.min_g for t in free)
        return [Combo(pair, 1.0, True, split_needed=True)] if possible else []
    combos: list[Combo] = []
    for chosen in itertools.product(*(t.options for t in fixed)):
        mean = sum(o.mean_g for o in chosen)
        items = [o.item for o in chosen]
        if free:
            rest = w - mean
            term = free[0]
            if not term.min_g <= rest <= settings.max_per_kg_weight_g:
                continue
            # Alone, the weighing is the product's own; next to another item it is inferred.
            items.append(
                Item(term.sku, 1, rest, term.unit_price_cents, inferred_weight=bool(fixed))
            )
            combos.append(Combo(sorted_items(items), 1.0, True))
            continue
        variance = sum(o.variance_g2 for o in chosen)
        f = fit(w, mean, variance, settings)
        factor = f.factor(settings)
        if factor < NEGLIGIBLE:
            continue
        combos.append(Combo(sorted_items(items), factor, f.fits(settings), f.z))
    # The products' vision mass is shared among the quantities that fit, not counted once per
    # quantity: a product with a wide band must not outweigh a better one by fitting twice.
    total = sum(c.factor for c in combos)
    if total > 1.0:
        combos = [replace(c, factor=c.factor / total) for c in combos]
    return combos


def unit_options(
    sku: str,
    unit: UnitWeight,
    max_units: int,
    unit_price_cents: int | None = None,
    line_id: int | None = None,
) -> tuple[Option, ...]:
    """Options of 1 to ``max_units`` units of one product (of one line, for removals)."""
    return tuple(
        Option(
            Item(sku, n, None, unit_price_cents, line_id),
            n * unit.mean_g,
            n * unit.sigma_g**2,
        )
        for n in range(1, max_units + 1)
    )


def rank_outcomes(hypotheses: Iterable[Hypothesis]) -> tuple[RankedOutcome, ...]:
    """Pool the hypotheses' scores by outcome and normalise them into ranked posteriors."""
    pooled: dict[Outcome, float] = {}
    best: dict[Outcome, Hypothesis] = {}
    for h in hypotheses:
        if h.score <= 0 or not math.isfinite(h.score):
            continue
        pooled[h.outcome] = pooled.get(h.outcome, 0.0) + h.score
        if h.outcome not in best or h.score > best[h.outcome].score:
            best[h.outcome] = h
    total = sum(pooled.values())
    if total <= 0:
        return (RankedOutcome(UNKNOWN, 1.0, Hypothesis(UNKNOWN, 1.0, ())),)
    ranked = [RankedOutcome(o, s / total, best[o]) for o, s in pooled.items()]
    # Ties break on the items, so the same evidence always gives the same decision.
    ranked.sort(
        key=lambda r: (-r.posterior, r.outcome.unknown, [i.sort_key() for i in r.outcome.items])
    )
    return tuple(ranked)


def assignments(
    option_lists: Sequence[Sequence[tuple[str, float]]],
) -> Iterable[tuple[tuple[str, ...], float]]:
    """Every choice of one option per observation, with the product of their factors."""
    for combo in itertools.product(*option_lists):
        score = 1.0
        for _, factor in combo:
            score *= factor
        if score > NEGLIGIBLE:
            yield tuple(key for key, _ in combo), score
