"""Deciding pending weight changes: confirm, wait for late observations, or ask.

Changes are decided oldest first, each with the observations paired with it
(:mod:`cart_app.fusion.pairing`). A decisive verdict is carried out (at once, or after the
grace for late observations); an undecided one waits for late observations, then is asked about.
A count charged before the grace was over is provisional (:mod:`cart_app.fusion.provisional`):
a late observation of an item going in makes the change be decided again with it.
"""

from __future__ import annotations

from dataclasses import replace

from cart_app.basket import BasketState
from cart_app.events import ChangeKind, Command, Confirm, Tare
from cart_app.fusion import prompts
from cart_app.fusion.addition import assess_add
from cart_app.fusion.asking import PromptDesk
from cart_app.fusion.book import ProductBook
from cart_app.fusion.charging import Charger
from cart_app.fusion.pairing import (
    ADD_DIRECTIONS,
    act_now,
    assess,
    change_kind,
    closest,
    counted_early,
    nearby,
    used,
)
from cart_app.fusion.provisional import Provisional, pairs_with, take_back
from cart_app.fusion.state import FuserCore
from cart_app.fusion.verdicts import verdict
from cart_app.fusion.views import view_observation
from scale.types import WeightChange
from vision.types import ItemObservation

OWN_BAG_LABEL = "own-bag"
"""Reserved recognition label of the shoppers' own bags (no SKU; enrolled by the store)."""


class WeightDecider:
    """Decides the pending weight changes in ``core``'s state."""

    def __init__(self, core: FuserCore, desk: PromptDesk, charger: Charger) -> None:
        """A decider that asks through ``desk`` and carries out through ``charger``."""
        self._core = core
        self._settings = core.settings
        self._desk = desk
        self._charger = charger

    def decide(self, now: float, basket: BasketState, book: ProductBook) -> list[Command]:
        """Carry out, keep waiting on, or ask about each pending weight change."""
        settings = self._settings
        commands: list[Command] = []
        remaining: list[WeightChange] = []
        consumed: set[int] = set()
        reserved: set[int] = set()
        provisional = [p for p in self._core.state.provisional if now <= p.until]
        for change in sorted(self._core.state.weights, key=lambda c: (c.t_settled, c.t_start)):
            kind = change_kind(change)
            near = nearby(
                self._core.state.observations, change, kind, consumed | reserved, settings
            )
            group = closest(near, settings)
            bag = self._own_bag(change, kind, group) if group else None
            if bag is not None:
                commands.append(bag)
                consumed |= set(group)
                continue
            views = [
                view_observation(self._core.state.observations[i], kind, book, settings)
                for i in group
            ]
            assessment = assess(
                change.delta_g,
                views,
                state=self._core.state,
                basket=basket,
                book=book,
                settings=settings,
                # Four tracks, one of them Gala and three Pink Lady, were three Pink Lady
                # tracks in the group: pooled, they charged a bag of Galas as Pink Lady.
                pool=len(near) <= len(group),
            )
            result = verdict(assessment, settings)
            if result.confirm is not None:
                if act_now(change, assessment, result.confirm, now, settings):
                    done = self._charger.carry_out(assessment, result.confirm, book, basket)
                    commands += done
                    taken = used(group, assessment, result.confirm)
                    consumed |= taken
                    if counted_early(change, assessment, result.confirm, now, settings):
                        provisional.append(
                            Provisional(
                                change,
                                tuple(self._core.state.observations[i] for i in sorted(taken)),
                                result.confirm.outcome,
                                tuple(c for c in done if isinstance(c, Confirm)),
                                change.t_settled + settings.observation_grace_s,
                            )
                        )
                else:
                    remaining.append(change)
                    reserved |= set(group)
                continue
            wait = settings.observation_grace_s if group else settings.pairing_window_s
            if now < change.t_settled + wait or result.reason is None:
                remaining.append(change)
                reserved |= set(group)  # an undecided change keeps its observations
                continue
            commands += self._desk.ask(
                assessment,
                change=change,
                reason=result.reason,
                options=result.choices,
                basket=basket,
                book=book,
                now=now,
            )
            consumed |= set(group)
        observations = tuple(
            o for i, o in enumerate(self._core.state.observations) if i not in consumed
        )
        self._core.state = replace(
            self._core.state,
            weights=tuple(remaining),
            observations=observations,
            provisional=tuple(provisional),
        )
        return commands

    def _own_bag(self, change: WeightChange, kind: ChangeKind, group: list[int]) -> Tare | None:
        """The shopper's own bag going in, seen as one: tared without asking.

        Stores enrol a few of the bags shoppers bring under the reserved recognition label
        ``own-bag`` (docs/fusion.md). Every paired observation must call it a bag, and the
        gain must be an empty bag's: a heavier "bag" holds something, and is asked about.
        """
        settings = self._settings
        if kind is not ChangeKind.ADD or change.delta_g > settings.own_bag_max_g:
            return None
        tops = []
        for i in group:
            obs = self._core.state.observations[i]
            top = max(obs.candidates, key=lambda c: c.probability, default=None)
            if obs.barcode is not None or top is None or top.label != OWN_BAG_LABEL:
                return None
            if top.probability < settings.own_bag_probability:
                return None
            tops.append(top.probability)
        self._core.state = replace(
            self._core.state, own_items_g=(*self._core.state.own_items_g, change.delta_g)
        )
        return Tare(
            change.delta_g, f"shopper's own bag (seen as {OWN_BAG_LABEL}, p={max(tops):.2f})"
        )

    def revise(self, obs: ItemObservation, now: float, book: ProductBook) -> list[Command]:
        """A late report of an item going in, at the time of a count charged at once: decide
        that change again with it (``provisional.py``); nothing when the verdict stands."""
        basket = self._core.basket
        if basket is None or obs.direction not in ADD_DIRECTIONS:
            return []
        settings = self._settings
        for p in self._core.state.provisional:
            if now > p.until or not pairs_with(p, obs, settings.pairing_window_s):
                continue
            views = [
                view_observation(o, ChangeKind.ADD, book, settings) for o in (*p.observations, obs)
            ]
            assessment = assess_add(p.change.delta_g, views, book, settings)
            result = verdict(assessment, settings)
            if result.confirm is not None and result.confirm.outcome == p.outcome:
                continue  # the late view changes nothing: it is the next item's
            self._core.state = replace(
                self._core.state,
                provisional=tuple(q for q in self._core.state.provisional if q is not p),
            )
            commands: list[Command] = list(take_back(p, "a late observation changed the count"))
            if result.confirm is not None:
                return commands + self._charger.carry_out(assessment, result.confirm, book, basket)
            return commands + self._desk.ask(
                assessment,
                change=p.change,
                reason=result.reason or prompts.AMBIGUOUS_ITEM,
                options=result.choices,
                basket=basket,
                book=book,
                now=now,
            )
        return []
