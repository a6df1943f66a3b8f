"""Random command sequences: whatever the shopper and fusion send, the ledger restores the
basket exactly, refused commands record nothing, and totals stay sane."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cart_app.basket import fold
from cart_app.catalog import Catalog
from cart_app.clock import FakeClock
from cart_app.domain import Coupon, PricingMode
from cart_app.engine import CartSnapshot
from cart_app.events import (
    Answer,
    ApplyCoupon,
    Ask,
    ChangeKind,
    Command,
    CommandRejected,
    CompleteSession,
    Confirm,
    HandOff,
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
from cart_app.store_layout import demo_store_dir
from tests.conftest import make_engine

_CATALOG_DIR = Path(tempfile.mkdtemp(prefix="smartcart-props-"))
_CATALOG = Catalog.open(_CATALOG_DIR / "catalog.sqlite3")
_CATALOG.import_json(demo_store_dir() / "catalog.json")
_UNIT = [p.sku for p in _CATALOG.products() if p.pricing_mode is PricingMode.PER_UNIT][:4]
_KG = [p.sku for p in _CATALOG.products() if p.pricing_mode is PricingMode.PER_KG][:2]

skus = st.sampled_from(_UNIT + _KG + ["NOPE"])
commands: st.SearchStrategy[Command] = st.one_of(
    st.builds(StartSession),
    st.builds(
        Confirm,
        kind=st.sampled_from(ChangeKind),
        sku=skus,
        quantity=st.integers(-1, 5),
        weight_g=st.sampled_from([0.0, 120.5, 333.3, 1000.0]),
        line_id=st.one_of(st.none(), st.integers(1, 30)),
    ),
    st.builds(VoidLine, line_id=st.integers(1, 30), reason=st.just("fix")),
    st.builds(Ask, reason=st.just("which?"), choices=st.just(("a", "b")), prompt_id=st.just("p")),
    st.builds(Answer, prompt_id=st.just("p"), answer=st.sampled_from(["a", "b", "zzz"])),
    st.builds(
        ApplyCoupon,
        coupon=st.builds(Coupon, code=st.sampled_from(["C1", "C2"]), amount_off_cents=st.just(50)),
    ),
    st.builds(Tare, weight_g=st.sampled_from([-5.0, 150.0])),
    st.just(RequestCheckout()),
    st.builds(ReopenShopping, reason=st.just("back")),
    st.builds(HandOff, idempotency_key=st.sampled_from(["k1", "k2"])),
    st.just(CompleteSession()),
    st.just(ResetCart()),
    st.builds(Lock, reason=st.just("tamper")),
    st.builds(Unlock, staff_id=st.just("s1")),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(commands, min_size=1, max_size=40))
def test_any_sequence_restores_exactly(sequence: list[Command]) -> None:
    clock = FakeClock()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ledger.sqlite3"
        engine = make_engine(path, _CATALOG, clock)
        last: CartSnapshot = engine.snapshot
        for command in sequence:
            ledger_len = engine._ledger.verify().entries_checked
            event = engine.handle(command)
            if isinstance(event, CommandRejected):
                assert engine._ledger.verify().entries_checked == ledger_len
                assert engine.snapshot.basket == last.basket
            else:
                assert isinstance(event, CartSnapshot)
                last = event
            if last.receipt is not None:
                assert last.receipt.total_cents >= 0
            clock.advance(1.0)
        engine._ledger.close()

        ledger = Ledger.open(path, clock)
        try:
            assert ledger.verify().ok
            session = ledger.latest_session_id()
            if session is not None:
                assert fold(ledger.records(session)) == last.basket
        finally:
            ledger.close()
        again = make_engine(path, _CATALOG, clock)
        again.start()
        try:
            if last.basket.state.value != "done":
                assert again.snapshot.basket == last.basket
                assert again.snapshot.receipt == last.receipt
            else:
                assert again.snapshot.basket.state.value == "idle"
        finally:
            again.stop()
