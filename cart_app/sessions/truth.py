"""A generated trip's ground truth (``truth.json``): the true receipt and what physically happened.

The trip generator knows what the shopper really did; the replay never reads this file except
through the simulated shopper (:mod:`cart_app.sessions.shopper`), who answers prompts the way
an honest shopper would, and the benchmark, which compares the replayed receipt with
:attr:`Truth.lines`.

Times are on the session's clock. ``t_settle`` is the *physical settle* of a weighing: the
moment from which the basket's noise-free load stays within ``1 g + 0.2 %`` of its final value,
the earliest a perfect instrument could report it (the scale filter benchmark's definition).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cart_app.sessions.format import SessionError

TRUTH_FORMAT = "smartcart-truth"
TRUTH_VERSION = 1

ActionKind = Literal["add", "remove", "own_item", "held", "too_light"]
"""``add``/``remove``: merchandise in or out; ``own_item``: the shopper's bag; ``held``: an item
shown over the basket and taken away again; ``too_light``: an item the scale cannot feel."""
Adversarial = Literal["label_swap", "unseen_drop"]
"""``label_swap``: a cheaper product's barcode stuck on the item; ``unseen_drop``: put in
without passing the cameras."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TruthItem(_Model):
    """Units of one product (per unit), or one weighing of a product sold by weight."""

    sku: str = Field(min_length=1)
    quantity: int = Field(1, ge=1)
    weight_g: float | None = Field(None, gt=0)
    """True weight: of a weighing (per kg), or of the units together (per unit)."""


class Action(_Model):
    """One thing the shopper did to the basket."""

    id: int = Field(ge=0)
    kind: ActionKind
    t_start: float
    """The hand starts moving the item(s) over the basket opening."""
    t_weight: float | None = None
    """The load changes on the scale (item(s) put down or lifted)."""
    t_settle: float | None = None
    """Physical settle of the weighing; None when the scale feels nothing."""
    items: tuple[TruthItem, ...] = ()
    seen: bool = True
    """Whether the item passed through the cameras' view."""
    adversarial: Adversarial | None = None
    label_gtin: str | None = None
    """The barcode printed on the item when it is not its own (a label swap)."""
    delta_g: float = 0.0
    """The true weight change (negative for removals)."""


class Truth(_Model):
    """``truth.json``."""

    format: Literal["smartcart-truth"] = "smartcart-truth"
    format_version: int = TRUTH_VERSION
    lines: tuple[TruthItem, ...]
    """The true receipt: per-unit products once each with their count (``weight_g`` None),
    each weighing of a product sold by weight apart, with its true weight."""
    item_count: int = Field(ge=0)
    """Units put in and kept (a weighing counts as one), as the receipt counts them."""
    items_handled: int = Field(ge=0)
    """Units moved in or out over the trip: the denominator of per-item rates."""
    total_cents: int
    """The true total as the store's pricing computes it (true weights)."""
    actions: tuple[Action, ...]

    def action(self, action_id: int) -> Action:
        """The action with ``action_id``."""
        return next(a for a in self.actions if a.id == action_id)


def read_truth(path: Path) -> Truth:
    """``truth.json``, validated; :class:`SessionError` names what is wrong."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SessionError(f"{path}: missing (the true receipt)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SessionError(f"{path}: cannot read: {exc}") from exc
    if isinstance(raw, dict) and raw.get("format_version", 0) > TRUTH_VERSION:
        raise SessionError(f"{path}: truth format {raw['format_version']} is newer than this build")
    try:
        return Truth.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise SessionError(f"{path}: {problems}") from exc


def write_truth(path: Path, truth: Truth) -> None:
    """Write ``truth.json``."""
    path.write_text(truth.model_dump_json(indent=1) + "\n", encoding="utf-8")
