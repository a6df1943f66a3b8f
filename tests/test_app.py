"""The composition root and bad input at start-up: the basket is never lost or altered."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from cart_app.app import CartApp, Part, StartupError
from cart_app.clock import FakeClock
from cart_app.config import LoadedConfig, load_config_text
from cart_app.domain import Evidence, EvidenceSource, PricingMode
from cart_app.engine import CartSnapshot
from cart_app.events import ChangeKind, Confirm, StartSession
from cart_app.ledger_file import SCHEMA_VERSION
from cart_app.store_layout import demo_store_dir


def config_in(folder: Path, catalog: Path | None = None) -> LoadedConfig:
    # The store API has its own tests; here the bundled catalog stands in for the store.
    text = f"[store]\nmode = 'embedded'\n[paths]\ndata_dir = '{folder / 'data'}'\n"
    if catalog is not None:
        text += f"catalog_json = '{catalog}'\n"
    return load_config_text(text, source="test.toml", base_dir=folder)


def fill_basket(loaded: LoadedConfig, clock: FakeClock) -> CartSnapshot:
    with CartApp.build(loaded, clock) as app:
        unit = [p for p in app.catalog.products() if p.pricing_mode is PricingMode.PER_UNIT]
        app.engine.call(StartSession("s1"), timeout=5)
        for product in unit[:3]:
            app.engine.call(
                Confirm(ChangeKind.ADD, product.sku, 2, evidence=Evidence(EvidenceSource.BARCODE)),
                timeout=5,
            )
        return app.engine.snapshot


def restored(loaded: LoadedConfig, clock: FakeClock) -> tuple[CartApp, CartSnapshot]:
    app = CartApp.build(loaded, clock)
    with app:
        return app, app.engine.snapshot


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def own_catalog(tmp_path: Path) -> Path:
    path = tmp_path / "catalog.json"
    path.write_bytes((demo_store_dir() / "catalog.json").read_bytes())
    return path


def test_restart_restores_basket(tmp_path: Path, clock: FakeClock) -> None:
    loaded = config_in(tmp_path)
    before = fill_basket(loaded, clock)
    _, after = restored(loaded, clock)
    assert after.basket == before.basket
    assert after.receipt == before.receipt
    assert len(after.basket.lines) == 3


@pytest.mark.parametrize(
    "damage",
    [
        b"{ this is not json",
        b"",
        json.dumps({"format_version": 99, "products": []}).encode(),
        b'{"format_version": 1, "products": [{"sku": "X", "price_cents": -5}]}',
    ],
)
def test_corrupt_catalog_update_keeps_cached_catalog_and_basket(
    tmp_path: Path, clock: FakeClock, own_catalog: Path, damage: bytes
) -> None:
    loaded = config_in(tmp_path, own_catalog)
    before = fill_basket(loaded, clock)
    own_catalog.write_bytes(damage)
    app, after = restored(loaded, clock)
    assert after.basket == before.basket
    assert after.receipt == before.receipt
    assert app.warnings and str(own_catalog) in app.warnings[0]


def test_missing_catalog_update_keeps_cached_catalog(
    tmp_path: Path, clock: FakeClock, own_catalog: Path
) -> None:
    loaded = config_in(tmp_path, own_catalog)
    before = fill_basket(loaded, clock)
    own_catalog.unlink()
    app, after = restored(loaded, clock)
    assert after.basket == before.basket
    assert "No such file" in app.warnings[0]


def test_corrupt_catalog_without_cache_is_a_clear_startup_error(
    tmp_path: Path, clock: FakeClock, own_catalog: Path
) -> None:
    own_catalog.write_text('{"format_version": 1, "products": [')
    with pytest.raises(StartupError, match=str(own_catalog)):
        CartApp.build(config_in(tmp_path, own_catalog), clock)


def test_missing_catalog_without_cache_is_a_clear_startup_error(
    tmp_path: Path, clock: FakeClock
) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(StartupError, match=r"nope\.json"):
        CartApp.build(config_in(tmp_path, missing), clock)


def test_ledger_from_newer_version_is_refused_untouched(tmp_path: Path, clock: FakeClock) -> None:
    import sqlite3

    loaded = config_in(tmp_path)
    fill_basket(loaded, clock)
    ledger_path = tmp_path / "data" / "ledger.sqlite3"
    conn = sqlite3.connect(ledger_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    digest = file_digest(ledger_path)
    with pytest.raises(StartupError, match="newer") as info:
        CartApp.build(loaded, clock)
    assert str(ledger_path) in str(info.value)
    assert file_digest(ledger_path) == digest


def test_corrupt_ledger_is_refused_untouched(tmp_path: Path, clock: FakeClock) -> None:
    loaded = config_in(tmp_path)
    fill_basket(loaded, clock)
    ledger_path = tmp_path / "data" / "ledger.sqlite3"
    data = bytearray(ledger_path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)
    ledger_path.write_bytes(bytes(data))
    digest = file_digest(ledger_path)
    with pytest.raises(StartupError, match="left as it is"):
        CartApp.build(loaded, clock)
    assert file_digest(ledger_path) == digest


class Recording:
    """A part that records when it starts and stops (the call order is what is under test)."""

    def __init__(self, name: str, log: list[str], fail_start: bool = False) -> None:
        self.name = name
        self._log = log
        self._fail = fail_start

    def start(self) -> None:
        if self._fail:
            raise RuntimeError(f"{self.name} broke")
        self._log.append(f"start {self.name}")

    def stop(self) -> None:
        self._log.append(f"stop {self.name}")


def test_parts_start_in_order_and_stop_in_reverse(tmp_path: Path, clock: FakeClock) -> None:
    log: list[str] = []
    app = CartApp.build(config_in(tmp_path), clock)
    extra: list[Part] = [Recording("a", log), Recording("b", log)]
    app.parts.extend(extra)
    with app:
        assert app.engine.snapshot.basket.state.value == "idle"
    assert log == ["start a", "start b", "stop b", "stop a"]


def test_failed_start_stops_what_started(tmp_path: Path, clock: FakeClock) -> None:
    log: list[str] = []
    app = CartApp.build(config_in(tmp_path), clock)
    app.parts.extend([Recording("a", log), Recording("bad", log, fail_start=True)])
    with pytest.raises(RuntimeError, match="bad broke"):
        app.start()
    assert log == ["start a", "stop a"]
    assert app.engine._thread is None  # the engine was stopped too
