"""The choices of a prompt, as the strings that ``Ask.choices`` and ``Answer.answer`` carry.

A choice is either one of the special tokens (they start with ``:``, which no SKU may contain)
or one or more items joined by ``+``. An item is written::

    SKU [ "*" quantity ] [ "@" grams ] [ "$" label price in cents ] [ "#" line id ]

``D-MILK-STD*2`` is two milks, ``FV-BANANA@1234.5`` bananas weighing 1234.5 g,
``C-CHEESE-DELI@412.0$5728`` a labelled piece of cheese, ``FV-AVOCADO#7`` one avocado taken from
line 7, ``J-LAGER-50CL+FV-LIME`` a beer and a lime put in together. A choice thus says
everything needed to carry it out, so a prompt restored after a restart can still be answered;
the UI renders it with the product's name and thumbnail.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

SCAN = ":scan"
"""Scan the item's barcode (the answer is the scan itself)."""
SHOW = ":show"
"""Show the item to the camera (the answer is the next observation)."""
NOT_MINE = ":not_mine"
"""The shopper's own item: its weight is tared (added), or it was taken out (removed)."""
NOTHING = ":none"
"""Nothing went in (offered for items too light for the scale)."""
OTHER = ":other"
"""Something else: the shopper finds the product by name or code (the answer is the product
choice they pick, which need not be one of the prompt's; fusion checks it against the weight).
Offered on every prompt about an item, so no prompt is a dead end."""
SPECIAL = frozenset({SCAN, SHOW, NOT_MINE, NOTHING, OTHER})

_SKU = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_ITEM = re.compile(
    rf"(?P<sku>{_SKU})"
    r"(?:\*(?P<qty>[1-9][0-9]{0,2}))?"
    r"(?:@(?P<grams>[0-9]+(?:\.[0-9]+)?))?"
    r"(?:\$(?P<cents>[0-9]{1,7}))?"
    r"(?:#(?P<line>[1-9][0-9]{0,9}))?"
)


@dataclass(frozen=True, slots=True, order=True)
class ChoiceItem:
    """One product in a choice: units, or grams for products sold by weight."""

    sku: str
    quantity: int = 1
    weight_g: float | None = None
    unit_price_cents: int | None = None
    line_id: int | None = None


def _grams(weight_g: float) -> str:
    # repr is the shortest text that reads back as the same float: weights round-trip exactly.
    text = repr(float(weight_g))
    return text if "e" not in text else f"{weight_g:.3f}"


def encode_item(item: ChoiceItem) -> str:
    """One item in the choice grammar."""
    if not re.fullmatch(_SKU, item.sku):
        raise ValueError(f"{item.sku!r} is not a SKU")
    text = item.sku
    if item.quantity != 1:
        text += f"*{item.quantity}"
    if item.weight_g is not None:
        text += f"@{_grams(item.weight_g)}"
    if item.unit_price_cents is not None:
        text += f"${item.unit_price_cents}"
    if item.line_id is not None:
        text += f"#{item.line_id}"
    return text


def encode_choice(items: Sequence[ChoiceItem]) -> str:
    """A product choice: its items joined by ``+``."""
    if not items:
        raise ValueError("a product choice needs at least one item")
    return "+".join(encode_item(item) for item in items)


def decode_choice(choice: str) -> tuple[ChoiceItem, ...]:
    """The items of a product choice; ValueError for a special token or malformed text."""
    if choice in SPECIAL:
        raise ValueError(f"{choice!r} is not a product choice")
    items: list[ChoiceItem] = []
    for part in choice.split("+"):
        match = _ITEM.fullmatch(part)
        if match is None:
            raise ValueError(f"malformed choice {choice!r}")
        grams = match["grams"]
        weight = float(grams) if grams is not None else None
        if weight is not None and not (math.isfinite(weight) and weight > 0):
            raise ValueError(f"choice {choice!r}: weight must be positive")
        items.append(
            ChoiceItem(
                sku=match["sku"],
                quantity=int(match["qty"]) if match["qty"] else 1,
                weight_g=weight,
                unit_price_cents=int(match["cents"]) if match["cents"] else None,
                line_id=int(match["line"]) if match["line"] else None,
            )
        )
    return tuple(items)


def accepts(choices: Sequence[str], answer: str) -> bool:
    """Whether ``answer`` may answer a prompt offering ``choices``: one of them, or any product
    choice where the prompt offers :data:`OTHER`."""
    return answer in choices or (OTHER in choices and is_product_choice(answer))


def is_product_choice(choice: str) -> bool:
    """Whether ``choice`` names products (rather than being a special token)."""
    try:
        decode_choice(choice)
    except ValueError:
        return False
    return True
