"""What the shopper does on a generated trip, and when: a seeded plan with its truth.

A trip is a sequence of *actions* on a shopping list of ``min_items``–``max_items`` units:
single items, several units of one product at once, two different items at once, produce
weighed by the cart (several pieces, random weights), removals (put back on the shelf), items
held over the basket and taken away, the shopper's own bag at the start, and a share of
adversarial moves (a cheaper product's barcode stuck on an item and scanned, or an item dropped
in without passing the cameras; the shopper then shows it when asked). Between actions the cart
is pushed now and then and the shopper leans on the handle.

Every draw comes from one ``numpy`` generator seeded with ``(seed, trip)``, so a trip is a pure
function of the catalog, the settings, the seed and its number. Item weights are drawn from the
catalog's nominal weight and tolerance (read as ±3σ, truncated there), so the scale sees the
spread real packs have.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from cart_app.domain import PricingMode, Product
from cart_app.sessions.inputs import CheckoutInput, ScanInput, SessionInput, StartInput
from cart_app.sessions.sim.frames import BAG, PassSpec
from cart_app.sessions.sim.scalebytes import Load, physical_settle_s
from cart_app.sessions.truth import Action, Adversarial, TruthItem
from vision.gtin import normalize_gtin
from vision.render.products import CatalogProduct, Side
from vision.types import Direction

_POSITIONS = (
    "centre",
    "front",
    "rear",
    "left",
    "right",
    "front-left",
    "front-right",
    "rear-left",
    "rear-right",
)
SHOW_DELAY_S = 6.5
"""After an unseen drop, the shopper holds the item up to the camera this much later (the
cart asks "please show the item" at the end of its pairing window)."""
SHOW_DURATION_S = 2.4
"""… for this long."""


@dataclass(frozen=True, slots=True)
class TripSettings:
    """Shares and sizes of a generated trip (shares are per action unless named otherwise)."""

    min_items: int = 5
    max_items: int = 40
    produce_share: float = 0.3
    """Share of picks that are fruit and vegetables sold by weight."""
    multi_unit_share: float = 0.12
    """Share of packaged picks put in as 2–3 units at once."""
    pair_share: float = 0.06
    removal_share: float = 0.06
    held_share: float = 0.03
    adversarial_share: float = 0.03
    bag_share: float = 0.25
    """Share of trips that start with the shopper's own bag."""
    scan_share: float = 0.0
    """Share of barcoded items the shopper scans on the basket scanner before putting them in."""
    push_share: float = 0.3
    lean_share: float = 0.1
    full_basket_g: float = 23_000.0
    """The shopper stops adding once the basket holds this much: the scale's capacity is 30 kg
    and the heaviest pick (three 2 l bottles at once) weighs 6.5 kg."""
    enrol_views: tuple[int, ...] = (1001, 1002, 1003, 1004)
    """Render views used to enrol products; trips draw from other views (0–99)."""

    def __post_init__(self) -> None:
        if not 1 <= self.min_items <= self.max_items:
            raise ValueError("need 1 <= min_items <= max_items")


@dataclass(slots=True)
class _Entry:
    """One unit (or one weighing) in the basket, as the truth knows it."""

    ref: str
    product: Product
    grams: float


@dataclass
class TripPlan:
    """Everything a generated trip is: camera passes, loads, inputs and the truth's actions."""

    t_start: float
    t_end: float
    passes: list[PassSpec] = field(default_factory=list)
    loads: list[Load] = field(default_factory=list)
    inputs: list[SessionInput] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    basket: list[_Entry] = field(default_factory=list)
    items_handled: int = 0


def render_product(product: Product, gtin: str | None = None) -> CatalogProduct:
    """What the renderer needs of ``product`` (with another barcode printed, for a swap)."""
    gtins = (gtin,) if gtin else product.gtins[:1]
    return CatalogProduct(product.sku, product.name, tuple(gtins), product.labels)


def _symbology(code: str) -> str:
    return {8: "ean8", 12: "upca"}.get(len(code), "ean13")


