"""Carrying decisions out: the ``Confirm`` commands of an outcome, with their evidence.

Each confirmed item gets the evidence the engine records with its line: what the camera (or a
barcode) made of it, the weight change when it alone explains it, and notes (the posterior, a
joint weighing, an age check for staff). The shopper's own items and unresolved items coming
back out are no merchandise: they only update fusion's state.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace

from cart_app.basket import BasketState
from cart_app.domain import Evidence, EvidenceSource, Product
from cart_app.events import Answer, ChangeKind, Command, Confirm
from cart_app.fusion import choices as ch
from cart_app.fusion.book import ProductBook
from cart_app.fusion.hypotheses import Assessment, Item, RankedOutcome
from cart_app.fusion.state import WITHDRAWN, FuserCore, OpenPrompt, PromptContext
from cart_app.fusion.views import ObservationView, view_observation
from cart_app.fusion.weights import is_per_kg

log = logging.getLogger(__name__)


class Charger:
    """Turns outcomes and picked choices into confirms; keeps own items and prompts in step."""

    def __init__(self, core: FuserCore) -> None:
        """A charger that updates ``core``'s state as it carries out."""
        self._core = core
        self._settings = core.settings

    def carry_out(
        self,
        assessment: Assessment,
        ranked: RankedOutcome,
        book: ProductBook,
        basket: BasketState,
    ) -> list[Command]:
        """The commands of a confirmed outcome of ``assessment``."""
        commands: list[Command] = []
        items = ranked.outcome.items
        for item in items:
            if item.own:
                # The shopper's own item came back out: not merchandise, nothing to record.
                own = list(self._core.state.own_items_g)
                if item.weight_g in own:
                    own.remove(item.weight_g)
                self._core.state = replace(self._core.state, own_items_g=tuple(own))
                log.info("own item of %.1f g taken out", item.weight_g or 0.0)
                continue
            if item.withdraws is not None:
                commands.append(Answer(item.withdraws, WITHDRAWN, "system"))
                self._core.drop_prompt(item.withdraws)
                continue
            view = view_for(assessment, ranked, item.sku)
            notes = [f"posterior={ranked.posterior:.4f}"]
            if ranked.best.z is not None:
                notes.append(f"z={ranked.best.z:.2f}")
            others = sorted({i.sku for i in items if i.sku and i.sku != item.sku})
            if others:
                notes.append(f"weighed_with={','.join(others)}")
                notes.append(f"delta_g={assessment.delta_g:.1f}")
            delta = assessment.delta_g if len(items) == 1 else None
            evidence = evidence_for(view, item.sku, delta, notes, book)
            commands.append(confirm_for(assessment.kind, item, evidence, book, basket))
        return commands

    def carry_out_choice(
        self,
        prompt: OpenPrompt,
        items: Sequence[ch.ChoiceItem],
        basket: BasketState,
        book: ProductBook,
        *,
        answered_by: str,
        note: str,
    ) -> list[Command]:
        """The confirms of a product choice the shopper (or staff) picked or named."""
        context = prompt.context
        kind = context.kind or (
            ChangeKind.REMOVE if any(i.line_id for i in items) else ChangeKind.ADD
        )
        delta = context.delta_g if context.kind is not None else None
        commands: list[Command] = []
        for item in items:
            seen = self._seen_in(context, item.sku, book)
            evidence = Evidence(
                EvidenceSource.SHOPPER if answered_by != "staff" else EvidenceSource.STAFF,
                weight_delta_g=delta if len(items) == 1 else None,
                vision_label=seen[1] if seen else None,
                vision_probability=seen[0] if seen else None,
                camera_id=seen[2] if seen else None,
                note=evidence_note(book.product(item.sku), [note]),
            )
            commands.append(confirm_for(kind, item_of(item), evidence, book, basket))
        return commands

    def _seen_in(
        self, context: PromptContext, sku: str, book: ProductBook
    ) -> tuple[float, str, str] | None:
        """What the camera made of ``sku`` in the prompt's observations, for the evidence."""
        best: tuple[float, str, str] | None = None
        for obs in context.observations:
            view = view_observation(obs, context.kind or ChangeKind.ADD, book, self._settings)
            found = view.seen(sku)
            if found is not None and (best is None or found[0] > best[0]):
                best = (found[0], found[1], obs.camera_id)
        return best


def view_for(assessment: Assessment, ranked: RankedOutcome, sku: str) -> ObservationView | None:
    """The view the outcome assigned ``sku`` to that gives it the most mass, if any."""
    best: ObservationView | None = None
    for position, view in enumerate(assessment.views):
        key = ranked.best.assignment[position] if ranked.best.assignment else sku
        if sku not in key.split("+"):  # "A+B": one track that held both
            continue
        if best is None or view.mass(sku) > best.mass(sku):
            best = view
    return best


def evidence_for(
    view: ObservationView | None,
    sku: str,
    delta_g: float | None,
    notes: list[str],
    book: ProductBook,
) -> Evidence:
    """The evidence of a confirm of ``sku``: by barcode, by vision, or by weight alone."""
    product = book.product(sku)
    if view is None:
        return Evidence(
            EvidenceSource.SYSTEM, delta_g, note=evidence_note(product, ["weight_only", *notes])
        )
    seen = view.seen(sku)
    if view.barcode is not None and view.barcode.product.sku == sku:
        return Evidence(
            EvidenceSource.BARCODE,
            delta_g,
            gtin=view.barcode.gtin14,
            vision_label=seen[1] if seen else None,
            vision_probability=seen[0] if seen else None,
            camera_id=view.observation.camera_id,
            note=evidence_note(product, notes),
        )
    return Evidence(
        EvidenceSource.VISION,
        delta_g,
        vision_label=seen[1] if seen else None,
        vision_probability=seen[0] if seen else None,
        camera_id=view.observation.camera_id,
        note=evidence_note(product, notes),
    )


def evidence_note(product: Product | None, notes: list[str]) -> str:
    """``notes`` joined for an evidence note, with the age check an age-restricted product needs."""
    parts = list(notes)
    if product is not None and product.min_age is not None:
        # Staff check the shopper's age at the exit for every such line.
        parts.append(f"age_check={product.min_age}")
    return "; ".join(parts)


def confirm_for(
    kind: ChangeKind,
    item: Item,
    evidence: Evidence,
    book: ProductBook,
    basket: BasketState | None = None,
) -> Confirm:
    """The ``Confirm`` that adds or removes ``item``."""
    product = book.product(item.sku)
    per_kg = product is not None and is_per_kg(product)
    weight = item.weight_g or 0.0
    if kind is ChangeKind.REMOVE and per_kg and basket is not None and item.line_id:
        line = basket.line(item.line_id)
        if line is not None:
            weight = line.weight_g  # a weighed line comes out whole, at its own weight
    return Confirm(
        kind,
        item.sku,
        item.quantity if not per_kg else 1,
        weight if per_kg else 0.0,
        evidence,
        item.line_id,
        item.unit_price_cents,
    )


def with_note(command: Command, note: str) -> Command:
    """``command`` with ``note`` appended to its evidence note (if it is a confirm)."""
    if isinstance(command, Confirm) and command.evidence is not None:
        evidence = command.evidence
        joined = f"{evidence.note}; {note}" if evidence.note else note
        return replace(command, evidence=replace(evidence, note=joined))
    return command


def item_of(choice: ch.ChoiceItem) -> Item:
    """A prompt choice item as an outcome's item."""
    return Item(
        choice.sku, choice.quantity, choice.weight_g, choice.unit_price_cents, choice.line_id
    )
