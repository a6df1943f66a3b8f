"""The laptop profile end to end: simulated load cells → pty → cart-board parser → filter →
fusion → engine → ledger. A barcode scan and the settled weight put a line in the basket."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from cart_app.app import CartApp
from cart_app.clock import SystemClock
from cart_app.config import load_config_text
from cart_app.devices import SimulatorPart
from cart_app.domain import PricingMode
from cart_app.engine import CartSnapshot, EngineEvent
from cart_app.events import Sensed, StartSession
from scale.service import ScaleService
from scale.sim.script import Put, Take
from vision.gtin import normalize_gtin
from vision.types import BarcodeRead, Candidate, Direction, ItemObservation

pytestmark = pytest.mark.slow


def wait_for(predicate: object, timeout: float = 20.0) -> bool:
    """Poll ``predicate`` until it holds; real threads and a real pty are involved."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_simulated_scale_and_scan_make_a_line(tmp_path: Path) -> None:
    loaded = load_config_text(
        f"[paths]\ndata_dir = '{tmp_path / 'data'}'\n[scale]\ndriver = 'simulator'\n",
        source="t.toml",
        base_dir=tmp_path,
    )
    events: list[EngineEvent] = []
    with CartApp.build(loaded, SystemClock()) as app:
        app.engine.subscribe(events.append)
        sim = next(p for p in app.parts if isinstance(p, SimulatorPart))
        assert sim.server is not None
        assert wait_for(lambda: app.devices.status.scale_state == "ok"), app.devices.status
        service = next(p for p in app.parts if isinstance(p, ScaleService))
        # After (re)connecting, the first settled plateau is the baseline, not a change.
        assert wait_for(lambda: service.filter.merchandise_g is not None)  # type: ignore[attr-defined]
        product = next(
            p
            for p in app.catalog.products()
            if p.pricing_mode is PricingMode.PER_UNIT and p.gtins and p.nominal_weight_g > 200
        )
        app.engine.call(StartSession("trip"), timeout=10)
        code = product.gtins[0]
        seen = ItemObservation(
            "webcam",
            Direction.INTO,
            (Candidate(product.labels[0] if product.labels else product.sku, 0.6),),
            BarcodeRead("ean13", code, normalize_gtin(code)),
            app.clock.monotonic(),
        )
        app.engine.call(Sensed(seen), timeout=10)
        sim.server.submit(Put(product.nominal_weight_g)).result(timeout=10)
        assert wait_for(lambda: bool(app.engine.snapshot.basket.lines)), events[-5:]
        line = app.engine.snapshot.basket.lines[0]
        assert (line.sku, line.quantity) == (product.sku, 1)
        evidence = line.evidence[-1]
        assert evidence.weight_delta_g == pytest.approx(product.nominal_weight_g, abs=3.0)

        # Taking it out again is matched against the basket and removes the line.
        sim.server.submit(Take(product.nominal_weight_g)).result(timeout=10)
        assert wait_for(lambda: not app.engine.snapshot.basket.lines), app.engine.snapshot.basket
    snapshots = [e for e in events if isinstance(e, CartSnapshot)]
    assert snapshots[-1].basket.state.value == "shopping"
