"""How a replayed trip did against its truth: the figures the trip benchmark adds up.

Per trip:

- **exact**: checkout went through and the receipt equals the truth (:mod:`.receipt_json`);
- **wrong charges**: units charged wrongly (extra, missing, or the wrong product: one per pair);
- **silent** wrong charges: those on products that no prompt was about — the cart charged
  (or dropped) them without asking anyone. A wrong charge is not silent when a prompt was
  matched to an action involving its product, or when a shopper's or staff's answer touched
  its line;
- **unmatched auto units**: a stricter check on silent charges, line by line. Units the cart
  added by itself (vision or barcode, not on an answer) that no action of the truth put in
  around then (from ``_AUTO_MATCH_S`` before to 0.5 s after), each action's units used once by
  the lines in time order: the per-product rule above lets a
  wrong product off when another action of the trip with that product was asked about (two
  natural yoghurts charged for a natural and a vanilla one, when a natural yoghurt had been
  asked about earlier in the trip);
- **prompts**: prompts the shopper saw (``staff_needed`` prompts, which follow a timed-out one,
  are counted apart);
- **settle-to-line latency**: for every weighed action the cart handled without asking, from
  the physical settle of the weight (the truth's ``t_settle``) to the moment the line changed
  on the basket, on the replay's clock;
- **adversarial moves**: how many were caught (asked about, or charged correctly anyway).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from cart_app.fusion.prompts import STAFF_NEEDED
from cart_app.sessions.receipt_json import Comparison, compare
from cart_app.sessions.replay import LineChange, ReplayResult
from cart_app.sessions.truth import Action, Truth

_LINE_WINDOW_S = 20.0
"""A line change this long after an action's weight change may be that action's."""
_AUTO_MATCH_S = 30.0
"""An automatic line change this long after an action's weight change may be that action's
(an item shown after an "unseen item" question is charged by vision, seconds later)."""


@dataclass(frozen=True, slots=True)
class TripMetrics:
    """One trip's figures (see the module docstring)."""

    name: str
    exact: bool
    checkout: str
    items: int
    wrong: int
    silent_wrong: int
    prompts: int
    staff_prompts: int
    latencies_s: tuple[float, ...]
    multi_unit_latencies_s: tuple[float, ...]
    adversarial: int
    adversarial_caught: int
    comparison: Comparison
    replay_s: float = 0.0
    frames: int = 0
    unmatched_auto: int = 0


def unmatched_auto_units(truth: Truth, lines: Sequence[LineChange]) -> int:
    """Units added by the cart itself that no action around then put in (see the module
    docstring). Every added line, whoever added it, takes its units from the actions of the
    window in time order, so an action's unit is used once; a weighing counts as one unit."""
    left: dict[int, Counter[str]] = {}
    times: dict[int, float] = {}
    for action in truth.actions:
        if action.kind == "remove" or action.t_weight is None:
            continue
        times[action.id] = action.t_weight
        left[action.id] = Counter()
        for item in action.items:
            left[action.id][item.sku] += item.quantity
    order = sorted(left, key=lambda action_id: times[action_id])
    unmatched = 0
    for change in sorted((c for c in lines if c.kind == "add"), key=lambda c: c.t):
        wanted = 1 if change.weight_g > 0 else change.quantity
        for action_id in order:
            if not change.t - _AUTO_MATCH_S <= times[action_id] <= change.t + 0.5:
                continue
            take = min(wanted, left[action_id][change.sku])
            left[action_id][change.sku] -= take
            wanted -= take
            if not wanted:
                break
        if change.source not in ("shopper", "staff"):
            unmatched += wanted
    return unmatched


def _action_lines(
    action: Action, lines: list[LineChange], used: set[int]
) -> list[LineChange] | None:
    """The line changes that carried out ``action``, if the cart made them all."""
    if action.t_weight is None:
        return None
    kind = "add" if action.kind == "add" else "remove"
    found: list[LineChange] = []
    for item in action.items:
        match = next(
            (
                (i, c)
                for i, c in enumerate(lines)
                if i not in used
                and c.kind == kind
                and c.sku == item.sku
                and action.t_weight - 0.5 <= c.t <= action.t_weight + _LINE_WINDOW_S
            ),
            None,
        )
        if match is None:
            return None
        used.add(match[0])
        found.append(match[1])
    return found


def trip_metrics(
    name: str, result: ReplayResult, truth: Truth, replay_s: float = 0.0
) -> TripMetrics:
    """Score one replayed trip against its truth."""
    comparison = compare(result.document, truth)
    shown = [p for p in result.prompts if p.reason != STAFF_NEEDED]
    prompted_actions = {p.action for p in result.prompts if p.action is not None}
    prompted_skus = {i.sku for a in truth.actions if a.id in prompted_actions for i in a.items}
    prompted_skus |= {c.sku for c in result.lines if c.source in ("shopper", "staff")}
    silent = sum(n for sku, n in comparison.added if sku not in prompted_skus)
    silent += sum(n for sku, n in comparison.missed if sku not in prompted_skus)
    silent += sum(1 for miss, extra in comparison.wrong if not {miss, extra} & prompted_skus)
    latencies: list[float] = []
    multi: list[float] = []
    used: set[int] = set()
    auto = [c for c in result.lines if c.source not in ("shopper", "staff")]
    for action in truth.actions:
        if action.kind not in ("add", "remove") or action.t_settle is None:
            continue
        if action.id in prompted_actions:
            continue
        changes = _action_lines(action, auto, used)
        if not changes:
            continue
        latency = max(c.t for c in changes) - action.t_settle
        units = sum(i.quantity for i in action.items)
        (multi if units > len(action.items) else latencies).append(latency)
    adversarial = [a for a in truth.actions if a.adversarial is not None]
    caught = 0
    for action in adversarial:
        skus = {i.sku for i in action.items}
        wronged = {s for s, _ in comparison.added + comparison.missed}
        wronged |= {s for pair in comparison.wrong for s in pair}
        if action.id in prompted_actions or not skus & wronged:
            caught += 1
    return TripMetrics(
        name=name,
        exact=comparison.exact,
        checkout=str(result.document["checkout"]),
        items=truth.items_handled,
        wrong=comparison.wrong_charges,
        silent_wrong=silent,
        unmatched_auto=unmatched_auto_units(truth, result.lines),
        prompts=len(shown),
        staff_prompts=len(result.prompts) - len(shown),
        latencies_s=tuple(latencies),
        multi_unit_latencies_s=tuple(multi),
        adversarial=len(adversarial),
        adversarial_caught=caught,
        comparison=comparison,
        replay_s=replay_s,
        frames=result.frames,
    )
