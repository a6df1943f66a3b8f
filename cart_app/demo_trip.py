"""A scripted shopping trip on the bundled demo store, for the headless demo.

Weights go through the real path: the scale simulator's load cells → pty → cart-board parser →
weight filter → fusion. What the cameras would see is injected as item observations (the camera
pipeline is wired by a later step), and the shopper's taps are engine commands, as the
touchscreen sends them. A step waits for its outcome on the basket, so the trip shows what a
shopper would see after each move.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

from cart_app.app import CartApp
from cart_app.basket import BasketState
from cart_app.devices import SimulatorPart
from cart_app.domain import Coupon, Product
from cart_app.engine import CartSnapshot
from cart_app.events import (
    Answer,
    ApplyCoupon,
    CompleteSession,
    HandOff,
    RequestCheckout,
    Sensed,
    StartSession,
)
from cart_app.receipt_text import render_snapshot
from scale.service import ScaleService
from scale.sim.physics import POSITIONS
from scale.sim.script import Put, Take
from vision.gtin import normalize_gtin
from vision.types import BarcodeRead, Candidate, Direction, ItemObservation

Pay = Callable[[str, int], None]
"""The exit lane paying a basket: (QR token, amount in cents)."""

STEP_TIMEOUT_S = 20.0
"""Longest wait for one step's outcome (fusion waits ~2 s for late camera reports)."""


class DemoError(RuntimeError):
    """A step of the demo did not happen; the message says which."""


