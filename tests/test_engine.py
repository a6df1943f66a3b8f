"""The engine: decide, record durably, fold, publish; restore after a restart."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from cart_app.catalog import MIN_WEIGHING_SAMPLES, Catalog
from cart_app.clock import FakeClock
from cart_app.domain import Coupon, Evidence, EvidenceSource
from cart_app.engine import CartSnapshot, EngineEvent
from cart_app.events import (
    Answer,
    ApplyCoupon,
    Ask,
    ChangeKind,
    CommandRejected,
    CompleteSession,
    Confirm,
    EngineFault,
    HandOff,
    Lock,
    RequestCheckout,
    ResetCart,
    StartSession,
    Tare,
    Unlock,
    VoidLine,
)
from cart_app.ledger import Ledger
from cart_app.session import SessionState
from tests.conftest import DemoProducts, make_engine


def snap(event: EngineEvent) -> CartSnapshot:
    assert isinstance(event, CartSnapshot), event
    return event


def rejected(event: EngineEvent) -> str:
    assert isinstance(event, CommandRejected), event
    return event.reason


def add(sku: str, qty: int = 1, grams: float = 0.0) -> Confirm:
    return Confirm(ChangeKind.ADD, sku, qty, grams, Evidence(EvidenceSource.BARCODE))


def test_session_flow_and_totals(
    tmp_path: Path, demo_catalog: Catalog, demo_products: DemoProducts, clock: FakeClock
) -> None:
    engine = make_engine(tmp_path / "l.db", demo_catalog, clock)
    a, b = demo_products.unit[0], demo_products.unit[1]
    assert rejected(engine.handle(add(a.sku))).startswith("the basket cannot change while idle")
    started = snap(engine.handle(StartSession("s1")))
    assert started.basket.state is SessionState.SHOPPING
    snap(engine.handle(add(a.sku, 2)))
    s = snap(engine.handle(add(b.sku)))
    assert [(line.sku, line.quantity) for line in s.basket.lines] == [(a.sku, 2), (b.sku, 1)]
    assert s.receipt is not None
    assert s.receipt.total_cents == 2 * a.price_cents + b.price_cents
    s = snap(engine.handle(add(a.sku)))  # same product joins its line
    assert len(s.basket.lines) == 2 and s.basket.lines[0].quantity == 3


def test_per_kg_weighings_are_separate_lines(
    tmp_path: Path, demo_catalog: Catalog, demo_products: DemoProducts, clock: FakeClock
) -> None:
    engine = make_engine(tmp_path / "l.db", demo_catalog, clock)
    kg = demo_products.per_kg
    engine.handle(StartSession("s1"))
    assert "sold by weight" in rejected(engine.handle(add(kg.sku)))
    engine.handle(add(kg.sku, grams=500.0))
    s = snap(engine.handle(add(kg.sku, grams=250.0)))
    assert [line.weight_g for line in s.basket.lines] == [500.0, 250.0]
    s = snap(engine.handle(Confirm(ChangeKind.REMOVE, kg.sku, 1, 250.0)))
    assert [line.weight_g for line in s.basket.lines] == [500.0]


def test_removal_only_matches_what_is_in_the_basket(
    tmp_path: Path, demo_catalog: Catalog, demo_products: DemoProducts, clock: FakeClock
) -> None:
    engine = make_engine(tmp_path / "l.db", demo_catalog, clock)
    a, b = demo_products.unit[0], demo_products.unit[1]
    engine.handle(StartSession("s1"))
    engine.handle(add(a.sku, 2))
    assert "not in the basket" in rejected(engine.handle(Confirm(ChangeKind.REMOVE, b.sku)))
    assert "holds 2" in rejected(engine.handle(Confirm(ChangeKind.REMOVE, a.sku, 3)))
    s = snap(engine.handle(Confirm(ChangeKind.REMOVE, a.sku, 2)))
    assert s.basket.lines == ()


def test_checkout_freezes_and_weight_change_reopens(
    tmp_path: Path, demo_catalog: Catalog, demo_products: DemoProducts, clock: FakeClock
) -> None:
    engine = make_engine(tmp_path / "l.db", demo_catalog, clock)
    a = demo_products.unit[0]
    engine.handle(StartSession("s1"))
    engine.handle(add(a.sku))
    assert snap(engine.handle(RequestCheckout())).basket.state is SessionState.CHECKOUT
    assert snap(engine.handle(HandOff("key-1"))).basket.state is SessionState.HANDED_OFF
    s = snap(engine.handle(add(a.sku)))  # something went in after handoff
    assert s.basket.state is SessionState.SHOPPING
    assert s.basket.lines[0].quantity == 2
    engine.handle(RequestCheckout())
    engine.handle(HandOff("key-2"))
    assert snap(engine.handle(CompleteSession())).basket.state is SessionState.DONE
    assert "cannot change while done" in rejected(engine.handle(add(a.sku)))
    assert snap(engine.handle(ResetCart())).basket.state is SessionState.IDLE


def test_prompts_answer_and_expire(
    tmp_path: Path, demo_catalog: Catalog, demo_products: DemoProducts, clock: FakeClock
) -> None:
    engine = make_engine(tmp_path / "l.db", demo_catalog, clock, prompt_timeout_s=30)
    a, b = demo_products.unit[0], demo_products.unit[1]
    engine.handle(StartSession("s1"))
    s = snap(engine.handle(Ask("which item?", (a.sku, b.sku), prompt_id="p1")))
    assert [p.prompt_id for p in s.basket.pending_prompts] == ["p1"]
    assert "answer the open question" in rejected(engine.handle(RequestCheckout()))
    assert "not one of" in rejected(engine.handle(Answer("p1", "nonsense")))
    # A product the prompt did not list is an answer only where it offers "something else".
    assert "not one of" in rejected(engine.handle(Answer("p1", demo_products.unit[2].sku)))
    s = snap(engine.handle(Answer("p1", b.sku)))
    assert s.basket.pending_prompts == ()
    engine.handle(Ask("which item?", (a.sku, ":other"), prompt_id="p3"))
    s = snap(engine.handle(Answer("p3", demo_products.unit[2].sku)))
    assert s.basket.pending_prompts == ()
    engine.handle(Ask("still there?", ("yes",), prompt_id="p2"))
    clock.advance(29)
    engine._expire_prompts()
    assert engine.snapshot.basket.pending_prompts
    clock.advance(2)
    engine._expire_prompts()
    assert engine.snapshot.basket.pending_prompts == ()


def test_void_coupon_tare_and_lock(
    tmp_path: Path, demo_catalog: Catalog, demo_products: DemoProducts, clock: FakeClock
) -> None:
    engine = make_engine(tmp_path / "l.db", demo_catalog, clock)
    a = demo_products.unit[0]
    engine.handle(StartSession("s1"))
    s = snap(engine.handle(add(a.sku, 3)))
    line_id = s.basket.lines[0].line_id
    s = snap(engine.handle(ApplyCoupon(Coupon("C1", amount_off_cents=100))))
    assert s.receipt is not None
    assert s.receipt.total_cents == 3 * a.price_cents - 100
    assert "already applied" in rejected(engine.handle(ApplyCoupon(Coupon("C1", 5))))
    assert snap(engine.handle(Tare(412.0))).basket.tare_g == 412.0
    s = snap(engine.handle(VoidLine(line_id, "shopper correction")))
    assert s.basket.lines == ()
    assert "no line" in rejected(engine.handle(VoidLine(line_id, "again")))
    assert snap(engine.handle(Lock("tamper"))).basket.state is SessionState.LOCKED
    assert "locked" in rejected(engine.handle(add(a.sku)))
    assert snap(engine.handle(Unlock("staff-7"))).basket.state is SessionState.IDLE


def test_restart_restores_exact_basket(
    tmp_path: Path, demo_catalog: Catalog, demo_products: DemoProducts, clock: FakeClock
) -> None:
    path = tmp_path / "l.db"
    engine = make_engine(path, demo_catalog, clock)
    a, kg = demo_products.unit[0], demo_products.per_kg
    engine.handle(StartSession("s1"))
    engine.handle(add(a.sku, 2))
    engine.handle(add(kg.sku, grams=731.5))
    engine.handle(Ask("which?", (a.sku,), prompt_id="p"))
    before = engine.snapshot
    engine._ledger.close()

    again = make_engine(path, demo_catalog, clock)
    again.start()
    try:
        after = again.snapshot
    finally:
        again.stop()
    assert after.basket == before.basket
    assert after.receipt == before.receipt


def test_threaded_submit_and_listeners(
    tmp_path: Path, demo_catalog: Catalog, demo_products: DemoProducts, clock: FakeClock
) -> None:
    engine = make_engine(tmp_path / "l.db", demo_catalog, clock)
    seen: list[EngineEvent] = []
    threads: set[str] = set()

    def listener(event: EngineEvent) -> None:
        seen.append(event)
        threads.add(threading.current_thread().name)

    engine.subscribe(listener)
    engine.start()
    try:
        engine.call(StartSession("s1"), timeout=5)
        for _ in range(20):
            engine.submit(add(demo_products.unit[0].sku))
        final = snap(engine.call(add(demo_products.unit[0].sku), timeout=5))
    finally:
        engine.stop()
    assert final.basket.lines[0].quantity == 21
    versions = [e.version for e in seen if isinstance(e, CartSnapshot)]
    assert versions == sorted(versions)
    assert threads == {"engine"}


def test_ledger_write_failure_locks_and_keeps_basket(
    tmp_path: Path, demo_catalog: Catalog, demo_products: DemoProducts, clock: FakeClock
) -> None:
    engine = make_engine(tmp_path / "l.db", demo_catalog, clock)
    a = demo_products.unit[0]
    engine.handle(StartSession("s1"))
    engine.handle(add(a.sku))
    before = engine.snapshot.basket
    engine._ledger.close()  # the disk is gone: every write now fails
    event = engine.handle(add(a.sku))
    assert isinstance(event, EngineFault)
    assert engine.snapshot.basket == before
    assert engine.snapshot.fault is not None
    assert "locked" in rejected(engine.handle(add(a.sku)))


@pytest.mark.parametrize("qty", [0, -1, 1000])
def test_absurd_quantities_refused(
    tmp_path: Path, demo_catalog: Catalog, demo_products: DemoProducts, clock: FakeClock, qty: int
) -> None:
    engine = make_engine(tmp_path / "l.db", demo_catalog, clock)
    engine.handle(StartSession("s1"))
    assert "out of range" in rejected(engine.handle(add(demo_products.unit[0].sku, qty)))
    assert engine.snapshot.basket.lines == ()


def test_unknown_product_refused(tmp_path: Path, demo_catalog: Catalog, clock: FakeClock) -> None:
    engine = make_engine(tmp_path / "l.db", demo_catalog, clock)
    engine.handle(StartSession("s1"))
    assert "unknown product" in rejected(engine.handle(add("NO-SUCH-SKU")))
    ledger = Ledger.open(tmp_path / "l.db", clock)
    try:
        assert len(ledger.records("s1")) == 2  # nothing recorded for the refusal
    finally:
        ledger.close()


def test_confirmed_weighings_teach_the_weight_model(
    tmp_path: Path, demo_catalog: Catalog, demo_products: DemoProducts, clock: FakeClock
) -> None:
    engine = make_engine(tmp_path / "l.db", demo_catalog, clock)
    product = demo_products.unit[0]
    engine.handle(StartSession("s1"))
    nominal = product.nominal_weight_g
    offsets = [4, -2, 1, 3, 0] * (MIN_WEIGHING_SAMPLES // 5 + 1)
    for offset in offsets:
        evidence = Evidence(EvidenceSource.BARCODE, weight_delta_g=2 * (nominal + offset))
        engine.handle(Confirm(ChangeKind.ADD, product.sku, 2, evidence=evidence))
    model = demo_catalog.weight_model(product.sku)
    assert model.samples == len(offsets)
    assert model.learnt_mean_g == pytest.approx(nominal + 1.2)
    assert model.learnt_spread_g is not None and model.learnt_spread_g > 0


def test_line_ids_stay_unique_across_sessions_and_restarts(
    tmp_path: Path, demo_catalog: Catalog, demo_products: DemoProducts, clock: FakeClock
) -> None:
    """Regression: ids derived from a count that spanned sessions collided after a restore."""
    path = tmp_path / "l.db"
    a, b, c = (p.sku for p in demo_products.unit[:3])
    engine = make_engine(path, demo_catalog, clock)
    engine.handle(StartSession("s1"))
    for _ in range(6):
        engine.handle(add(a))
    engine.handle(RequestCheckout())
    engine.handle(HandOff("k"))
    engine.handle(CompleteSession())
    engine.handle(ResetCart())
    engine.handle(StartSession("s2"))
    engine.handle(add(a))
    engine._ledger.close()
    for sku in (b, c, b, c, b):
        again = make_engine(path, demo_catalog, clock)
        again.start()
        again.stop()
        event = again.handle(add(sku))
        assert isinstance(event, CartSnapshot), event
        again._ledger.close()
    final = make_engine(path, demo_catalog, clock)
    final.start()
    final.stop()
    lines = final.snapshot.basket.lines
    assert [(line.sku, line.quantity) for line in lines] == [(a, 1), (b, 3), (c, 2)]
    assert len({line.line_id for line in lines}) == 3
