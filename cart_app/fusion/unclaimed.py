"""Observations no weight change claimed: held items, and items too light for the scale.

An observation that nothing claims within its pairing window (plus the grace) was held, not
placed: nothing is charged, unless its product is too light for the scale, which is then
confirmed from the camera or barcode alone (once, however many cameras saw it). An item seen
going in that is probably too light but not clearly so is asked about.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from cart_app.basket import BasketState
from cart_app.domain import BasketLine
from cart_app.events import ChangeKind, Command
from cart_app.fusion import choices as ch
from cart_app.fusion import prompts
from cart_app.fusion.asking import PromptDesk
from cart_app.fusion.book import ProductBook
from cart_app.fusion.charging import confirm_for, evidence_for
from cart_app.fusion.hypotheses import Item, Outcome
from cart_app.fusion.pairing import change_kind, paired
from cart_app.fusion.state import FuserCore, PromptContext, RecentLight
from cart_app.fusion.views import ObservationView, view_observation
from vision.types import Direction, ItemObservation

_TOO_LIGHT_ASK_MASS = 0.5
"""Vision mass on too-light products above which an unclear one is asked about, not dropped."""


class UnclaimedObservations:
    """Expires the observations no weight change claimed, confirming too-light items."""

    def __init__(self, core: FuserCore, desk: PromptDesk) -> None:
        """Expiry over ``core``'s pending observations, asking through ``desk``."""
        self._core = core
        self._settings = core.settings
        self._desk = desk

    def expire(self, now: float, basket: BasketState, book: ProductBook) -> list[Command]:
        """Drop the observations past their window; confirm or ask about too-light items."""
        horizon = self._settings.pairing_window_s + self._settings.observation_grace_s
        claimed: set[int] = set()
        for change in self._core.state.weights:
            claimed |= set(
                paired(
                    self._core.state.observations,
                    change,
                    change_kind(change),
                    set(),
                    self._settings,
                )
            )
        keep: list[ItemObservation] = []
        commands: list[Command] = []
        for i, obs in enumerate(self._core.state.observations):
            if i in claimed or now < obs.t + horizon:
                keep.append(obs)
                continue
            commands += self._unweighed(obs, basket, book, now)
        self._core.state = replace(
            self._core.state,
            observations=tuple(keep),
            recent_light=tuple(r for r in self._core.state.recent_light if now < r.t + 2 * horizon),
        )
        return commands

    def _unweighed(
        self, obs: ItemObservation, basket: BasketState, book: ProductBook, now: float
    ) -> list[Command]:
        """An observation no weight change claimed: held (nothing), or a too-light item."""
        if obs.direction is Direction.HELD:
            return []
        kind = ChangeKind.REMOVE if obs.direction is Direction.OUT_OF else ChangeKind.ADD
        view = view_observation(obs, kind, book, self._settings)
        if not view.masses:
            return []
        sku, mass = view.masses[0]
        product = book.product(sku)
        if product is None or not product.too_light_for_scale:
            if kind is ChangeKind.ADD and obs.direction is Direction.INTO:
                return self._maybe_ask_too_light(view, book, now)
            return []
        if any(
            r.sku == sku
            and r.camera_id != obs.camera_id
            and abs(r.t - obs.t) <= self._settings.pairing_window_s
            for r in self._core.state.recent_light
        ):
            return []  # another camera's view of an item already confirmed
        decisive = view.barcode is not None or (
            obs.direction is not Direction.UNKNOWN
            and mass >= self._settings.min_confirm_probability
        )
        if not decisive:
            if kind is ChangeKind.ADD and obs.direction is Direction.INTO:
                return self._maybe_ask_too_light(view, book, now)
            return []
        item = Item(sku)
        if kind is ChangeKind.REMOVE:
            line = _newest_line(basket.lines, sku)
            if line is None:
                return []
            item = Item(sku, 1, line_id=line.line_id)
        evidence = evidence_for(view, sku, None, ["too_light_for_scale"], book)
        self._core.state = replace(
            self._core.state,
            recent_light=(*self._core.state.recent_light, RecentLight(sku, obs.t, obs.camera_id)),
        )
        return [confirm_for(kind, item, evidence, book)]

    def _maybe_ask_too_light(
        self, view: ObservationView, book: ProductBook, now: float
    ) -> list[Command]:
        light = []
        for sku, mass in view.masses:
            product = book.product(sku)
            if product is not None and product.too_light_for_scale:
                light.append((sku, mass))
        if sum(m for _, m in light) < _TOO_LIGHT_ASK_MASS:
            return []  # most likely a heavier item held over the basket: nothing went in
        options = tuple(Outcome((Item(sku),), fits=True) for sku, _ in light)
        context = PromptContext(None, 0.0, (view.observation,))
        return self._desk.open(
            prompts.TOO_LIGHT_UNCLEAR,
            options=options,
            specials=(ch.SCAN, ch.OTHER, ch.NOTHING),
            context=context,
            now=now,
        )


def _newest_line(lines: Sequence[BasketLine], sku: str) -> BasketLine | None:
    return next((line for line in reversed(lines) if line.sku == sku), None)
