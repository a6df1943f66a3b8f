"""Why fusion asks: the reason codes of its prompts, with the sentence a screen may show.

``Ask.reason`` carries the code; the ledger records it, and the UI looks up its own wording.
"""

from __future__ import annotations

from typing import Final

UNSEEN_ITEM: Final = "unseen_item"
"""The weight went up but no camera saw an item: show it to the camera or scan it."""
WEIGHT_MISMATCH: Final = "weight_mismatch"
"""What the camera saw does not weigh what the scale measured (a possible swap)."""
BARCODE_MISMATCH: Final = "barcode_mismatch"
"""The scanned product does not weigh what the scale measured (a possibly swapped label)."""
AMBIGUOUS_ITEM: Final = "ambiguous_item"
"""Several products fit what the camera saw and the weight: which one is it?"""
WEIGH_SEPARATELY: Final = "weigh_separately"
"""A product sold by weight went in together with something else: its weight is not its own."""
TOO_LIGHT_UNCLEAR: Final = "too_light_unclear"
"""An item too light for the scale was seen, but not clearly enough: scan it."""
AMBIGUOUS_REMOVAL: Final = "ambiguous_removal"
"""Something came out and several lines fit: which one?"""
REMOVAL_MISMATCH: Final = "removal_mismatch"
"""Something came out that fits nothing in the basket."""
STAFF_NEEDED: Final = "staff_needed"
"""A prompt timed out unanswered; it stays open for staff (and blocks checkout)."""

TEXT: Final[dict[str, str]] = {
    UNSEEN_ITEM: "Please show the item to the camera, or scan it.",
    WEIGHT_MISMATCH: "We could not recognise that item. Which is it? Or scan it.",
    BARCODE_MISMATCH: "The scanned item does not match its weight. Please scan it again.",
    AMBIGUOUS_ITEM: "Which item did you put in?",
    WEIGH_SEPARATELY: "Please put items sold by weight in one at a time.",
    TOO_LIGHT_UNCLEAR: "Please scan the small item you put in.",
    AMBIGUOUS_REMOVAL: "Which item did you take out?",
    REMOVAL_MISMATCH: "What did you take out? Scan it or choose it.",
    STAFF_NEEDED: "A member of staff will help you shortly.",
}
"""Default English wording per reason; screens may translate."""
