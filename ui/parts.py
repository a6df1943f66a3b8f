"""What changed after a controller update, so that observers can redraw only their part."""

from __future__ import annotations

import enum


class Part(enum.StrEnum):
    """A part of the UI that an update changed."""

    BASKET = "basket"
    PROMPT = "prompt"
    MAP = "map"
    SEARCH = "search"
    CHECKOUT = "checkout"
    WELCOME = "welcome"
    SCREEN = "screen"
    STAFF = "staff"
    HEALTH = "health"
    BANNER = "banner"
    """The cart's health banner (degraded modes, offline, a staff check due)."""
    AUDIT = "audit"
    MESSAGE = "message"
    LANGUAGE = "language"
    BUDGET = "budget"
    DEV = "dev"
    ENROL = "enrol"
    PICKER = "picker"
    """The "Something else" product picker."""


ALL_PARTS = frozenset(Part)
