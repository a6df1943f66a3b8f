"""Fills a cart's basket until its disk is full, in a process limited by ``RLIMIT_FSIZE``.

    python tests/reliability/disk_driver.py FOLDER SLACK_BYTES

The cart (engine, ledger, catalog learning weights, outbox and store link) opens ``FOLDER`` and
starts a trip. Then no file may grow beyond the largest it has plus ``SLACK_BYTES``
(``SIGXFSZ`` ignored, so a write past it fails with ``EFBIG`` as on a full disk), and items keep
going in until the cart reports a fault. Prints one JSON object: the basket the cart kept at the
fault, the fault, what later commands got, and whether the engine thread still answers.
"""

from __future__ import annotations

import json
import resource
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cart_app.domain import Evidence, EvidenceSource
from cart_app.engine import CartSnapshot
from cart_app.events import (
    ChangeKind,
    CommandRejected,
    Confirm,
    EngineFault,
    RequestCheckout,
    StartSession,
)
from cart_app.store.link import HandoffRefused
from tests.reliability.rig import Stock, open_cart

MAX_ITEMS = 3000


def main(argv: list[str]) -> int:
    """Run as described in the module docstring."""
    folder, slack = Path(argv[0]), int(argv[1])
    cart = open_cart(
        folder, store_url="http://127.0.0.1:9", api_key="none", wall_offset=1.8e9, id_prefix="d"
    )
    stock = Stock.of(cart.catalog)
    cart.engine.call(StartSession("disk-full"), timeout=10)

    def add(n: int) -> object:
        sku = stock.unit[n % len(stock.unit)]
        product = cart.catalog.by_sku(sku)
        grams = product.nominal_weight_g if product is not None else None
        evidence = Evidence(EvidenceSource.VISION, weight_delta_g=grams, camera_id="cam0")
        cart.clock.advance(1.0)
        return cart.engine.call(Confirm(ChangeKind.ADD, sku, 1, evidence=evidence), timeout=10)

    for n in range(5):
        add(n)
    largest = max(p.stat().st_size for p in folder.iterdir() if p.is_file())
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    limit = largest + slack
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    report: dict[str, object] = {"limit": limit}
    before = cart.engine.snapshot.basket
    fault = ""
    items = 0
    for n in range(5, MAX_ITEMS):
        try:
            event = add(n)
        except TimeoutError:
            report["engine_alive"] = False
            break
        if isinstance(event, EngineFault):
            fault = event.message
            break
        assert isinstance(event, CartSnapshot), event
        items += 1
        before = event.basket
    report["items_after_limit"] = items
    report["fault"] = fault
    kept = cart.engine.snapshot.basket
    report["kept_equals_last_good"] = kept == before
    report["kept"] = repr(kept)
    report["snapshot_fault"] = cart.engine.snapshot.fault or ""
    if fault:
        later = add(0)
        report["later"] = later.reason if isinstance(later, CommandRejected) else repr(later)
        checkout = cart.engine.call(RequestCheckout(), timeout=10)
        report["checkout"] = getattr(checkout, "reason", repr(checkout))
        try:
            cart.link.hand_off()
            report["handoff"] = "handed off"
        except HandoffRefused as exc:
            report["handoff"] = f"refused: {exc}"
        report["engine_alive"] = True
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()
    cart.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
