"""Fusion's commands fed into a real engine (real ledger file, demo catalog): the basket that
results is the trip that happened, and the ledger restores it."""

from __future__ import annotations

from pathlib import Path

from cart_app.basket import BasketState, restore
from cart_app.catalog import Catalog
from cart_app.clock import FakeClock
from cart_app.domain import EvidenceSource
from cart_app.engine import CartSnapshot, Engine
from cart_app.events import Command, CommandRejected, RequestCheckout, StartSession
from cart_app.fusion import Fuser, FusionSettings
from cart_app.ledger import Ledger
from cart_app.session import SessionState
from tests.conftest import make_engine
from tests.fusion.helpers import HELD, INTO, OUT, SETTLE_S, barcode, make_fuser, seen, weighed
from vision.types import ItemObservation

LAGER_GTIN = "7350999000349"
GUM_GTIN = "73091233"


class Cart:
    """An engine and a fuser wired as the engine thread would wire them, on one fake clock."""

    def __init__(self, engine: Engine, fuser: Fuser, clock: FakeClock) -> None:
        self.engine = engine
        self.fuser = fuser
        self.clock = clock
        self.rejected: list[CommandRejected] = []

    @property
    def basket(self) -> BasketState:
        return self.engine.snapshot.basket

    def state(self) -> SessionState:
        return self.basket.state

    def feed(self, commands: list[Command]) -> None:
        for command in commands:
            event = self.engine.handle(command)
            if isinstance(event, CommandRejected):
                self.rejected.append(event)

    def wait(self, seconds: float) -> None:
        """Let time pass, ticking the fuser as the engine loop would."""
        end = self.clock.monotonic() + seconds
        while self.clock.monotonic() < end:
            self.clock.advance(0.1)
            self.feed(self.fuser.tick(self.clock.monotonic(), self.basket))

    def see(self, obs: ItemObservation) -> None:
        obs = ItemObservation(
            obs.camera_id, obs.direction, obs.candidates, obs.barcode, self.clock.monotonic()
        )
        self.feed(self.fuser.on_observation(obs, self.basket))

    def weigh(self, delta_g: float) -> None:
        start = self.clock.monotonic()
        self.wait(SETTLE_S)
        self.feed(self.fuser.on_weight_change(weighed(delta_g, start), self.basket))

    def scan(self, code: str) -> None:
        self.feed(self.fuser.on_scan(barcode(code), self.basket))

    def answer(self, answer: str) -> None:
        (prompt,) = self.basket.pending_prompts
        self.feed(self.fuser.on_answer(prompt.prompt_id, answer, self.basket))

    def lines(self) -> list[tuple[str, int, float]]:
        return [(line.sku, line.quantity, line.weight_g) for line in self.basket.lines]


