"""The receipt file of a run (``receipt.json``) and its comparison with a trip's truth.

The file is canonical JSON (sorted keys, fixed separators, floats as Python writes them), so
two runs that reach the same basket write the same bytes. It holds the priced receipt, the
session's state at the end, any prompt still open, and whether checkout was accepted.

A receipt *matches* its truth when checkout went through and every product is charged exactly:
per-unit products with the same count, each weighing of a product sold by weight with its
charged weight within :data:`PER_KG_TOLERANCE_G` + :data:`PER_KG_TOLERANCE_REL` of the true
weight (the scale's error budget twice over; the scale filter's target is 1 g + 0.2 %).
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cart_app.engine import CartSnapshot
from cart_app.sessions.truth import Truth

RECEIPT_FORMAT = "smartcart-receipt"
RECEIPT_VERSION = 1
PER_KG_TOLERANCE_G = 2.0
PER_KG_TOLERANCE_REL = 0.004


def receipt_document(
    snapshot: CartSnapshot, *, session_id: str, checkout: str, per_kg: frozenset[str]
) -> dict[str, Any]:
    """The receipt file's content for the final ``snapshot``.

    ``checkout`` is ``"accepted"`` or why it was refused; ``per_kg`` names the products sold by
    weight (their lines carry a weight, the others a count).
    """
    basket = snapshot.basket
    receipt = dataclasses.asdict(snapshot.receipt) if snapshot.receipt is not None else None
    return {
        "format": RECEIPT_FORMAT,
        "format_version": RECEIPT_VERSION,
        "session_id": session_id,
        "state": basket.state.value,
        "checkout": checkout,
        "fault": snapshot.fault,
        "open_prompts": [
            {"reason": p.reason, "choices": list(p.choices)} for p in basket.pending_prompts
        ],
        "tare_g": round(basket.tare_g, 3),
        "lines": [
            {
                "line_id": line.line_id,
                "sku": line.sku,
                "quantity": line.quantity,
                "weight_g": round(line.weight_g, 3) if line.sku in per_kg else None,
            }
            for line in basket.lines
        ],
        "receipt": receipt,
    }


def dumps(document: dict[str, Any]) -> str:
    """Canonical JSON text of a receipt document (ends with a newline)."""
    return json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def write_receipt(path: Path, document: dict[str, Any]) -> None:
    """Write the receipt file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps(document), encoding="utf-8")


@dataclass(frozen=True, slots=True)
class Comparison:
    """How a receipt differs from the truth; units of per-unit products, weighings of per-kg.

    ``wrong`` pairs a missed product with an extra one (one wrong charge, not two); ``added``
    and ``missed`` hold what is left unpaired.
    """

    checkout_ok: bool
    added: tuple[tuple[str, int], ...]
    missed: tuple[tuple[str, int], ...]
    wrong: tuple[tuple[str, str], ...]

    @property
    def exact(self) -> bool:
        """Checkout went through and every product is charged as it should be."""
        return self.checkout_ok and not (self.added or self.missed or self.wrong)

    @property
    def wrong_charges(self) -> int:
        """Wrongly charged units: extra, missing, or the wrong product (one per pair)."""
        return sum(n for _, n in self.added) + sum(n for _, n in self.missed) + len(self.wrong)


def _weight_ok(charged: float, true: float) -> bool:
    return abs(charged - true) <= PER_KG_TOLERANCE_G + PER_KG_TOLERANCE_REL * true


def compare(document: dict[str, Any], truth: Truth) -> Comparison:
    """Compare a receipt document (:func:`receipt_document`) with the truth."""
    lines: list[dict[str, Any]] = document["lines"]
    counts: Counter[str] = Counter()
    weighings: dict[str, list[float]] = {}
    for line in lines:
        if line["weight_g"] is None:
            counts[line["sku"]] += int(line["quantity"])
        else:
            weighings.setdefault(line["sku"], []).append(float(line["weight_g"]))
    true_counts: Counter[str] = Counter()
    true_weighings: dict[str, list[float]] = {}
    for item in truth.lines:
        if item.weight_g is not None:
            true_weighings.setdefault(item.sku, []).append(item.weight_g)
        else:
            true_counts[item.sku] += item.quantity
    added: Counter[str] = Counter()
    missed: Counter[str] = Counter()
    for sku in set(counts) | set(true_counts):
        diff = counts[sku] - true_counts[sku]
        if diff > 0:
            added[sku] += diff
        elif diff < 0:
            missed[sku] -= diff
    for sku in sorted(set(weighings) | set(true_weighings)):
        charged = sorted(weighings.get(sku, []))
        expected = sorted(true_weighings.get(sku, []))
        unmatched: list[float] = []
        for w in expected:
            match = next((c for c in charged if _weight_ok(c, w)), None)
            if match is None:
                unmatched.append(w)
            else:
                charged.remove(match)
        if unmatched:
            missed[sku] += len(unmatched)
        if charged:
            added[sku] += len(charged)
    wrong: list[tuple[str, str]] = []
    for miss in sorted(missed):
        while missed[miss] > 0:
            extra = next((sku for sku in sorted(added) if added[sku] > 0 and sku != miss), None)
            if extra is None:
                break
            wrong.append((miss, extra))
            missed[miss] -= 1
            added[extra] -= 1
    return Comparison(
        checkout_ok=document["checkout"] == "accepted" and not document["open_prompts"],
        added=tuple(sorted((s, n) for s, n in added.items() if n > 0)),
        missed=tuple(sorted((s, n) for s, n in missed.items() if n > 0)),
        wrong=tuple(wrong),
    )
