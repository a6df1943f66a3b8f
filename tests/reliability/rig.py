"""A cart as the app wires it (engine, ledger, outbox, store link) over files in one folder, and
generated trips to play on it.

Shared by the power-cut driver (a subprocess that is SIGKILLed), the tests that check what a
restart restores, and ``bench/soak_bench.py``. Everything that could differ between two runs of
the same trip is injected: a :class:`FakeClock` moved one second per step, ids from counters,
prompts that never time out. So a trip is a pure function of its seed, and a reference run in
the test process knows exactly what the killed process had confirmed after each step.

Imports stay light: the driver is started hundreds of times in the soak.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from cart_app.basket import BasketState
from cart_app.catalog import Catalog
from cart_app.clock import FakeClock
from cart_app.domain import Coupon, Evidence, EvidenceSource, PricingMode
from cart_app.engine import Engine, EngineSettings
from cart_app.events import (
    Answer,
    ApplyCoupon,
    Ask,
    ChangeKind,
    Command,
    CompleteSession,
    Confirm,
    Lock,
    ReopenShopping,
    RequestCheckout,
    ResetCart,
    StartSession,
    Tare,
    Unlock,
    VoidLine,
)
from cart_app.ledger import Ledger
from cart_app.pricing import PricingPolicy
from cart_app.session import SessionState
from cart_app.store.client import StoreClient
from cart_app.store.http import TransportSettings
from cart_app.store.link import HandoffRefused, LinkSettings, StoreLink
from cart_app.store.outbox import Outbox
from cart_app.store.token import CartKey
from cart_app.store_layout import demo_store_dir

CART_ID: Final = "cart-rel"
STEP_S: Final = 1.0
"""Simulated seconds between two steps of a trip."""
NEVER_S: Final = 1e7
"""Prompt timeout: no prompt expires during a trip, so the engine's timer never races a step."""


@dataclass(frozen=True, slots=True)
class HandOffStep:
    """The shopper presses "pay": the store link signs, records and queues the basket."""


Step = Command | HandOffStep


def seed_folder(folder: Path, template: Path | None = None) -> None:
    """Put an imported demo catalog and a cart key in ``folder`` (copied from ``template``)."""
    folder.mkdir(parents=True, exist_ok=True)
    if template is not None:
        shutil.copy(template / "catalog.sqlite3", folder / "catalog.sqlite3")
        shutil.copy(template / "cart_key.pem", folder / "cart_key.pem")
        (folder / "cart_key.pem").chmod(0o600)
        return
    catalog = Catalog.open(folder / "catalog.sqlite3")
    try:
        catalog.import_json(demo_store_dir() / "catalog.json")
    finally:
        catalog.close()
    CartKey.load_or_create(folder / "cart_key.pem")


@dataclass
class Cart:
    """One running cart over the files of a folder."""

    folder: Path
    clock: FakeClock
    catalog: Catalog
    ledger: Ledger
    engine: Engine
    outbox: Outbox
    link: StoreLink
    started: list[Callable[[], None]] = field(default_factory=list)

    def stop(self) -> None:
        """Stop and close in reverse order (what a clean shutdown does; a kill does none)."""
        while self.started:
            self.started.pop()()


def counter_ids(prefix: str) -> Callable[[], str]:
    """32 hex digits from ``prefix`` and a counter, thread-safe: handoff ids that replay alike."""
    numbers = itertools.count(1)
    lock = threading.Lock()

    def new_id() -> str:
        with lock:
            n = next(numbers)
        return hashlib.sha256(f"{prefix}-{n}".encode()).hexdigest()[:32]

    return new_id


def open_cart(
    folder: Path,
    *,
    store_url: str,
    api_key: str,
    wall_offset: float,
    id_prefix: str,
    start_link: bool = True,
    transport: dict[str, float] | None = None,
) -> Cart:
    """Open the cart in ``folder`` and start it (engine, then store link), as after power-on."""
    clock = FakeClock(start=0.0, wall_offset=wall_offset)
    catalog = Catalog.open(folder / "catalog.sqlite3")
    ledger = Ledger.open(folder / "ledger.sqlite3", clock)
    policy = PricingPolicy(
        tax_rates=catalog.tax_rates(), tax_included=catalog.store_info().tax_included
    )
    engine = Engine(
        ledger,
        catalog,
        policy,
        clock,
        EngineSettings(
            cart_id=CART_ID, prompt_timeout_s=NEVER_S, inbox_poll_s=0.02, stop_timeout_s=5.0
        ),
    )
    outbox = Outbox.open(folder / "outbox.sqlite3", clock)
    timeouts = {
        "connect_timeout_s": 1.0,
        "read_timeout_s": 2.0,
        "total_timeout_s": 3.0,
        "retry_total": 0,
        "retry_backoff_initial_s": 0.05,
        "retry_backoff_max_s": 0.1,
        **(transport or {}),
    }
    client = StoreClient.from_settings(
        TransportSettings(base_url=store_url, api_key=api_key, **timeouts)  # type: ignore[arg-type]
    )
    link = StoreLink(
        client=client,
        outbox=outbox,
        engine=engine,
        ledger=ledger,
        store_info=catalog,
        key=CartKey.load_or_create(folder / "cart_key.pem"),
        settings=LinkSettings(
            cart_id=CART_ID,
            payment_wait_s=1.0,
            idle_poll_s=0.05,
            backoff_initial_s=0.05,
            backoff_max_s=0.3,
            heartbeat_interval_s=NEVER_S,
            catalog_sync_interval_s=NEVER_S,
        ),
        clock=clock,
        new_id=counter_ids(id_prefix),
    )
    cart = Cart(folder, clock, catalog, ledger, engine, outbox, link)
    cart.started += [catalog.close, ledger.close, outbox.close]
    engine.start()
    cart.started.append(engine.stop)
    if start_link:
        link.start()
        cart.started.append(link.stop)
    return cart


