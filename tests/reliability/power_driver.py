"""Plays a generated trip on a real cart and announces each confirmed step; killed by the tests.

    python tests/reliability/power_driver.py FOLDER SEED STEPS TAG STORE_URL API_KEY WALL_OFFSET

The cart (engine, ledger, outbox, store link delivering to the store at ``STORE_URL``) is opened
from ``FOLDER`` as at power-on, which restores whatever an earlier run there left. After each
step returns it prints ``confirmed <n>`` and flushes, so the killer knows a lower bound of what
must survive. ``tests/reliability/test_power_cut.py`` and ``bench/soak_bench.py`` SIGKILL it.

With ``POWER_CUT_AT_STATEMENT=N`` in the environment the driver kills itself with SIGKILL when
the N-th SQL statement on the ledger or outbox connection starts (counted from power-on): a cut
inside a transaction, between the rows of one command, or between sending a message and
marking it delivered, which timed kills from outside hit only by luck.
"""

from __future__ import annotations

import itertools
import os
import signal
import sys
import threading
from pathlib import Path

# Run as a script: make the repository importable without installing it.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.reliability.rig import Cart, open_cart, trip


def arm_statement_kill(cart: Cart, at: int) -> None:
    """SIGKILL this process when the ``at``-th statement on the ledger or outbox starts."""
    count = itertools.count(1)
    lock = threading.Lock()

    def trace(_statement: str) -> None:
        with lock:
            n = next(count)
        if n == at:
            os.kill(os.getpid(), signal.SIGKILL)

    for conn in (cart.ledger._conn, cart.outbox._conn):
        conn.set_trace_callback(trace)


def main(argv: list[str]) -> int:
    """Play the trip of ``argv`` = [folder, seed, steps, tag, url, api_key, wall_offset]."""
    folder, seed, steps, tag = Path(argv[0]), int(argv[1]), int(argv[2]), argv[3]
    url, api_key, wall_offset = argv[4], argv[5], float(argv[6])
    cart = open_cart(folder, store_url=url, api_key=api_key, wall_offset=wall_offset, id_prefix=tag)
    at = int(os.environ.get("POWER_CUT_AT_STATEMENT", "0"))
    if at > 0:
        arm_statement_kill(cart, at)
    out = sys.stdout
    out.write("confirmed 0\n")
    out.flush()
    for n, _step, _outcome in trip(cart, seed, steps, tag):
        out.write(f"confirmed {n}\n")
        out.flush()
    cart.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
