"""Hypotheses of a removal: what came out, matched only against what the basket holds.

A loss is explained by the basket's lines (one, or a pair of lines that add up to it), the
shopper's own items and the items still waiting for an answer (:class:`LooseWeight`). Vision's
mass on products not in the basket cannot have come out of it: it goes to the basket products
vision did not list (``UNLISTED``) and to loose weight. Removals that differ only in which of
several similar lines they take from are one outcome (:func:`_best_of_similar_lines`).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from cart_app.domain import BasketLine
from cart_app.events import ChangeKind
from cart_app.fusion.book import ProductBook
from cart_app.fusion.hypotheses import (
    NEGLIGIBLE,
    NOT_PLACED,
    OTHER,
    UNKNOWN,
    UNLISTED,
    Assessment,
    Combo,
    Hypothesis,
    Item,
    Option,
    Outcome,
    Term,
    assignments,
    combine,
    rank_outcomes,
    sorted_items,
    unit_options,
)
from cart_app.fusion.settings import FusionSettings
from cart_app.fusion.views import ObservationView
from cart_app.fusion.weights import fit, is_per_kg, reading_sigma


@dataclass(frozen=True, slots=True)
class LooseWeight:
    """Weight in the basket that is no line: the shopper's own item or an unresolved item."""

    weight_g: float
    own: bool = False
    prompt_id: str | None = None


def _line_options(
    line: BasketLine, book: ProductBook, settings: FusionSettings
) -> tuple[Option, ...]:
    product = book.product(line.sku)
    if product is None:
        return ()
    if is_per_kg(product):
        # A weighed line comes out whole (decide removes per-kg lines entirely); the cart weighed
        # it itself, so only the scale's noise separates the two readings.
        item = Item(line.sku, 1, line.weight_g, line.unit_price_cents, line.line_id)
        return (Option(item, line.weight_g, 0.0),)
    unit = book.unit(product)
    most = min(line.quantity, settings.max_units_per_change)
    return unit_options(line.sku, unit, most, line.unit_price_cents, line.line_id)


def _pairs(options: Sequence[Option], w: float, settings: FusionSettings) -> list[Combo]:
    """Pairs of options from different lines whose weights add up to ``w``.

    Options are sorted by weight and each one's partner is searched by bisection in a band
    wide enough for any pair, so a large basket costs n·log n, not n².
    """
    ranked = sorted(options, key=lambda o: o.mean_g)
    means = [o.mean_g for o in ranked]
    widest = max((o.variance_g2 for o in ranked), default=0.0)
    band = settings.fit_sigmas * reading_sigma(w, 2 * widest, settings) * 1.5
    found: list[Combo] = []
    for i, first in enumerate(ranked):
        rest = w - first.mean_g
        lo = bisect.bisect_left(means, rest - band, i + 1)
        hi = bisect.bisect_right(means, rest + band, i + 1)
        for second in ranked[lo:hi]:
            if first.item.line_id == second.item.line_id:
                continue  # more units of one line are that line's own option
            f = fit(
                w, first.mean_g + second.mean_g, first.variance_g2 + second.variance_g2, settings
            )
            factor = f.factor(settings)
            if factor > NEGLIGIBLE:
                items = sorted_items((first.item, second.item))
                found.append(Combo(items, factor, f.fits(settings), f.z))
    return found


