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

:func:`verdict` turns the ranked outcomes into "confirm this" or "ask with these choices".
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Final, Protocol

from cart_app.catalog import ScanMatch, WeightModel
from cart_app.domain import BasketLine, Product
from cart_app.events import ChangeKind
from cart_app.fusion import prompts
from cart_app.fusion.settings import FusionSettings
from cart_app.fusion.weights import (
    UnitWeight,
    best_quantity,
    fit,
    is_per_kg,
    per_kg_min_weight,
    reading_sigma,
    unit_weight,
)
from vision.types import Direction, ItemObservation

SCANNER_CAMERA: Final = "scanner"
"""``camera_id`` of the observation a handheld scan becomes when no prompt is open."""
OTHER: Final = ":other"
"""Assignment of an observation to an item that is none of its candidates."""
NOT_PLACED: Final = ":not_placed"
"""Assignment of an observation whose item did not cause this weight change."""
UNLISTED: Final = ":unlisted"
"""Removals: an observation of a basket product that is not among its candidates."""

_NEGLIGIBLE = 1e-12
"""Scores below this are dropped: they cannot change a decision, only slow it down."""


class FusionCatalog(Protocol):
    """What fusion reads from the catalog (:class:`cart_app.catalog.Catalog` is one)."""

    def by_sku(self, sku: str) -> Product | None:
        """The product with this SKU, or None."""
        ...

    def by_label(self, label: str) -> Product | None:
        """The product a recogniser label maps to, or None."""
        ...

    def resolve_scan(self, code: str, symbology: str | None = None) -> ScanMatch | None:
        """A scanned code resolved to a product (with a label's weight or price), or None."""
        ...

    def weight_model(self, sku: str) -> WeightModel:
        """What one unit of ``sku`` should weigh, learnt weighings included."""
        ...


class ProductBook:
    """Catalog look-ups memoised for one decision (the catalog is SQLite behind a lock)."""

    def __init__(self, catalog: FusionCatalog, settings: FusionSettings) -> None:
        """Wrap ``catalog`` for one decision."""
        self._catalog = catalog
        self._settings = settings
        self._products: dict[str, Product | None] = {}
        self._labels: dict[str, Product | None] = {}
        self._units: dict[str, UnitWeight] = {}

    def product(self, sku: str) -> Product | None:
        """The product with this SKU, or None."""
        if sku not in self._products:
            self._products[sku] = self._catalog.by_sku(sku)
        return self._products[sku]

    def by_label(self, label: str) -> Product | None:
        """The product of a recogniser label (a catalog label, else a SKU), or None.

        Stores enrol products under their SKU (``smartcart model enroll SKU …``); a product
        the catalog gives no recognition label is only ever reported that way.
        """
        if label not in self._labels:
            product = self._catalog.by_label(label) or self._catalog.by_sku(label)
            self._labels[label] = product
            if product is not None:
                self._products.setdefault(product.sku, product)
        return self._labels[label]

    def resolve(self, code: str) -> ScanMatch | None:
        """A scanned GTIN resolved to a product, or None (unknown or malformed code)."""
        try:
            match = self._catalog.resolve_scan(code)
        except ValueError:  # InvalidGtin, VariableMeasureError: a misread is no evidence
            return None
        if match is not None:
            self._products.setdefault(match.product.sku, match.product)
        return match

    def unit(self, product: Product) -> UnitWeight:
        """One unit's weight model of a per-unit product."""
        if product.sku not in self._units:
            try:
                model: WeightModel | None = self._catalog.weight_model(product.sku)
            except LookupError:
                model = None
            self._units[product.sku] = unit_weight(product, model, self._settings)
        return self._units[product.sku]


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


def _sorted(items: Iterable[Item]) -> tuple[Item, ...]:
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
class _Option:
    item: Item
    mean_g: float
    variance_g2: float


@dataclass(frozen=True, slots=True)
class _Term:
    """A source of weight: a product (or line) and the quantities it may take."""

    sku: str
    options: tuple[_Option, ...] = ()
    free: bool = False  # sold by weight: takes whatever weight the others leave
    unit_price_cents: int | None = None
    min_g: float = 0.0  # the lightest weighing of a free term


@dataclass(frozen=True, slots=True)
class _Combo:
    items: tuple[Item, ...]
    factor: float
    fits: bool
    z: float | None = None
    split_needed: bool = False


