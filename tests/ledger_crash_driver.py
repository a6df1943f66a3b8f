"""Plays a scripted session into a ledger, announcing each confirmed append on stdout.

Run by ``tests/test_ledger_crash.py`` as a subprocess that it kills with SIGKILL:

    python tests/ledger_crash_driver.py LEDGER_PATH SEED LENGTH

After each :meth:`Ledger.append` returns it prints ``confirmed <n>`` (n records so far) and
flushes, so the killer knows a lower bound of what must survive. The script is a pure function
of the seed (:func:`scripted_session`), which the test imports to know what was written.

Imports stay minimal: the test starts this dozens of times.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from cart_app.clock import FakeClock
from cart_app.domain import Coupon, Evidence, EvidenceSource
from cart_app.ledger import Ledger
from cart_app.records import (
    CouponApplied,
    HandoffQueued,
    LineAdded,
    LineRemoved,
    LineVoided,
    PromptAnswered,
    PromptOpened,
    Record,
    SessionStarted,
    StateChanged,
    TareApplied,
)
from cart_app.session import SessionState

_UNIT_SKUS = ("milk-1l", "bread-800g", "eggs-6", "cola-330", "soap-bar", "rice-1kg")
_KG_SKUS = ("apples-kg", "cheese-kg")


def session_id_for(seed: int) -> str:
    """The session id the script of ``seed`` uses."""
    return f"crash-{seed}"


def _evidence(rng: random.Random, source: EvidenceSource) -> Evidence:
    return Evidence(
        source=source,
        weight_delta_g=round(rng.uniform(-900.0, 900.0), rng.randint(0, 6)),
        gtin=f"{rng.randrange(10**12):013d}" if source is EvidenceSource.BARCODE else None,
        vision_label=rng.choice(_UNIT_SKUS) if source is EvidenceSource.VISION else None,
        vision_probability=rng.random() if source is EvidenceSource.VISION else None,
        camera_id=f"cam{rng.randint(0, 3)}",
        note=rng.choice(("", "scripted", "ünïcode ✓")),
    )


def scripted_session(seed: int, length: int) -> list[Record]:
    """``length`` records of one shopping session, valid for the basket fold, from ``seed``.

    Lines change only while shopping; removals never exceed what a line holds; prompts are
    answered only while open; the session never reaches ``DONE`` so it is always the one a
    restart restores.
    """
    rng = random.Random(seed)
    sid = session_id_for(seed)
    records: list[Record] = [
        SessionStarted(sid, "cart-7"),
        StateChanged(SessionState.SHOPPING, "scripted start"),
    ]
    lines: dict[int, tuple[str, int, float]] = {}
    prompts: list[str] = []
    state = SessionState.SHOPPING
    next_line = next_prompt = next_coupon = 1

    while len(records) < length:
        roll = rng.random()
        if state is not SessionState.SHOPPING:
            if state is SessionState.CHECKOUT and roll < 0.5:
                records.append(HandoffQueued(f"key-{seed}-{len(records)}", f"token{roll}"))
                state = SessionState.HANDED_OFF
            else:
                state = SessionState.SHOPPING
            records.append(StateChanged(state, "scripted"))
        elif roll < 0.35 or not lines:
            source = rng.choice((EvidenceSource.VISION, EvidenceSource.BARCODE))
            if lines and rng.random() < 0.3:
                line_id = rng.choice(sorted(lines))
                sku, qty, grams = lines[line_id]
            else:
                line_id, next_line = next_line, next_line + 1
                sku, qty, grams = rng.choice(_UNIT_SKUS + _KG_SKUS), 0, 0.0
            if sku in _KG_SKUS:
                add_qty, add_g = 0, round(rng.uniform(50.0, 1500.0), 1)
            else:
                add_qty, add_g = rng.randint(1, 3), 0.0
            records.append(LineAdded(line_id, sku, add_qty, add_g, None, _evidence(rng, source)))
            lines[line_id] = (sku, qty + add_qty, grams + add_g)
        elif roll < 0.55:
            line_id = rng.choice(sorted(lines))
            sku, qty, grams = lines[line_id]
            take_qty = rng.randint(1, qty) if qty else 0
            take_g = grams if not qty else 0.0
            records.append(
                LineRemoved(line_id, take_qty, take_g, _evidence(rng, EvidenceSource.VISION))
            )
            if qty - take_qty == 0 and (qty or take_g == grams):
                del lines[line_id]
            else:
                lines[line_id] = (sku, qty - take_qty, grams - take_g)
        elif roll < 0.62:
            line_id = rng.choice(sorted(lines))
            records.append(LineVoided(line_id, "shopper correction"))
            del lines[line_id]
        elif roll < 0.74 and len(prompts) < 2:
            prompt_id, next_prompt = f"p{next_prompt}", next_prompt + 1
            records.append(
                PromptOpened(prompt_id, "weight without item", ("yes", "no"), 1_767_225_600.5)
            )
            prompts.append(prompt_id)
        elif roll < 0.84 and prompts:
            records.append(PromptAnswered(prompts.pop(0), rng.choice(("yes", "no")), "shopper"))
        elif roll < 0.88:
            records.append(TareApplied(round(rng.uniform(5.0, 80.0), 2), "own bag"))
        elif roll < 0.91:
            code, next_coupon = f"C{next_coupon}", next_coupon + 1
            records.append(CouponApplied(Coupon(code, amount_off_cents=rng.randint(0, 500))))
        elif roll < 0.95:
            state = SessionState.CHECKOUT
            records.append(StateChanged(state, "scripted checkout"))
    return records[:length]


def main(argv: list[str]) -> int:
    """Append the script of ``argv`` = [path, seed, length], one confirmation line per append."""
    path, seed, length = Path(argv[0]), int(argv[1]), int(argv[2])
    clock = FakeClock()
    ledger = Ledger.open(path, clock)
    out = sys.stdout
    for n, record in enumerate(scripted_session(seed, length), start=1):
        ledger.append(session_id_for(seed), record)
        out.write(f"confirmed {n}\n")
        out.flush()
        clock.advance(0.25)
    ledger.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
