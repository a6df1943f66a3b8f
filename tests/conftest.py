"""Shared fixtures: the bundled demo store in a temporary catalog, a fake clock, an engine."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cart_app.catalog import Catalog
from cart_app.clock import FakeClock
from cart_app.domain import PricingMode, Product
from cart_app.engine import Engine, EngineSettings
from cart_app.ledger import Ledger
from cart_app.pricing import PricingPolicy
from cart_app.store_layout import demo_store_dir

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def demo_catalog(tmp_path: Path) -> Iterator[Catalog]:
    catalog = Catalog.open(tmp_path / "catalog.sqlite3")
    catalog.import_json(demo_store_dir() / "catalog.json")
    yield catalog
    catalog.close()


@dataclass
class DemoProducts:
    """Products of the demo store picked by kind, so tests do not hard-code SKUs."""

    unit: list[Product]
    per_kg: Product
    offered: Product


@pytest.fixture
def demo_products(demo_catalog: Catalog) -> DemoProducts:
    products = demo_catalog.products()
    unit = [p for p in products if p.pricing_mode is PricingMode.PER_UNIT and p.gtins]
    per_kg = next(p for p in products if p.pricing_mode is PricingMode.PER_KG)
    offered_sku = sorted(next(iter(demo_catalog.offers())).skus)[0]
    offered = demo_catalog.by_sku(offered_sku)
    assert offered is not None
    return DemoProducts(unit, per_kg, offered)


def make_engine(
    ledger_path: Path, catalog: Catalog, clock: FakeClock, prompt_timeout_s: float = 30.0
) -> Engine:
    """An engine over a real ledger file and the demo catalog (not started)."""
    ledger = Ledger.open(ledger_path, clock)
    policy = PricingPolicy(
        tax_rates=catalog.tax_rates(),
        tax_included=catalog.store_info().tax_included,
    )
    settings = EngineSettings(
        cart_id="cart-test",
        prompt_timeout_s=prompt_timeout_s,
        inbox_poll_s=0.01,
        stop_timeout_s=5.0,
        budget_cap_cents=10_000,
    )
    return Engine(ledger, catalog, policy, clock, settings)