def _combine(terms: Sequence[_Term], w: float, settings: FusionSettings) -> list[_Combo]:
    """Every way the terms can add up to ``w``: (items, weight factor, fits, z)."""
    free = [t for t in terms if t.free]
    fixed = [t for t in terms if not t.free]
    if len(free) > 1:
        # Two products sold by weight in one weighing: the split between them is unknowable.
        pair = _sorted(Item(t.sku, 1, None, t.unit_price_cents) for t in free)
        possible = w >= sum(t.min_g for t in free)
        return [_Combo(pair, 1.0, True, split_needed=True)] if possible else []
    combos: list[_Combo] = []
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
            combos.append(_Combo(_sorted(items), 1.0, True))
            continue
        variance = sum(o.variance_g2 for o in chosen)
        f = fit(w, mean, variance, settings)
        factor = f.factor(settings)
        if factor < _NEGLIGIBLE:
            continue
        combos.append(_Combo(_sorted(items), factor, f.fits(settings), f.z))
    # The products' vision mass is shared among the quantities that fit, not counted once per
    # quantity: a product with a wide band must not outweigh a better one by fitting twice.
    total = sum(c.factor for c in combos)
    if total > 1.0:
        combos = [replace(c, factor=c.factor / total) for c in combos]
    return combos


def _unit_options(
    sku: str,
    unit: UnitWeight,
    max_units: int,
    unit_price_cents: int | None = None,
    line_id: int | None = None,
) -> tuple[_Option, ...]:
    return tuple(
        _Option(
            Item(sku, n, None, unit_price_cents, line_id),
            n * unit.mean_g,
            n * unit.sigma_g**2,
        )
        for n in range(1, max_units + 1)
    )


def _add_term(
    sku: str, label: ScanMatch | None, book: ProductBook, settings: FusionSettings
) -> _Term | None:
    product = book.product(sku)
    if product is None:
        return None
    if is_per_kg(product):
        if label is not None and label.weight_g is not None:
            # A weight label is charged as printed; the cart only checks it (packaging, scales).
            variance = (settings.label_weight_tolerance_g / settings.tolerance_sigmas) ** 2
            item = Item(sku, 1, label.weight_g, label.price_cents)
            return _Term(sku, (_Option(item, label.weight_g, variance),))
        price = label.price_cents if label is not None else None
        return _Term(
            sku, free=True, unit_price_cents=price, min_g=per_kg_min_weight(product, settings)
        )
    unit = book.unit(product)
    if label is not None and label.price_cents is not None:
        # One price label prices one pack.
        return _Term(sku, _unit_options(sku, unit, 1, label.price_cents))
    return _Term(sku, _unit_options(sku, unit, settings.max_units_per_change))


def _rank(hypotheses: Iterable[Hypothesis]) -> tuple[RankedOutcome, ...]:
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


def _assignments(
    option_lists: Sequence[Sequence[tuple[str, float]]],
) -> Iterable[tuple[tuple[str, ...], float]]:
    for combo in itertools.product(*option_lists):
        score = 1.0
        for _, factor in combo:
            score *= factor
        if score > _NEGLIGIBLE:
            yield tuple(key for key, _ in combo), score


def assess_add(
    delta_g: float,
    views: Sequence[ObservationView],
    book: ProductBook,
    settings: FusionSettings,
) -> Assessment:
    """Score what went in: ``delta_g`` (> 0) explained by the paired observations."""
    labels: dict[str, ScanMatch] = {}
    for view in views:
        if view.barcode is not None:
            labels.setdefault(view.barcode.product.sku, view.barcode)
    terms: dict[str, _Term | None] = {}
    combos: dict[tuple[str, ...], list[_Combo]] = {}
    option_lists = [
        [(sku, m * v.placed) for sku, m in v.masses]
        + [(OTHER, v.other * v.placed), (NOT_PLACED, 1.0 - v.placed)]
        for v in views
    ]
    hypotheses: list[Hypothesis] = []
    for keys, vision in _assignments(option_lists):
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
                else _combine([t for t in slot_terms if t is not None], delta_g, settings)
            )
        for c in combos[skus]:
            outcome = Outcome(c.items, c.fits, split_needed=c.split_needed)
            hypotheses.append(Hypothesis(outcome, vision * c.factor, keys, c.z))
    if len(views) == 1:
        hypotheses += _two_in_one(
            views[0], delta_g, terms=terms, labels=labels, book=book, settings=settings
        )
    ranked = _rank(hypotheses)
    absorbed = _absorbed(ranked[0].outcome, views, delta_g, book, settings)
    return Assessment(ChangeKind.ADD, delta_g, tuple(views), ranked, absorbed=absorbed)


def _two_in_one(
    view: ObservationView,
    delta_g: float,
    *,
    terms: dict[str, _Term | None],
    labels: dict[str, ScanMatch],
    book: ProductBook,
    settings: FusionSettings,
) -> list[Hypothesis]:
    """One track that held two different items (put in together, seen as one): a pair of its
    candidates. Rarely the best outcome; it is there to be offered when the weight says two."""
    out: list[Hypothesis] = []
    for (a, ma), (b, mb) in itertools.combinations(view.masses, 2):
        vision = ma * mb * view.placed * settings.two_in_one_prior
        if vision <= _NEGLIGIBLE:
            continue
        for sku in (a, b):
            if sku not in terms:
                terms[sku] = _add_term(sku, labels.get(sku), book, settings)
        pair = [terms[a], terms[b]]
        if any(t is None for t in pair):
            continue
        key = "+".join(sorted((a, b)))
        for c in _combine([t for t in pair if t is not None], delta_g, settings):
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