def assess_remove(
    delta_g: float,
    views: Sequence[ObservationView],
    *,
    lines: Sequence[BasketLine],
    loose: Sequence[LooseWeight],
    book: ProductBook,
    settings: FusionSettings,
) -> Assessment:
    """Score what came out (``delta_g`` < 0): matched only against the basket's lines, the
    shopper's own items and unresolved items."""
    w = -delta_g
    targets = tuple(dict.fromkeys(line.sku for line in lines))
    terms = {
        sku: Term(
            sku,
            tuple(
                o for line in lines if line.sku == sku for o in _line_options(line, book, settings)
            ),
        )
        for sku in targets
    }
    loose_options = tuple(
        Option(Item("", 1, lw.weight_g, own=lw.own, withdraws=lw.prompt_id), lw.weight_g, 0.0)
        for lw in loose
    )
    option_lists: list[list[tuple[str, float]]] = []
    unlisted: list[frozenset[str]] = []
    for v in views:
        listed = [(sku, v.mass(sku)) for sku in targets if v.mass(sku) > 0]
        # Whatever vision gives to products not in the basket cannot have come out of it: the
        # "other" mass goes to the basket's products vision did not list, and to loose weight.
        unlisted.append(frozenset(sku for sku in targets if v.mass(sku) <= 0))
        option_lists.append(
            [(sku, m * v.placed) for sku, m in listed]
            + [(UNLISTED, v.other * v.placed), (NOT_PLACED, 1.0 - v.placed)]
        )
    combos: dict[tuple[str, ...], list[Combo]] = {}
    hypotheses: list[Hypothesis] = []

    def explain(keys: tuple[str, ...], source: tuple[str, ...], vision: float) -> None:
        if source == (OTHER,):
            for option in loose_options:
                f = fit(w, option.mean_g, 0.0, settings)
                factor = f.factor(settings)
                if factor > NEGLIGIBLE:
                    outcome = Outcome((option.item,), f.fits(settings))
                    hypotheses.append(Hypothesis(outcome, vision * factor, keys, f.z))
            hypotheses.append(Hypothesis(UNKNOWN, vision * settings.unknown_weight_factor, keys))
            return
        if source not in combos:
            combos[source] = combine([terms[s] for s in source], w, settings)
        for c in combos[source]:
            hypotheses.append(Hypothesis(Outcome(c.items, c.fits), vision * c.factor, keys, c.z))

    blind_pairs = _pairs([o for t in terms.values() for o in t.options], w, settings)
    for keys, vision in assignments(option_lists):
        skus = tuple(sorted({k for k in keys if k not in (UNLISTED, NOT_PLACED)}))
        pointed = [unlisted[i] for i, key in enumerate(keys) if key == UNLISTED]
        if len(skus) > 2:
            continue
        if pointed and skus:
            # A listed product and something vision did not name: not searched as a pair.
            hypotheses.append(Hypothesis(UNKNOWN, vision * settings.unknown_weight_factor, keys))
            continue
        if skus:
            explain(keys, skus, vision)
            continue
        # One source that vision did not name (or, with nothing seen, any one source): each
        # product unlisted by every view pointing at it, or loose weight, equally likely.
        pool = frozenset(targets).intersection(*pointed) if pointed else frozenset(targets)
        share = 1.0
        for names in pointed:
            share /= len(names) + 1
        if not pointed:
            share = 1.0 / (len(targets) + 1)
        for source in [*sorted(pool), OTHER]:
            explain(keys, (source,), vision * share)
        if not pointed:
            # Nothing seen at all: two items may have come out together, and any pair of lines
            # that fits as well makes a weight-only removal ambiguous.
            for c in blind_pairs:
                hypotheses.append(
                    Hypothesis(Outcome(c.items, c.fits), vision * share * c.factor, keys, c.z)
                )
    return Assessment(
        ChangeKind.REMOVE,
        delta_g,
        tuple(views),
        rank_outcomes(_best_of_similar_lines(hypotheses)),
        frozenset(targets),
    )


def _charge_key(outcome: Outcome) -> tuple[object, ...]:
    """What an outcome does to the bill, apart from which of equally priced lines it names."""
    return (
        outcome.unknown,
        tuple(
            (i.sku, i.quantity, i.unit_price_cents, i.own, i.withdraws, i.inferred_weight)
            for i in outcome.items
        ),
    )


def _best_of_similar_lines(hypotheses: list[Hypothesis]) -> list[Hypothesis]:
    """Removals that differ only in which of several similar lines they take from are one
    outcome, carried out on the line whose weight fits best.

    Similar lines hold the same product at the same price (weighings of one produce, say); the
    reading cannot always tell them apart, and need not: the bill differs by less than the
    scale's noise. Lines at different prices are never merged.
    """
    best: dict[tuple[object, ...], tuple[float, tuple[int, ...], Outcome]] = {}
    for h in hypotheses:
        key = _charge_key(h.outcome)
        rank = (
            abs(h.z) if h.z is not None else math.inf,
            tuple(i.line_id or 0 for i in h.outcome.items),
            h.outcome,
        )
        if key not in best or rank[:2] < best[key][:2]:
            best[key] = rank
    return [replace(h, outcome=best[_charge_key(h.outcome)][2]) for h in hypotheses]