class Planner:
    """Plans one trip; see the module docstring."""

    def __init__(
        self, products: Sequence[Product], settings: TripSettings, rng: np.random.Generator
    ) -> None:
        self.s = settings
        self.rng = rng
        self.produce = [p for p in products if p.pricing_mode is PricingMode.PER_KG]
        self.packaged = [p for p in products if p.pricing_mode is PricingMode.PER_UNIT]
        self.barcoded = [p for p in self.packaged if p.gtins]
        self._refs = 0

    # -- draws -------------------------------------------------------------------------------
    def _uniform(self, low: float, high: float) -> float:
        return float(self.rng.uniform(low, high))

    def _chance(self, share: float) -> bool:
        return bool(self.rng.random() < share)

    def _pick(self, items: Sequence[Product]) -> Product:
        return items[int(self.rng.integers(len(items)))]

    def _unit_weight(self, product: Product) -> float:
        sigma = max(product.weight_tolerance_g, 0.5) / 3.0
        z = float(np.clip(self.rng.normal(), -3.0, 3.0))
        return round(max(product.nominal_weight_g + z * sigma, 1.0), 2)

    def _ref(self) -> str:
        self._refs += 1
        return f"u{self._refs}"

    def _position(self) -> str:
        return _POSITIONS[int(self.rng.integers(len(_POSITIONS)))]

    def _view(self) -> int:
        return int(self.rng.integers(100))

    # -- the trip ----------------------------------------------------------------------------
    def plan(self, t_start: float, session_id: str) -> TripPlan:
        """The whole trip from the cart's power-up at ``t_start``."""
        trip = TripPlan(t_start, t_start)
        trip.inputs.append(StartInput(kind="start", t=t_start + 1.0, session_id=session_id))
        t = t_start + 2.5
        if self._chance(self.s.bag_share):
            t = self._bag(trip, t)
        wanted = int(self.rng.integers(self.s.min_items, self.s.max_items + 1))
        added = 0
        while added < wanted and self._load(trip) < self.s.full_basket_g:
            roll = float(self.rng.random())
            s = self.s
            if roll < s.removal_share and len(trip.basket) >= 2:
                last = self._remove(trip, t)
            elif roll < s.removal_share + s.held_share:
                last = self._held(trip, t)
            elif roll < s.removal_share + s.held_share + s.adversarial_share:
                last = self._adversarial(trip, t)
                added += 1
            elif roll < s.removal_share + s.held_share + s.adversarial_share + s.pair_share:
                last = self._add(trip, t, self._pair())
                added += 2
            else:
                product = self._choose()
                count = 1
                if (
                    product.pricing_mode is PricingMode.PER_UNIT
                    and not product.too_light_for_scale
                    and self._chance(s.multi_unit_share)
                ):
                    count = int(self.rng.integers(2, 4))
                last = self._add(trip, t, [product], count)
                added += count
            t = self._pause(trip, last)
        trip.t_end = round(t + 4.0, 3)
        trip.inputs.append(CheckoutInput(kind="checkout", t=trip.t_end))
        trip.inputs.sort(key=lambda item: item.t)
        return trip

    def _pair(self) -> list[Product]:
        """Two different packs put in together, neither too light for the scale to feel.

        Never a product sold by weight: its weighing is its price, and one reading cannot be
        split between it and another item (the cart asks the shopper to put it in on its
        own, ``weigh_separately``). A real shopper does so; a pre-recorded trip cannot react,
        so the case is covered by fusion's table tests instead (``docs/fusion.md``)."""
        while True:
            first, second = self._pick(self.packaged), self._pick(self.packaged)
            light = first.too_light_for_scale or second.too_light_for_scale
            if first.sku != second.sku and not light:
                return [first, second]

    @staticmethod
    def _load(trip: TripPlan) -> float:
        """What the basket's contents weigh now (the shopper's bag included)."""
        return sum(
            load.grams if load.kind == "put" else -load.grams
            for load in trip.loads
            if load.kind in ("put", "take")
        )

    def _choose(self) -> Product:
        pool = self.produce if self._chance(self.s.produce_share) else self.packaged
        return self._pick(pool)

    def _pause(self, trip: TripPlan, last: float) -> float:
        """The next action's start: a gap, maybe with a push or a lean in it."""
        t = last + 2.5 + min(float(self.rng.exponential(1.5)), 5.0)
        if self._chance(self.s.push_share):
            duration = self._uniform(2.0, 4.0)
            trip.loads.append(Load(last + 1.8, "push", duration_s=duration))
            t = max(t, last + 1.8 + duration + 1.2)
        elif self._chance(self.s.lean_share):
            duration = self._uniform(0.8, 2.0)
            trip.loads.append(
                Load(last + 1.8, "lean", grams=self._uniform(150, 600), duration_s=duration)
            )
            t = max(t, last + 1.8 + duration + 1.5)
        return round(t, 3)

    def _put(self, trip: TripPlan, t: float, product: Product, grams: float) -> _Entry:
        entry = _Entry(self._ref(), product, grams)
        trip.loads.append(Load(t, "put", grams, entry.ref, self._position()))
        return entry

    def _bag(self, trip: TripPlan, t: float) -> float:
        bag = CatalogProduct(BAG, "own bag")
        duration = self._uniform(1.0, 1.3)
        trip.passes.append(PassSpec(bag, Direction.INTO, t, duration, view=self._view()))
        put = round(t + duration + 0.05, 3)
        grams = round(self._uniform(40, 250), 1)
        trip.loads.append(Load(put, "put", grams, "bag", "centre"))
        trip.actions.append(
            Action(
                id=len(trip.actions),
                kind="own_item",
                t_start=t,
                t_weight=put,
                t_settle=put + physical_settle_s(grams),
                delta_g=grams,
            )
        )
        return self._pause(trip, put)

    def _units(self, product: Product) -> tuple[int, list[float]]:
        """(units drawn in the picture, weights of the pieces) of one pick of ``product``."""
        if product.pricing_mode is PricingMode.PER_KG:
            most = max(1, min(6, round(900 / max(product.nominal_weight_g, 1.0))))
            pieces = int(self.rng.integers(1, most + 1))
            return min(pieces, 3), [self._unit_weight(product) for _ in range(pieces)]
        return 1, [self._unit_weight(product)]

    def _add(
        self,
        trip: TripPlan,
        t: float,
        products: list[Product],
        count: int = 1,
        *,
        adversarial: Adversarial | None = None,
        label_gtin: str | None = None,
        seen: bool = True,
    ) -> float:
        items: list[TruthItem] = []
        settle = 0.0
        first_put: float | None = None
        start = t
        xs = (0.5,) if len(products) == 1 else (0.3, 0.7)
        for product, x in zip(products, xs, strict=False):
            shown, pieces = self._units(product)
            weights = (
                pieces
                if product.pricing_mode is PricingMode.PER_KG
                else [self._unit_weight(product) for _ in range(count)]
            )
            duration = self._uniform(1.0, 1.3)
            scan = product.gtins and (label_gtin or self._chance(self.s.scan_share))
            if scan:
                code = label_gtin or product.gtins[0]
                trip.inputs.append(
                    ScanInput(
                        kind="scan",
                        t=round(t - self._uniform(0.8, 1.5), 3),
                        symbology=_symbology(code),
                        text=code,
                        gtin=normalize_gtin(code),
                    )
                )
            if seen:
                side: Side = (
                    "back" if product.gtins and self._chance(0.3) and not label_gtin else "front"
                )
                trip.passes.append(
                    PassSpec(
                        render_product(product, label_gtin),
                        Direction.INTO,
                        t,
                        duration,
                        count if product.pricing_mode is PricingMode.PER_UNIT else shown,
                        side,
                        x + self._uniform(-0.08, 0.08),
                        self._view(),
                    )
                )
                put = round(t + duration + 0.05, 3)
            else:
                put = round(t, 3)
            first_put = put if first_put is None else first_put
            total = round(sum(weights), 2)
            if product.pricing_mode is PricingMode.PER_KG:
                trip.basket.append(self._put(trip, put, product, total))
                items.append(TruthItem(sku=product.sku, quantity=1, weight_g=total))
            else:
                for grams in weights:
                    trip.basket.append(self._put(trip, put, product, grams))
                items.append(TruthItem(sku=product.sku, quantity=len(weights), weight_g=total))
            trip.items_handled += 1 if product.pricing_mode is PricingMode.PER_KG else count
            settle = max(settle, put + physical_settle_s(total))
            t = round(t + self._uniform(0.3, 0.6), 3)  # a second item follows closely
        delta = sum(i.weight_g or 0.0 for i in items)
        trip.actions.append(
            Action(
                id=len(trip.actions),
                kind="add",
                t_start=start,
                t_weight=first_put,
                t_settle=round(settle, 4),
                items=tuple(items),
                seen=seen,
                adversarial=adversarial,
                label_gtin=label_gtin,
                delta_g=round(delta, 2),
            )
        )
        last = max(load.t for load in trip.loads if load.kind == "put")
        if not seen:
            # Asked to show the item, the shopper holds it up to the camera.
            product = products[0]
            trip.passes.append(
                PassSpec(
                    render_product(product),
                    Direction.HELD,
                    last + SHOW_DELAY_S,
                    SHOW_DURATION_S,
                    view=self._view(),
                )
            )
            last += SHOW_DELAY_S + SHOW_DURATION_S
        return last

    def _remove(self, trip: TripPlan, t: float) -> float:
        entry = trip.basket.pop(int(self.rng.integers(len(trip.basket))))
        duration = self._uniform(0.9, 1.2)
        trip.passes.append(
            PassSpec(
                render_product(entry.product),
                Direction.OUT_OF,
                t,
                duration,
                x=self._uniform(0.4, 0.6),
                view=self._view(),
            )
        )
        take = round(t + 0.05, 3)
        trip.loads.append(Load(take, "take", entry.grams, entry.ref))
        trip.items_handled += 1
        trip.actions.append(
            Action(
                id=len(trip.actions),
                kind="remove",
                t_start=t,
                t_weight=take,
                t_settle=round(take + physical_settle_s(entry.grams), 4),
                items=(TruthItem(sku=entry.product.sku, quantity=1, weight_g=entry.grams),),
                delta_g=-entry.grams,
            )
        )
        return t + duration

    def _held(self, trip: TripPlan, t: float) -> float:
        product = self._choose()
        trip.passes.append(
            PassSpec(render_product(product), Direction.HELD, t, 2.4, x=0.5, view=self._view())
        )
        trip.actions.append(
            Action(
                id=len(trip.actions), kind="held", t_start=t, items=(TruthItem(sku=product.sku),)
            )
        )
        return t + 2.4

    def _adversarial(self, trip: TripPlan, t: float) -> float:
        cheapest = min(p.price_cents for p in self.barcoded)
        dearer = [p for p in self.barcoded if p.price_cents > cheapest]
        if self._chance(0.5) and dearer:
            product = self._pick(dearer)
            cheaper = [p for p in self.barcoded if p.price_cents < product.price_cents]
            label = self._pick(cheaper).gtins[0]
            return self._add(trip, t, [product], adversarial="label_swap", label_gtin=label)
        return self._add(trip, t, [self._choose()], adversarial="unseen_drop", seen=False)


def truth_lines(basket: Sequence[_Entry]) -> list[TruthItem]:
    """The true receipt of what is left in the basket (products in catalog order of first put)."""
    counts: dict[str, int] = {}
    lines: list[TruthItem] = []
    for entry in basket:
        if entry.product.pricing_mode is PricingMode.PER_KG:
            lines.append(TruthItem(sku=entry.product.sku, quantity=1, weight_g=entry.grams))
        else:
            counts[entry.product.sku] = counts.get(entry.product.sku, 0) + 1
    lines += [TruthItem(sku=sku, quantity=n) for sku, n in counts.items()]
    return lines
