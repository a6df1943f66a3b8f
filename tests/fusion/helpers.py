"""Builders for fusion tests: observations, weight changes, baskets and a timeline runner."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from cart_app.basket import BasketState, PendingPrompt, empty_basket
from cart_app.clock import FakeClock
from cart_app.domain import BasketLine
from cart_app.events import Answer, Ask, Command, Confirm, ReopenShopping, Tare
from cart_app.fusion import Fuser, FusionCatalog, FusionSettings
from cart_app.session import SessionState
from scale.types import WeightChange
from vision.gtin import normalize_gtin
from vision.types import BarcodeRead, Candidate, Direction, ItemObservation

INTO = Direction.INTO
OUT = Direction.OUT_OF
HELD = Direction.HELD
UNKNOWN = Direction.UNKNOWN
SETTLE_S = 0.4
"""How long the simulated weight changes take to settle."""


def make_fuser(
    catalog: FusionCatalog, clock: FakeClock, settings: FusionSettings | None = None
) -> Fuser:
    """A fuser with prompt ids p1, p2, … so expectations can name them."""
    counter = itertools.count(1)
    return Fuser(catalog, settings or FusionSettings(), clock, new_id=lambda: f"p{next(counter)}")


def shopping(
    lines: Sequence[BasketLine] = (),
    state: SessionState = SessionState.SHOPPING,
    prompts: Sequence[PendingPrompt] = (),
) -> BasketState:
    """A basket in ``state`` holding ``lines``."""
    return replace(
        empty_basket("s1", "cart-test"),
        state=state,
        lines=tuple(lines),
        pending_prompts=tuple(prompts),
        record_count=10 + len(lines),
    )


def barcode(code: str) -> BarcodeRead:
    """A decoded product barcode, normalised as the reader returns it."""
    return BarcodeRead("ean13", code, normalize_gtin(code))


def seen(
    *candidates: tuple[str, float],
    direction: Direction = INTO,
    t: float = 0.0,
    code: str | None = None,
    camera: str = "cam1",
) -> ItemObservation:
    """An observation with the given (label, probability) candidates."""
    return ItemObservation(
        camera,
        direction,
        tuple(Candidate(label, p) for label, p in candidates),
        barcode(code) if code is not None else None,
        t,
    )


def weighed(delta_g: float, t: float = 0.0) -> WeightChange:
    """A weight change that starts at ``t`` and settles ``SETTLE_S`` later."""
    return WeightChange(delta_g, 5000.0, 5000.0 + delta_g, t, t + SETTLE_S)


def summary(command: Command) -> tuple[object, ...]:
    """The parts of a command a table compares (evidence is checked separately)."""
    match command:
        case Confirm():
            weight = round(command.weight_g, 3)
            return (
                "confirm",
                command.kind.value,
                command.sku,
                command.quantity,
                weight,
                command.line_id,
            )
        case Ask():
            return ("ask", command.reason, command.choices, command.prompt_id)
        case Answer():
            return ("answer", command.prompt_id, command.answer, command.answered_by)
        case Tare():
            return ("tare", round(command.weight_g, 3))
        case ReopenShopping():
            return ("reopen",)
    return (type(command).__name__,)


@dataclass(frozen=True)
class Obs:
    """At ``at`` seconds, an observation; its ``t`` is ``seen_at`` (default: ``at``)."""

    at: float
    observation: ItemObservation
    seen_at: float | None = None


@dataclass(frozen=True)
class Weigh:
    """At ``at`` seconds a weight change starts; it is reported when it settles."""

    at: float
    delta_g: float


@dataclass(frozen=True)
class Scan:
    """At ``at`` seconds the shopper scans ``code``."""

    at: float
    code: str


@dataclass(frozen=True)
class Reply:
    """At ``at`` seconds the shopper answers ``prompt_id`` with ``answer``."""

    at: float
    prompt_id: str
    answer: str


Event = Obs | Weigh | Scan | Reply


@dataclass
class Timeline:
    """Plays events against a fuser on a fake clock and collects its commands."""

    fuser: Fuser
    clock: FakeClock
    basket: BasketState
    commands: list[Command] = field(default_factory=list)

    def at(self, seconds: float) -> None:
        """Move the clock to ``seconds`` after the origin, ticking the fuser on the way."""
        target = self.origin + seconds
        while self.clock.monotonic() + 0.25 < target:
            self.clock.advance(0.25)
            self.commands += self.fuser.tick(self.clock.monotonic(), self.basket)
        self.clock.advance(max(target - self.clock.monotonic(), 0.0))

    @property
    def origin(self) -> float:
        """Time zero of the timeline."""
        return 1_000.0

    def play(self, events: Sequence[Event], until: float = 12.0) -> list[Command]:
        """Run ``events`` (in time order) then tick until ``until`` seconds."""
        for event in sorted(events, key=lambda e: e.at):
            if isinstance(event, Weigh):
                self.at(event.at + SETTLE_S)
                change = weighed(event.delta_g, self.origin + event.at)
                self.commands += self.fuser.on_weight_change(change, self.basket)
            else:
                self.at(event.at)
                self.commands += self._deliver(event)
        self.at(until)
        self.commands += self.fuser.tick(self.clock.monotonic(), self.basket)
        return self.commands

    def _deliver(self, event: Obs | Scan | Reply) -> list[Command]:
        if isinstance(event, Obs):
            seen_at = event.at if event.seen_at is None else event.seen_at
            obs = replace(event.observation, t=self.origin + seen_at)
            return self.fuser.on_observation(obs, self.basket)
        if isinstance(event, Scan):
            return self.fuser.on_scan(barcode(event.code), self.basket)
        return self.fuser.on_answer(event.prompt_id, event.answer, self.basket)