def test_a_trip(tmp_path: Path, demo_catalog: Catalog, clock: FakeClock) -> None:
    engine = make_engine(tmp_path / "ledger.db", demo_catalog, clock)
    engine.start()
    engine.stop()  # restored and idle; commands are applied synchronously below
    cart = Cart(engine, make_fuser(demo_catalog, clock), clock)
    cart.feed([StartSession("trip-1")])

    cart.see(seen(("Avocado", 0.99), direction=INTO))  # one avocado
    cart.weigh(203.0)
    cart.wait(2)
    cart.see(seen(("Arla-Standard-Milk", 0.99)))  # two milks at once
    cart.weigh(2117.0)
    cart.wait(2)
    cart.see(seen(("Granny-Smith", 0.985), ("Pink-Lady", 0.01)))  # a bag of apples
    cart.weigh(734.5)
    cart.wait(2)
    cart.see(seen(("Cucumber", 0.95), direction=HELD))  # looked at, put back on the shelf
    cart.wait(6)
    assert cart.lines() == [
        ("FV-AVOCADO", 1, 0.0),
        ("D-MILK-STD", 2, 0.0),
        ("FV-APPLE-GRANNY", 1, 734.5),
    ]

    cart.weigh(312.0)  # the shopper's own bag, unseen: asked, declared, tared
    cart.wait(4)
    (prompt,) = cart.basket.pending_prompts
    assert prompt.reason == "unseen_item"
    cart.answer(":not_mine")
    assert cart.basket.tare_g == 312.0 and not cart.basket.pending_prompts

    cart.see(seen(("Arla-Standard-Milk", 0.99), direction=OUT))  # one milk back
    cart.weigh(-1061.0)
    cart.wait(2)
    cart.see(seen(code=GUM_GTIN))  # too light for the scale: barcode only
    cart.wait(6)
    cart.scan(LAGER_GTIN)  # scanned, then put in
    cart.wait(0.5)
    cart.weigh(521.0)
    cart.wait(2)
    assert cart.lines() == [
        ("FV-AVOCADO", 1, 0.0),
        ("D-MILK-STD", 1, 0.0),
        ("FV-APPLE-GRANNY", 1, 734.5),
        ("K-CHEWING-GUM", 1, 0.0),
        ("J-LAGER-50CL", 1, 0.0),
    ]
    lager = cart.basket.lines[-1]
    assert lager.evidence[0].source is EvidenceSource.BARCODE
    assert "age_check=18" in lager.evidence[0].note

    # Checkout freezes the basket; a weight change reopens shopping and is charged.
    cart.feed([RequestCheckout()])
    assert cart.state() is SessionState.CHECKOUT
    cart.see(seen(("Avocado", 0.95)))
    cart.weigh(198.0)
    assert cart.state() is SessionState.SHOPPING
    cart.wait(2)
    assert cart.lines()[0] == ("FV-AVOCADO", 2, 0.0)
    assert cart.rejected == []

    snapshot = engine.snapshot
    assert isinstance(snapshot, CartSnapshot) and snapshot.receipt is not None
    prices = {p.sku: p.price_cents for p in demo_catalog.products()}
    unit_total = (
        2 * prices["FV-AVOCADO"]
        + prices["D-MILK-STD"]
        + prices["K-CHEWING-GUM"]
        + prices["J-LAGER-50CL"]
    )
    # 734.5 g is charged as 735 g (half up to the 1 g division), then cents half up.
    apples = (prices["FV-APPLE-GRANNY"] * 735 + 500) // 1000
    assert snapshot.receipt.total_cents == unit_total + apples

    # The ledger is the basket: a restart restores exactly this, prompts and tare included.
    with Ledger.open(tmp_path / "ledger.db", clock) as ledger:
        assert restore(ledger) == cart.basket


def fuser_settings() -> FusionSettings:
    return FusionSettings()


def test_swap_is_asked_and_resolved_by_scan(
    tmp_path: Path, demo_catalog: Catalog, clock: FakeClock
) -> None:
    engine = make_engine(tmp_path / "ledger.db", demo_catalog, clock)
    cart = Cart(engine, make_fuser(demo_catalog, clock), clock)
    cart.feed([StartSession("trip-2")])
    cart.see(seen(("Cucumber", 0.95)))  # looks like a cucumber, weighs like crispbread
    cart.weigh(547.0)
    cart.wait(2)
    assert cart.lines() == []  # never charged silently
    (prompt,) = cart.basket.pending_prompts
    assert prompt.reason == "weight_mismatch"
    cart.feed([RequestCheckout()])
    assert cart.rejected and cart.state() is SessionState.SHOPPING  # blocked by the prompt
    # Scanned without tapping "scan it": it might be the next item, scanned before it goes
    # in; once no item followed, it answers the question.
    cart.scan("7350999000400")  # the crispbread's own barcode
    assert cart.lines() == []
    cart.wait(fuser_settings().pairing_window_s + 0.2)
    assert cart.lines() == [("S-CRISPBREAD", 1, 0.0)]
    assert not cart.basket.pending_prompts
