"""A scripted shopping trip on the bundled demo store, played through the cart's real inputs.

The script only does what a shopper's hands and the store's devices do:

* an item crossing the basket opening is a :class:`~vision.demo_camera.Pass` on the demo
  camera, whose frames (product renders with their print and barcodes) go through the motion
  gate, tracker, recogniser and barcode reader like a real camera's;
* an item landing in the basket is a ``Put`` on the scale simulator, whose load-cell bytes go
  over a pty through the cart-board parser and the weight filter;
* the shopper's taps (Start, a prompt's answer, Checkout) are the engine commands the
  touchscreen sends, and the exit lane pays through the store server's API.

Fusion decides every line from those signals; the script then waits for the basket to show the
expected outcome, and says what a shopper would see. Each step can be photographed by a hook
(the demo UI takes a window screenshot there).
"""

from __future__ import annotations

import re
import threading
import time
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2

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
    StartSession,
)
from cart_app.fusion.choices import SHOW, decode_choice
from cart_app.receipt_text import render_snapshot
from cart_app.store.link import HandoffTicket
from scale.service import ScaleService
from scale.sim.physics import POSITIONS, Position
from scale.sim.script import Put, Take
from vision.demo_camera import DemoCamera, Pass
from vision.render.products import Side
from vision.sources import Image
from vision.types import Direction

Pay = Callable[[str, int], None]
"""The exit lane paying a basket: (QR token, amount in cents)."""
StepHook = Callable[["Step"], None]
"""Called after each step (on the trip's thread); may block, e.g. to take a screenshot."""

WARM_UP_FRAMES = 30
"""Frames (2 s at 15 fps) the camera shows of the empty basket before the first item."""
STEP_TIMEOUT_S = 30.0
"""Longest wait for one step's outcome (fusion waits ~1.5 s for late camera reports; a loaded
machine renders and recognises frames slower)."""


class DemoError(RuntimeError):
    """A step of the demo did not happen; the message says which and what the cart shows."""


class DemoCancelled(DemoError):
    """The trip was stopped from outside (the window closed, the shopper took over)."""


@dataclass(frozen=True, slots=True)
class Step:
    """One step of the trip as the shopper sees it."""

    index: int
    title: str
    snapshot: CartSnapshot

    @property
    def name(self) -> str:
        """``NN-short-title``: the file name (without suffix) of the step's pictures."""
        folded = unicodedata.normalize("NFKD", self.title.lower()).encode("ascii", "ignore")
        text = re.sub(r"[^a-z0-9]+", "-", folded.decode()).strip("-")[:40].rstrip("-")
        return f"{self.index:02d}-{text or 'step'}"


