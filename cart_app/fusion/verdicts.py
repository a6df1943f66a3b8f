"""The verdict on an assessment: confirm its best outcome, or ask, and why.

The best outcome is confirmed only when it is chargeable, probable enough, and no guard
objects: a confident observation it ignores (:func:`_veto`), a pack a weighed product may be
hiding, a product sold by weight or a count the camera was not sure of, or two products in one
track. Otherwise the verdict names the prompt's reason and the outcomes to offer.
"""

from __future__ import annotations

from dataclasses import dataclass

from cart_app.events import ChangeKind
from cart_app.fusion import prompts
from cart_app.fusion.hypotheses import Assessment, Outcome, RankedOutcome
from cart_app.fusion.settings import FusionSettings
from cart_app.fusion.views import SCANNER_CAMERA
from vision.types import Direction


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