# --- generated trips ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Stock:
    """The products a trip picks from (the demo store's)."""

    unit: tuple[str, ...]
    per_kg: tuple[str, ...]

    @classmethod
    def of(cls, catalog: Catalog) -> Stock:
        products = catalog.products()
        return cls(
            tuple(sorted(p.sku for p in products if p.pricing_mode is PricingMode.PER_UNIT)),
            tuple(sorted(p.sku for p in products if p.pricing_mode is PricingMode.PER_KG)),
        )


def next_step(rng: random.Random, basket: BasketState, n: int, stock: Stock, tag: str) -> Step:
    """The ``n``-th step of a trip, chosen from the basket as it is (so it is mostly legal).

    Covers every command the engine takes except sensor readings: sessions, adds and removals
    (units and weighed), voids, prompts and answers, tare, coupons, checkout, handoff,
    reopening after handoff (the token must die), payment, reset, lock and staff unlock.
    """
    roll = rng.random()
    state = basket.state
    evidence = Evidence(EvidenceSource.VISION, vision_label="rel", camera_id="cam0")
    if state is SessionState.IDLE:
        return StartSession(f"{tag}-s{n}") if roll < 0.9 else Lock("tamper alarm (generated)")
    if state is SessionState.LOCKED:
        return Unlock("staff-7")
    if state is SessionState.DONE:
        return ResetCart()
    if state is SessionState.CHECKOUT:
        if roll < 0.6:
            return HandOffStep()
        if roll < 0.8:
            return ReopenShopping("shopper went back")
        return Confirm(ChangeKind.ADD, rng.choice(stock.unit), 1, evidence=evidence)
    if state is SessionState.HANDED_OFF:
        if roll < 0.4:
            return CompleteSession("paid")
        if roll < 0.7:
            return Confirm(ChangeKind.ADD, rng.choice(stock.unit), 1, evidence=evidence)
        return ReopenShopping("shopper went back after handoff")
    # shopping
    prompts = basket.pending_prompts
    lines = basket.lines
    if roll < 0.30 or not lines:
        return Confirm(ChangeKind.ADD, rng.choice(stock.unit), rng.randint(1, 3), evidence=evidence)
    if roll < 0.38:
        grams = round(rng.uniform(80.0, 1500.0), 1)
        return Confirm(ChangeKind.ADD, rng.choice(stock.per_kg), 1, grams, evidence=evidence)
    if roll < 0.50:
        line = rng.choice(lines)
        qty = rng.randint(1, max(1, line.quantity))
        return Confirm(ChangeKind.REMOVE, line.sku, qty, line.weight_g, line_id=line.line_id)
    if roll < 0.55:
        return VoidLine(rng.choice(lines).line_id, "shopper correction")
    if roll < 0.63 and len(prompts) < 2:
        return Ask("weight without item", ("yes", "no"), prompt_id=f"{tag}-p{n}")
    if roll < 0.73 and prompts:
        return Answer(prompts[0].prompt_id, rng.choice(("yes", "no")))
    if roll < 0.76:
        return Tare(round(rng.uniform(5.0, 60.0), 1), "own bag")
    if roll < 0.79:
        return ApplyCoupon(Coupon(f"C{n}", amount_off_cents=rng.randint(10, 300)))
    if roll < 0.81:
        return Lock("tamper alarm (generated)")
    if prompts:
        return Answer(prompts[0].prompt_id, "no")
    return RequestCheckout()


def play(cart: Cart, step: Step) -> str:
    """Carry out one step; the outcome in a word (the step is confirmed when this returns)."""
    if isinstance(step, HandOffStep):
        try:
            cart.link.hand_off()
        except HandoffRefused as exc:
            return f"refused: {exc}"
        return "handed off"
    event = cart.engine.call(step, timeout=10.0)
    return type(event).__name__


def trip(cart: Cart, seed: int, steps: int, tag: str) -> Iterator[tuple[int, Step, str]]:
    """Play ``steps`` generated steps on ``cart``; yields ``(n, step, outcome)`` after each."""
    rng = random.Random(seed)
    stock = Stock.of(cart.catalog)
    for n in range(1, steps + 1):
        step = next_step(rng, cart.engine.snapshot.basket, n, stock, tag)
        outcome = play(cart, step)
        cart.clock.advance(STEP_S)
        yield n, step, outcome


OutboxView = dict[str, tuple[str, str, str]]


def outbox_view(outbox: Outbox) -> OutboxView:
    """What the outbox must hold for the store, by key: kind, session and (handoffs) the body.

    Key registration and telemetry are left out (one per start, and best effort); session
    starts and voids are compared by key only, since a restart may write them again with its
    own time or wording (the key is the identity the store deduplicates on).
    """
    view: OutboxView = {}
    for entry in outbox.entries():
        if entry.kind in ("key", "telemetry"):
            continue
        view[entry.key] = (
            entry.kind,
            entry.session_id,
            entry.payload if entry.kind == "handoff" else "",
        )
    return view
