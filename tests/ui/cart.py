"""A real CartApp for UI tests: embedded demo store, no scale, a temporary data folder."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from cart_app.app import CartApp
from cart_app.config import load_config_text
from cart_app.domain import Evidence, EvidenceSource
from cart_app.events import ChangeKind, Confirm
from ui.staff_auth import hash_pin

TEST_PIN = "2468"


def build_cart(
    data_dir: Path, *, budget_cap_cents: int | None = 25_000, scale: str = "none"
) -> CartApp:
    """A built (not started) cart on the demo store with a cheap staff PIN hash.

    ``scale="simulator"`` runs the built-in cart-board simulator behind a real pty (the
    maintenance screens then show a live weight and can calibrate).
    """
    pin_hash = hash_pin(TEST_PIN, n=2**10)
    budget = f"budget_cap_cents = {budget_cap_cents}\n" if budget_cap_cents else ""
    loaded = load_config_text(
        "cart_id = 'cart-ui-test'\n"
        f"[paths]\ndata_dir = '{data_dir}'\n"
        f"[scale]\ndriver = '{scale}'\nprotocol = 'cartboard'\n"
        "[store]\nmode = 'embedded'\n"
        f"[pricing]\n{budget}"
        f"[maintenance]\npin_hash = '{pin_hash}'\nauto_lock_s = 120.0\n"
        "[engine]\ninbox_poll_s = 0.02\n",
        source="ui-test.toml",
        base_dir=data_dir,
    )
    return CartApp.build(loaded)


def scanned_in(sku: str, gtin: str, grams: float, quantity: int = 1) -> Confirm:
    """What fusion sends for an item scanned and weighed into the basket."""
    evidence = Evidence(EvidenceSource.BARCODE, weight_delta_g=grams, gtin=gtin)
    return Confirm(ChangeKind.ADD, sku, quantity, evidence=evidence)


def weighed_in(sku: str, grams: float, probability: float = 0.96) -> Confirm:
    """What fusion sends for produce the camera recognised and the scale weighed."""
    evidence = Evidence(
        EvidenceSource.VISION,
        weight_delta_g=grams,
        vision_label=sku,
        vision_probability=probability,
        camera_id="top",
    )
    return Confirm(ChangeKind.ADD, sku, 1, weight_g=grams, evidence=evidence)


def wait_until(
    condition: Callable[[], bool], pump: Callable[[], None], timeout: float = 10.0, what: str = ""
) -> None:
    """Pump (the UI's loop) until ``condition`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        pump()
        if condition():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.005)