def _wait(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise DemoError(f"the demo waited {STEP_TIMEOUT_S:.0f} s for {what}")


class DemoTrip:
    """Drives a started laptop-profile app through one trip."""

    def __init__(self, app: CartApp, echo: Callable[[str], None], pay: Pay | None = None) -> None:
        self.app = app
        self.pay = pay
        self.echo = echo
        self.currency = app.catalog.store_info().currency
        sim = next((p for p in app.parts if isinstance(p, SimulatorPart)), None)
        service = next((p for p in app.parts if isinstance(p, ScaleService)), None)
        if sim is None or sim.server is None or service is None:
            raise DemoError("the demo needs the scale simulator (scale.driver = 'simulator')")
        self.sim = sim.server
        self.scale = service

    @property
    def basket(self) -> BasketState:
        return self.app.engine.snapshot.basket

    def show(self, title: str) -> None:
        self.echo(f"\n== {title}")
        self.echo(render_snapshot(self.app.engine.snapshot, self.currency))

    def product(self, sku: str) -> Product:
        product = self.app.catalog.by_sku(sku)
        if product is None:
            raise DemoError(f"the demo store has no {sku}")
        return product

    def see(self, product: Product, direction: Direction, p: float = 0.93) -> None:
        """The cameras report an item crossing the basket opening."""
        barcode = None
        if product.gtins:
            code = product.gtins[0].lstrip("0")
            barcode = BarcodeRead("ean13", code, normalize_gtin(code))
        label = product.labels[0] if product.labels else product.sku
        obs = ItemObservation(
            "demo-camera", direction, (Candidate(label, p),), barcode, self.app.clock.monotonic()
        )
        self.app.engine.submit(Sensed(obs))

    def see_unsure(self, a: Product, b: Product) -> None:
        """The cameras saw an item but cannot tell two look-alikes apart (no barcode read)."""
        candidates = (Candidate(a.labels[0], 0.48), Candidate(b.labels[0], 0.46))
        obs = ItemObservation(
            "demo-camera", Direction.INTO, candidates, None, self.app.clock.monotonic()
        )
        self.app.engine.submit(Sensed(obs))

    def lines_of(self, sku: str) -> int:
        return sum(line.quantity for line in self.basket.lines if line.sku == sku)

    def run(self) -> CartSnapshot:
        """Play the whole trip; returns the final snapshot."""
        engine = self.app.engine
        _wait(lambda: self.scale.status().state.value == "ok", "the scale to connect")
        _wait(lambda: self.scale.filter.merchandise_g is not None, "the scale to settle")  # type: ignore[attr-defined]
        engine.call(StartSession(reason="demo"), timeout=10)
        self.show("shopper taps Start")

        asparagus = self.product("FV-ASPARAGUS")
        self.see(asparagus, Direction.INTO)
        self.sim.submit(Put(asparagus.nominal_weight_g)).result(timeout=10)
        _wait(lambda: self.lines_of(asparagus.sku) == 1, "the asparagus line")
        self.show(f"{asparagus.name} goes in: barcode and weight agree")

        yoghurt = self.product("D-YOGHURT-NAT")
        self.see(yoghurt, Direction.INTO)
        self.sim.submit(Put(3 * yoghurt.nominal_weight_g, POSITIONS["rear-left"])).result(
            timeout=10
        )
        _wait(lambda: self.lines_of(yoghurt.sku) == 3, "three yoghurts")
        self.show(f"three × {yoghurt.name} at once: quantity from the weight, 3 for 2 applies")

        banana = self.product("FV-BANANA")
        self.see(banana, Direction.INTO)
        self.sim.submit(Put(642.0, POSITIONS["front-right"])).result(timeout=10)
        _wait(lambda: any(line.sku == banana.sku for line in self.basket.lines), "the bananas")
        self.show(f"{banana.name}: sold by weight, the scale's settled weight is charged")

        std, med = self.product("D-MILK-STD"), self.product("D-MILK-MED")
        self.see_unsure(std, med)
        self.sim.submit(Put(med.nominal_weight_g, POSITIONS["rear-right"])).result(timeout=10)
        _wait(lambda: bool(self.basket.pending_prompts), "the cart to ask")
        prompt = self.basket.pending_prompts[-1]
        self.show("the cameras cannot tell the two milks apart: the cart asks at once")
        choice = next((c for c in prompt.choices if c.startswith(med.sku)), None)
        if choice is None:
            raise DemoError(f"the prompt did not offer {med.sku}: {prompt.choices}")
        engine.call(Answer(prompt.prompt_id, choice, "shopper"), timeout=10)
        _wait(lambda: self.lines_of(med.sku) == 1, "the answered milk")
        self.show(f"shopper taps {med.name}")

        self.see(asparagus, Direction.OUT_OF)
        self.sim.submit(Take(asparagus.nominal_weight_g)).result(timeout=10)
        _wait(lambda: self.lines_of(asparagus.sku) == 0, "the asparagus to come out")
        self.show(f"{asparagus.name} taken out again: removed from the basket")

        engine.call(ApplyCoupon(Coupon("DEMO10", amount_off_cents=1000)), timeout=10)
        self.show("coupon scanned")
        engine.call(RequestCheckout(), timeout=10)
        self.show("shopper taps Checkout: the basket freezes")
        link = self.app.store_link
        if link is not None:
            ticket = link.hand_off()
            self.echo(f"\n== handed to the exit lane: QR token {ticket.token[:28]}…")
            self.echo(f"   store link {link.status.state.value}")
        else:
            engine.call(HandOff(uuid.uuid4().hex), timeout=10)
        if link is not None and self.pay is not None:
            # The lane scans the QR code and takes the payment at the store; the cart hears
            # "paid" from the store and closes the session itself.
            self.pay(ticket.token, ticket.total_cents)
            _wait(lambda: self.basket.state.value == "done", "the store to report paid")
            self.show("the exit lane verified the token and took the payment: paid")
            return self.app.engine.snapshot
        final = engine.call(CompleteSession("paid at the exit lane (demo)"), timeout=10)
        self.show("exit lane reports paid (no store server: the demo settles it)")
        if not isinstance(final, CartSnapshot):
            raise DemoError(f"the session did not complete: {final}")
        return final


def run_demo_trip(
    app: CartApp, out: Path, echo: Callable[[str], None], pay: Pay | None = None
) -> Path:
    """Play the trip on a started ``app``, echoing each step; returns the receipt file.

    ``pay`` is the exit lane (token, amount): given one, payment goes through the store.
    """
    final = DemoTrip(app, echo, pay).run()
    receipt_path = out / "receipt.txt"
    receipt_path.write_text(render_snapshot(final, app.catalog.store_info().currency) + "\n")
    return receipt_path