class DemoTrip:
    """Drives a started app (scale simulator, a ``demo`` camera) through one trip."""

    def __init__(
        self,
        app: CartApp,
        echo: Callable[[str], None],
        pay: Pay | None = None,
        *,
        on_step: StepHook | None = None,
        cancelled: threading.Event | None = None,
        camera_dir: Path | None = None,
        hand_off: Callable[[], HandoffTicket] | None = None,
    ) -> None:
        self.app = app
        self.pay = pay
        # With the touchscreen open the shopper's "Pay at the exit" does the handoff, so the
        # QR code the lane scans is the one on the screen.
        self.hand_off = hand_off
        self.echo = echo
        self.on_step = on_step
        self.cancelled = cancelled or threading.Event()
        self.camera_dir = camera_dir
        self._seen: Image | None = None
        self.steps: list[Step] = []
        self.currency = app.catalog.store_info().currency
        sim = next((p for p in app.parts if isinstance(p, SimulatorPart)), None)
        service = next((p for p in app.parts if isinstance(p, ScaleService)), None)
        if sim is None or sim.server is None or service is None:
            raise DemoError("the demo needs the scale simulator (scale.driver = 'simulator')")
        if not app.cameras.demo_cameras:
            raise DemoError("the demo needs a camera with source = 'demo'")
        self.sim = sim.server
        self.scale = service
        self.camera: DemoCamera = app.cameras.demo_cameras[0]

    # --- what the script can see and wait for ---------------------------------------------

    @property
    def basket(self) -> BasketState:
        return self.app.engine.snapshot.basket

    def lines_of(self, sku: str) -> int:
        return sum(line.quantity for line in self.basket.lines if line.sku == sku)

    def _wait(self, predicate: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.cancelled.is_set():
                raise DemoCancelled(f"stopped while waiting for {what}")
            if predicate():
                return
            time.sleep(0.05)
        shown = render_snapshot(self.app.engine.snapshot, self.currency)
        raise DemoError(f"waited {STEP_TIMEOUT_S:.0f} s for {what}; the cart shows:\n{shown}")

    def show(self, title: str) -> None:
        """Report a step: print the basket and let the hook photograph it."""
        snapshot = self.app.engine.snapshot
        step = Step(len(self.steps) + 1, title, snapshot)
        self.steps.append(step)
        self.echo(f"\n== {step.index:02d} {title}")
        self.echo(render_snapshot(snapshot, self.currency))
        if self.camera_dir is not None and self._seen is not None:
            self.camera_dir.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(self.camera_dir / f"{step.name}.png"), self._seen)
        self._seen = None
        if self.on_step is not None:
            self.on_step(step)
        if self.cancelled.is_set():
            raise DemoCancelled("stopped after a step")

    def product(self, sku: str) -> Product:
        product = self.app.catalog.by_sku(sku)
        if product is None:
            raise DemoError(f"the demo store has no {sku}")
        return product

    # --- the shopper's hands ----------------------------------------------------------------

    def _pass(self, item: Pass) -> None:
        done = self.camera.play(item)
        deadline = time.monotonic() + STEP_TIMEOUT_S
        while not done.done():
            if self.cancelled.is_set():
                raise DemoCancelled("stopped during a camera pass")
            if time.monotonic() > deadline:
                raise DemoError(f"the demo camera did not play {item} (is capture running?)")
            time.sleep(0.02)
        self._seen = done.result()

    def put_in(
        self,
        product: Product,
        grams: float,
        *,
        count: int = 1,
        position: Position | None = None,
        side: Side = "front",
        x: float = 0.5,
    ) -> None:
        """The item crosses the opening into the basket, then lands on the load cells."""
        self._pass(Pass(product, Direction.INTO, count=count, side=side, x=x))
        put = Put(grams, position) if position is not None else Put(grams)
        self.sim.submit(put).result(timeout=10)

    def take_out(self, product: Product, grams: float) -> None:
        """The item is lifted off the load cells and leaves through the opening."""
        lifted = self.sim.submit(Take(grams))
        self._pass(Pass(product, Direction.OUT_OF))
        lifted.result(timeout=10)

    def _settle(self, product: Product, done: Callable[[], bool], what: str) -> None:
        """Wait for ``done``; if the cart asks about the item meanwhile, answer as a shopper would.

        A busy machine can drop the frames that showed a barcode, or all of a pass: the cart
        then asks, and the shopper shows the item again or taps it among the choices.
        """
        answered: set[str] = set()

        def settled() -> bool:
            if done():
                return True
            prompts = self.basket.pending_prompts
            prompt = prompts[-1] if prompts else None
            if prompt is None or prompt.prompt_id in answered:
                return False
            answered.add(prompt.prompt_id)
            tap = next((c for c in prompt.choices if _sku_of(c) == product.sku), None)
            if tap is not None:
                self.echo(f"   (the cart asks ({prompt.reason}); the shopper taps {tap})")
                self.app.engine.call(Answer(prompt.prompt_id, tap, "shopper"), timeout=10)
            elif SHOW in prompt.choices:
                self.echo(f"   (the camera missed it; the shopper shows {product.name} again)")
                self.app.engine.call(Answer(prompt.prompt_id, SHOW, "shopper"), timeout=10)
                self._pass(Pass(product, Direction.HELD, duration_s=2.4))
            return False

        self._wait(settled, what)

    # --- the trip ---------------------------------------------------------------------------

    def run(self) -> CartSnapshot:
        """Play the whole trip; returns the final snapshot."""
        engine = self.app.engine
        self._wait(lambda: self.scale.status().state.value == "ok", "the scale to connect")
        self._wait(lambda: self.scale.filter.merchandise_g is not None, "the scale to settle")  # type: ignore[attr-defined]
        # The motion gate learns the empty basket from the first frames; an item shown before
        # that would be part of its background.
        self._wait(lambda: self.camera.frames >= WARM_UP_FRAMES, "the camera's first frames")
        engine.call(StartSession(reason="demo"), timeout=10)
        self.show("shopper taps Start")

        asparagus = self.product("FV-ASPARAGUS")
        self.put_in(asparagus, asparagus.nominal_weight_g, x=0.45)
        self._settle(asparagus, lambda: self.lines_of(asparagus.sku) == 1, "the asparagus line")
        self.show(f"{asparagus.name} goes in: the camera reads its barcode, the weight agrees")

        yoghurt = self.product("D-YOGHURT-NAT")
        grams = 3 * yoghurt.nominal_weight_g
        self.put_in(yoghurt, grams, count=3, position=POSITIONS["rear-left"], x=0.5)
        self._settle(yoghurt, lambda: self.lines_of(yoghurt.sku) == 3, "three yoghurts")
        self.show(f"three × {yoghurt.name} at once: quantity from the weight, 3 for 2 applies")

        banana = self.product("FV-BANANA")
        self.put_in(banana, 642.0, position=POSITIONS["front-right"], x=0.55)
        self._settle(banana, lambda: self.lines_of(banana.sku) == 1, "the bananas")
        self.show(f"{banana.name}: recognised by the camera, charged by the scale's weight")

        milk = self.product("D-MILK-MED")
        # Slid in at the back corner, under the camera's view: only the scale notices.
        self.sim.submit(Put(milk.nominal_weight_g, POSITIONS["rear-right"])).result(timeout=10)
        self._wait(lambda: bool(self.basket.pending_prompts), "the cart to ask")
        prompt = self.basket.pending_prompts[-1]
        self.show("something went in past the camera: the cart asks to see it")
        if SHOW not in prompt.choices:
            raise DemoError(f"the prompt does not ask to be shown the item: {prompt.choices}")
        # The shopper taps "Show it"; the answer is the item itself, held up to the camera:
        # its barcode names it.
        engine.call(Answer(prompt.prompt_id, SHOW, "shopper"), timeout=10)
        self._pass(Pass(milk, Direction.HELD, duration_s=2.4, x=0.5))
        self._wait(lambda: self.lines_of(milk.sku) == 1, "the milk shown to the camera")
        self.show(f"shopper holds up {milk.name}: the camera reads it, prompt answered")

        self.take_out(asparagus, asparagus.nominal_weight_g)
        self._wait(lambda: self.lines_of(asparagus.sku) == 0, "the asparagus to come out")
        self.show(f"{asparagus.name} taken out again: removed from the basket")

        engine.call(ApplyCoupon(Coupon("DEMO10", amount_off_cents=1000)), timeout=10)
        self.show("coupon DEMO10 scanned")
        engine.call(RequestCheckout(), timeout=10)
        self.show("shopper taps Checkout: the basket freezes")
        return self._pay()

    def _pay(self) -> CartSnapshot:
        engine = self.app.engine
        link = self.app.store_link
        if link is None:
            engine.call(HandOff(uuid.uuid4().hex), timeout=10)
            final = engine.call(CompleteSession("paid at the exit lane (demo)"), timeout=10)
            if not isinstance(final, CartSnapshot):
                raise DemoError(f"the session did not complete: {final}")
            self.show("exit lane reports paid (no store server: the demo settles it)")
            return final
        ticket = self.hand_off() if self.hand_off is not None else link.hand_off()
        self.show(f"handed to the exit lane: QR token {ticket.token[:20]}…")
        if self.pay is None:
            final = engine.call(CompleteSession("paid at the exit lane (demo)"), timeout=10)
            if not isinstance(final, CartSnapshot):
                raise DemoError(f"the session did not complete: {final}")
            return final
        # The lane scans the QR code and takes the payment at the store; the cart hears
        # "paid" from the store and closes the session itself.
        self.pay(ticket.token, ticket.total_cents)
        self._wait(lambda: self.basket.state.value == "done", "the store to report paid")
        self.show("the exit lane verified the token and took the payment: paid")
        return self.app.engine.snapshot


def _sku_of(choice: str) -> str | None:
    """The SKU of a single-product prompt choice (``D-YOGHURT-NAT*3``), else ``None``."""
    try:
        items = decode_choice(choice)
    except ValueError:
        return None
    return items[0].sku if len(items) == 1 else None


def receipt_text(app: CartApp, final: CartSnapshot) -> str:
    """The receipt file's text: the final snapshot's receipt."""
    return render_snapshot(final, app.catalog.store_info().currency) + "\n"
