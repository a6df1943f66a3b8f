"""Fusion: what the cameras saw, what the scale weighed and what the barcode said, in one verdict.

Pure logic on the engine thread with an injectable clock (``docs/fusion.md``):

- :class:`~cart_app.fusion.fuser.Fuser` pairs observations with weight changes and turns them
  into engine commands (``Confirm``, ``Ask``, ``Answer``, ``Tare``, ``ReopenShopping``);
- :mod:`~cart_app.fusion.hypotheses` scores the explanations of one event group (those of an
  addition in :mod:`~cart_app.fusion.addition`, of a removal in :mod:`~cart_app.fusion.removal`),
  and :mod:`~cart_app.fusion.verdicts` decides between confirming and asking;
- :mod:`~cart_app.fusion.weights` is the weight model; :mod:`~cart_app.fusion.choices` the
  grammar of prompt choices; :mod:`~cart_app.fusion.prompts` the prompts' reason codes.
"""

from cart_app.fusion.book import FusionCatalog
from cart_app.fusion.choices import (
    NOT_MINE,
    NOTHING,
    OTHER,
    SCAN,
    SHOW,
    ChoiceItem,
    decode_choice,
    encode_choice,
)
from cart_app.fusion.fuser import WITHDRAWN, Fuser, FusionState, OpenPrompt, PromptContext
from cart_app.fusion.settings import FusionSettings

__all__ = [
    "NOTHING",
    "NOT_MINE",
    "OTHER",
    "SCAN",
    "SHOW",
    "WITHDRAWN",
    "ChoiceItem",
    "Fuser",
    "FusionCatalog",
    "FusionSettings",
    "FusionState",
    "OpenPrompt",
    "PromptContext",
    "decode_choice",
    "encode_choice",
]