@dataclass(frozen=True, slots=True)
class LooseWeight:
    """Weight in the basket that is no line: the shopper's own item or an unresolved item."""

    weight_g: float
    own: bool = False
    prompt_id: str | None = None


def _line_options(
    line: BasketLine, book: ProductBook, settings: FusionSettings
) -> tuple[_Option, ...]:
    product = book.product(line.sku)
    if product is None:
        return ()
    if is_per_kg(product):
        # A weighed line comes out whole (decide removes per-kg lines entirely); the cart weighed
        # it itself, so only the scale's noise separates the two readings.
        item = Item(line.sku, 1, line.weight_g, line.unit_price_cents, line.line_id)
        return (_Option(item, line.weight_g, 0.0),)
    unit = book.unit(product)
    most = min(line.quantity, settings.max_units_per_change)
    return _unit_options(line.sku, unit, most, line.unit_price_cents, line.line_id)


def _pairs(options: Sequence[_Option], w: float, settings: FusionSettings) -> list[_Combo]:
    """Pairs of options from different lines whose weights add up to ``w``.

    Options are sorted by weight and each one's partner is searched by bisection in a band
    wide enough for any pair, so a large basket costs n·log n, not n².
    """
    ranked = sorted(options, key=lambda o: o.mean_g)
    means = [o.mean_g for o in ranked]
    widest = max((o.variance_g2 for o in ranked), default=0.0)
    band = settings.fit_sigmas * reading_sigma(w, 2 * widest, settings) * 1.5
    found: list[_Combo] = []
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
            if factor > _NEGLIGIBLE:
                items = _sorted((first.item, second.item))
                found.append(_Combo(items, factor, f.fits(settings), f.z))
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
        sku: _Term(
            sku,
            tuple(
                o for line in lines if line.sku == sku for o in _line_options(line, book, settings)
            ),
        )
        for sku in targets
    }
    loose_options = tuple(
        _Option(Item("", 1, lw.weight_g, own=lw.own, withdraws=lw.prompt_id), lw.weight_g, 0.0)
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
    combos: dict[tuple[str, ...], list[_Combo]] = {}
    hypotheses: list[Hypothesis] = []

    def explain(keys: tuple[str, ...], source: tuple[str, ...], vision: float) -> None:
        if source == (OTHER,):
            for option in loose_options:
                f = fit(w, option.mean_g, 0.0, settings)
                factor = f.factor(settings)
                if factor > _NEGLIGIBLE:
                    outcome = Outcome((option.item,), f.fits(settings))
                    hypotheses.append(Hypothesis(outcome, vision * factor, keys, f.z))
            hypotheses.append(Hypothesis(UNKNOWN, vision * settings.unknown_weight_factor, keys))
            return
        if source not in combos:
            combos[source] = _combine([terms[s] for s in source], w, settings)
        for c in combos[source]:
            hypotheses.append(Hypothesis(Outcome(c.items, c.fits), vision * c.factor, keys, c.z))

    blind_pairs = _pairs([o for t in terms.values() for o in t.options], w, settings)
    for keys, vision in _assignments(option_lists):
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
        _rank(_best_of_similar_lines(hypotheses)),
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


@dataclass(frozen=True, slots=True)
class Verdict:
    """Confirm ``confirm``, or ask with ``reason`` and ``choices`` (best first)."""

    confirm: RankedOutcome | None
    reason: str | None
    choices: tuple[Outcome, ...]


def _veto(assessment: Assessment, outcome: Outcome, settings: FusionSettings) -> str | None:
    """A confident observation that the outcome ignores: something is off, so ask."""
    skus = outcome.skus
    add = assessment.kind is ChangeKind.ADD
    for view in assessment.views:
        # A code scanned just before an item goes in names that item: a weight and a camera
        # that say otherwise are a swapped label (or a mistake), and the cart asks.
        scanned = add and view.observation.camera_id == SCANNER_CAMERA
        if not view.claims(assessment.kind) and not (scanned and view.barcode is not None):
            continue
        if view.barcode is not None:
            sku = view.barcode.product.sku
            if sku not in skus and (add or sku in assessment.targets):
                return prompts.BARCODE_MISMATCH if add else prompts.REMOVAL_MISMATCH
            continue
        unsold = view.unsold
        if add and unsold is not None and unsold[1] >= settings.unsold_veto_probability:
            # The camera gives a fair chance that it saw something the store does not sell (a
            # bag): a product that merely fits the weight — anything sold by weight does — is
            # no explanation. Asked ("this is mine" among the choices).
            return prompts.WEIGHT_MISMATCH
        top = view.top
        if top is None or top[1] < settings.vision_veto_probability or top[0] in skus:
            continue
        if add:
            return prompts.WEIGHT_MISMATCH
        if top[0] in assessment.targets:
            return prompts.REMOVAL_MISMATCH
    return None


def _weighed_unsure(
    assessment: Assessment, ranked: RankedOutcome, settings: FusionSettings
) -> bool:
    """Whether the outcome charges a product sold by weight the camera was not sure of.

    Any reading fits a product sold by weight, so its weighing says nothing of what it is:
    when the other candidates do not fit, it wins by elimination, and an item none of them (a
    bag the camera half took for carrots) would be charged as produce. Its identity rests on
    the camera (or a label) alone, which must give it at least ``per_kg_vision_probability``.
    """
    if assessment.kind is not ChangeKind.ADD:
        return False
    for item in ranked.outcome.items:
        if item.weight_g is None or item.unit_price_cents is not None:
            continue  # per unit, or a labelled weighing (the label names it)
        sure = max((view.mass(item.sku) for view in assessment.views), default=0.0)
        if sure < settings.per_kg_vision_probability:
            return True
    return False


def _count_unsure(assessment: Assessment, ranked: RankedOutcome, settings: FusionSettings) -> bool:
    """Whether the outcome counts more units of a product than were seen, without the camera
    (or a barcode) being sure of the product.

    Several units from one sighting are counted by the weight alone, and the weight of *n*
    small units fits many things (three packs of chewing gum weigh what a folded bag does):
    the count is only as good as the identity, so an unsure identity is asked about.
    """
    if assessment.kind is not ChangeKind.ADD:
        return False
    keys = ranked.best.assignment
    for item in ranked.outcome.items:
        if item.weight_g is not None:
            continue
        seen = [i for i, key in enumerate(keys) if item.sku in key.split("+")]
        if item.quantity <= len(seen):
            continue
        sure = max((assessment.views[i].mass(item.sku) for i in seen), default=0.0)
        if sure < settings.weight_count_probability:
            return True
        others = [
            view
            for i, view in enumerate(assessment.views)
            if i not in seen and view.observation.direction is not Direction.HELD
        ]
        if others:
            # Something else was seen moving in at the time: the "extra units" may be it.
            return True
    return False


def _merged_track(ranked: RankedOutcome) -> bool:
    """Whether the outcome's best explanation puts two products into one observation."""
    return any("+" in key for key in ranked.best.assignment)


def verdict(assessment: Assessment, settings: FusionSettings) -> Verdict:
    """Confirm the best outcome if it is certain enough and fits, else say why to ask.

    Rules, in order: the best outcome must be chargeable (known products, every weight fits, no
    inferred weights); its posterior must reach ``min_confirm_probability``; and no confident
    observation (a barcode, or a candidate at ``vision_veto_probability`` or more, seen going
    the change's way) may be left out of it.
    """
    best = assessment.best
    veto = _veto(assessment, best.outcome, settings)
    if veto is None and assessment.absorbed is not None:
        veto = prompts.WEIGH_SEPARATELY
    if veto is None and _weighed_unsure(assessment, best, settings):
        veto = prompts.AMBIGUOUS_ITEM
    if veto is None and _count_unsure(assessment, best, settings):
        veto = prompts.AMBIGUOUS_ITEM
    if veto is None and _merged_track(best):
        # One track holding two different products is a rare explanation that wins mostly by
        # elimination (no single candidate fits the weight); an unknown item weighing what two
        # candidates do together would be charged as them. Offered, never charged silently.
        veto = prompts.AMBIGUOUS_ITEM
    choices = tuple(r.outcome for r in assessment.ranked if r.outcome.offerable)[
        : settings.max_choices
    ]
    if (
        best.outcome.chargeable
        and best.posterior >= settings.min_confirm_probability
        and veto is None
    ):
        return Verdict(best, None, choices)
    add = assessment.kind is ChangeKind.ADD
    if add and not assessment.views:
        reason = prompts.UNSEEN_ITEM
    elif veto is not None:
        reason = veto
    elif best.outcome.unknown or not best.outcome.fits:
        reason = prompts.WEIGHT_MISMATCH if add else prompts.REMOVAL_MISMATCH
    elif best.outcome.split_needed or any(i.inferred_weight for i in best.outcome.items):
        reason = prompts.WEIGH_SEPARATELY
    else:
        reason = prompts.AMBIGUOUS_ITEM if add else prompts.AMBIGUOUS_REMOVAL
    return Verdict(None, reason, choices)
