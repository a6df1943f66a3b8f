"""A scripted shopping trip through the engine, for the headless demo.

Until fusion, the scale and the cameras are wired in, the demo drives the engine with the
commands fusion would send (scans, weighings, a prompt and its answer) so that a newcomer sees
the ledger, pricing and the session lifecycle work end to end on the bundled demo store.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

from cart_app.app import CartApp
from cart_app.domain import Coupon, Evidence, EvidenceSource, PricingMode, Product
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
    RequestCheckout,
    StartSession,
)
from cart_app.receipt_text import render_snapshot


def _pick(app: CartApp) -> tuple[list[Product], Product, Product | None]:
    products = app.catalog.products()
    unit = [p for p in products if p.pricing_mode is PricingMode.PER_UNIT and p.gtins]
    per_kg = next(p for p in products if p.pricing_mode is PricingMode.PER_KG)
    offered = next(
        (app.catalog.by_sku(sku) for offer in app.catalog.offers() for sku in sorted(offer.skus)),
        None,
    )
    return unit, per_kg, offered


def run_demo_trip(app: CartApp, out: Path, echo: Callable[[str], None]) -> Path:
    """Play the trip on a started ``app``, echoing each step; returns the receipt file."""
    engine = app.engine
    currency = app.catalog.store_info().currency
    unit, per_kg, offered = _pick(app)

    def step(title: str, cmd: Command) -> CartSnapshot | None:
        event = engine.call(cmd, timeout=10)
        echo(f"\n== {title}")
        if isinstance(event, CommandRejected):
            echo(f"   refused: {event.reason}")
            return None
        if isinstance(event, CartSnapshot):
            echo(render_snapshot(event, currency))
            return event
        echo(f"   {event}")
        return None

    def scanned(p: Product, grams: float) -> Evidence:
        return Evidence(EvidenceSource.BARCODE, weight_delta_g=grams, gtin=p.gtins[0])

    step("shopper starts a session", StartSession(reason="demo"))
    first = unit[0]
    step(
        f"{first.name} goes in (barcode + weight)",
        Confirm(ChangeKind.ADD, first.sku, 1, evidence=scanned(first, first.nominal_weight_g)),
    )
    if offered is not None:
        step(
            f"three × {offered.name} go in (multi-buy offer)",
            Confirm(
                ChangeKind.ADD,
                offered.sku,
                3,
                evidence=scanned(offered, 3 * offered.nominal_weight_g),
            ),
        )
    step(
        f"{per_kg.name} weighed in the basket",
        Confirm(
            ChangeKind.ADD,
            per_kg.sku,
            1,
            weight_g=642.0,
            evidence=Evidence(EvidenceSource.VISION, weight_delta_g=642.0, vision_label="demo"),
        ),
    )
    a, b = unit[1], unit[2]
    opened = step(
        "the camera is unsure: the cart asks",
        Ask("which item did you put in?", (a.sku, b.sku, "scan it")),
    )
    if opened is not None and opened.basket.pending_prompts:
        prompt = opened.basket.pending_prompts[-1]
        step(f"shopper taps {b.name}", Answer(prompt.prompt_id, b.sku))
        step(
            f"{b.name} confirmed by the answer",
            Confirm(ChangeKind.ADD, b.sku, 1, evidence=Evidence(EvidenceSource.SHOPPER)),
        )
    step(
        f"{first.name} taken out again",
        Confirm(ChangeKind.REMOVE, first.sku, 1, evidence=scanned(first, -first.nominal_weight_g)),
    )
    step("coupon scanned", ApplyCoupon(Coupon("DEMO10", amount_off_cents=1000)))
    step("checkout", RequestCheckout())
    step("basket handed to the exit lane", HandOff(uuid.uuid4().hex))
    final = step("exit lane reports paid", CompleteSession("paid"))
    receipt_path = out / "receipt.txt"
    snap = final or engine.snapshot
    receipt_path.write_text(render_snapshot(snap, currency) + "\n")
    return receipt_path
