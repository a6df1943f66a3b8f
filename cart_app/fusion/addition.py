"""Hypotheses of an addition: what went in, explained by the observations paired with it.

Each observation is one of its products, "other" or "not placed"; up to two different products
share one weighing (three are left to the "other" mass). A product sold by weight takes the
weight the others leave; a scanned weight or price label fixes it. A single track may also have
held two items put in together (:func:`_two_in_one`), and a product sold by weight may be hiding
a pack the camera also saw (:func:`_absorbed`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from cart_app.catalog import ScanMatch
from cart_app.events import ChangeKind
from cart_app.fusion.book import ProductBook
from cart_app.fusion.hypotheses import (
    NEGLIGIBLE,
    NOT_PLACED,
    OTHER,
    UNKNOWN,
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
    unit_options,
)
from cart_app.fusion.settings import FusionSettings
from cart_app.fusion.views import ObservationView, pool_agreeing
from cart_app.fusion.weights import best_quantity, is_per_kg, per_kg_min_weight


def _add_term(
    sku: str, label: ScanMatch | None, book: ProductBook, settings: FusionSettings
) -> Term | None:
    product = book.product(sku)
    if product is None:
        return None
    if is_per_kg(product):
        if label is not None and label.weight_g is not None:
            # A weight label is charged as printed; the cart only checks it (packaging, scales).
            variance = (settings.label_weight_tolerance_g / settings.tolerance_sigmas) ** 2
            item = Item(sku, 1, label.weight_g, label.price_cents)
            return Term(sku, (Option(item, label.weight_g, variance),))
        price = label.price_cents if label is not None else None
        return Term(
            sku, free=True, unit_price_cents=price, min_g=per_kg_min_weight(product, settings)
        )
    unit = book.unit(product)
    if label is not None and label.price_cents is not None:
        # One price label prices one pack.
        return Term(sku, unit_options(sku, unit, 1, label.price_cents))
    return Term(sku, unit_options(sku, unit, settings.max_units_per_change))


def assess_add(
    delta_g: float,
    views: Sequence[ObservationView],
    book: ProductBook,
    settings: FusionSettings,
    *,
    pool: bool = True,
) -> Assessment:
    """Score what went in: ``delta_g`` (> 0) explained by the paired observations.

    With ``pool``, tracks that name the same product first pool their evidence
    (:func:`~cart_app.fusion.views.pool_agreeing`); the caller turns it off when it left
    observations out of the group, which might have named another product.
    """
    if pool:
        views = pool_agreeing(views, settings)
    labels: dict[str, ScanMatch] = {}
    for view in views:
        if view.barcode is not None:
            labels.setdefault(view.barcode.product.sku, view.barcode)
    terms: dict[str, Term | None] = {}
    combos: dict[tuple[str, ...], list[Combo]] = {}
    option_lists = [
        [(sku, m * v.placed) for sku, m in v.masses]
        + [(OTHER, v.other * v.placed), (NOT_PLACED, 1.0 - v.placed)]
        for v in views
    ]
    hypotheses: list[Hypothesis] = []
    for keys, vision in assignments(option_lists):
        skus = tuple(sorted({k for k in keys if k not in (OTHER, NOT_PLACED)}))
        if OTHER in keys or not skus:
            hypotheses.append(Hypothesis(UNKNOWN, vision * settings.unknown_weight_factor, keys))
            continue
        if len(skus) > 2:
            continue  # three different products in one weighing: left to the "other" mass
        if skus not in combos:
            slot_terms = []
            for sku in skus:
                if sku not in terms:
                    terms[sku] = _add_term(sku, labels.get(sku), book, settings)
                slot_terms.append(terms[sku])
            combos[skus] = (
                []
                if any(t is None for t in slot_terms)
                else combine([t for t in slot_terms if t is not None], delta_g, settings)
            )
        for c in combos[skus]:
            outcome = Outcome(c.items, c.fits, split_needed=c.split_needed)
            hypotheses.append(Hypothesis(outcome, vision * c.factor, keys, c.z))
    if len(views) == 1:
        hypotheses += _two_in_one(
            views[0], delta_g, terms=terms, labels=labels, book=book, settings=settings
        )
    ranked = rank_outcomes(hypotheses)
    absorbed = _absorbed(ranked[0].outcome, views, delta_g, book, settings)
    return Assessment(ChangeKind.ADD, delta_g, tuple(views), ranked, absorbed=absorbed)


def _two_in_one(
    view: ObservationView,
    delta_g: float,
    *,
    terms: dict[str, Term | None],
    labels: dict[str, ScanMatch],
    book: ProductBook,
    settings: FusionSettings,
) -> list[Hypothesis]:
    """One track that held two different items (put in together, seen as one): a pair of its
    candidates. Rarely the best outcome; it is there to be offered when the weight says two."""
    out: list[Hypothesis] = []
    for (a, ma), (b, mb) in itertools.combinations(view.masses, 2):
        vision = ma * mb * view.placed * settings.two_in_one_prior
        if vision <= NEGLIGIBLE:
            continue
        for sku in (a, b):
            if sku not in terms:
                terms[sku] = _add_term(sku, labels.get(sku), book, settings)
        pair = [terms[a], terms[b]]
        if any(t is None for t in pair):
            continue
        key = "+".join(sorted((a, b)))
        for c in combine([t for t in pair if t is not None], delta_g, settings):
            outcome = Outcome(c.items, c.fits, split_needed=c.split_needed)
            out.append(Hypothesis(outcome, vision * c.factor, (key,), c.z))
    return out


def _absorbed(
    outcome: Outcome,
    views: Sequence[ObservationView],
    delta_g: float,
    book: ProductBook,
    settings: FusionSettings,
) -> str | None:
    """A per-unit product seen with a product sold by weight that the weighing could hold.

    A product sold by weight fits any reading, so it silently absorbs whatever else the
    reading holds: a pack put in with it and seen in the same track, or the item itself when
    the camera took a cucumber for an avocado (the cucumber's weight charged at the avocado's
    price per kg). When the camera gave a per-unit product a fair chance and its units fit the
    reading, or the reading has room for one beside the produce, the cart asks instead.
    """
    if len(outcome.items) != 1 or outcome.items[0].weight_g is None:
        return None
    weighed = book.product(outcome.items[0].sku)
    if weighed is None or not is_per_kg(weighed):
        return None
    room = delta_g - per_kg_min_weight(weighed, settings)
    for view in views:
        for sku, p, _label in view.vision:
            if sku == weighed.sku or p < settings.absorbed_candidate_probability:
                continue
            product = book.product(sku)
            if product is None or is_per_kg(product):
                continue
            unit = book.unit(product)
            if unit.mean_g <= room or best_quantity(delta_g, unit, settings) is not None:
                return sku
    return None
