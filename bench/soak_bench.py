"""Soak: generated trips back to back for hours of simulated time, memory and descriptors
sampled; power cuts by the hundred; the scale unplugged and replugged again and again; fuzzing
with many more inputs than CI.

    python -m bench.soak_bench [--hours 1] [--step-s 1] [--scale-cycles 30]
    python -m bench.soak_bench --power-cuts 200 [--steps 40]
    python -m bench.soak_bench --fuzz

Default mode: one cart (engine, ledger, outbox, store link to the real reference server on
127.0.0.1, evidence crops kept and deleted per trip, the health folded from it all) plays
generated trips (``tests/reliability/rig.py``: every command the engine takes, handoffs,
payments, locks) on a :class:`FakeClock` moved ``--step-s`` per step until ``--hours`` of
simulated time have passed, then a real scale service over a pty is unplugged and replugged
``--scale-cycles`` times. RSS (``/proc/self/status``) and open file descriptors
(``/proc/self/fd``) are sampled every ten simulated minutes; growth is measured from the first
sample (after warm-up) to the last. Exit status 1 when growth passes the bounds
(``--max-rss-growth-mib``, ``--max-fd-growth``).

``--power-cuts N``: the power-cut soak of ``tests/reliability/power_cut.py``, N SIGKILLs.
``--fuzz``: the ``fuzz`` tests with the ``soak`` profile (5,000 inputs per target); counts go
to ``out/fuzz-counts.json``. Run them ``nice``d on a shared machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # run as a script: tests.reliability is imported below


def rss_kib() -> int:
    """This process's resident set size in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def open_fds() -> int:
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


_STORE_SCRIPT = """
import sys, time
sys.path.insert(0, sys.argv[2])
from pathlib import Path
from tests.reliability.power_cut import StoreForCuts
store = StoreForCuts(Path(sys.argv[1]))
print(store.url, store.api_key, flush=True)
while sys.stdin.read(1):
    pass
store.close()
"""


class StoreProcess:
    """The reference store server in a process of its own, so that the cart's RSS and
    descriptors are measured alone. It ends when its stdin closes."""

    def __init__(self, folder: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _STORE_SCRIPT, str(folder), str(REPO)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url, self.api_key = self.proc.stdout.readline().split()
        self.folder = folder

    def count_handoffs(self) -> int:
        """Handoffs the store holds (read after the last sample: it loads SQLAlchemy here)."""
        from store_server.db import StoreDB

        db = StoreDB.open(str(self.folder / "store.sqlite3"))
        try:
            return db.count_handoffs()
        finally:
            db.close()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)


def soak(work: Path, hours: float, step_s: float) -> tuple[list[tuple[float, int, int]], str]:
    """Trips for ``hours`` of simulated time; samples (sim minutes, RSS KiB, fds), summary."""
    import gc
    import random

    import numpy as np

    from cart_app.evidence import EvidenceSettings, EvidenceStore
    from cart_app.health import CartHealth
    from tests.reliability.rig import Stock, next_step, open_cart, play, seed_folder

    store = StoreProcess(work / "store")
    seed_folder(work / "cart")
    cart = open_cart(
        work / "cart",
        store_url=store.url,
        api_key=store.api_key,
        wall_offset=float(int(time.time())),
        id_prefix="soak",
    )
    health = CartHealth(cart.clock)
    cart.link.subscribe(health.on_link_status)
    cart.engine.subscribe(health.on_engine_event)
    evidence = EvidenceStore(
        work / "evidence", EvidenceSettings(keep_crops=True, retention_s=600.0), cart.clock
    )
    cart.engine.subscribe(evidence.on_engine_event)
    crop = np.full((96, 128, 3), 127, dtype=np.uint8)
    rng = random.Random(20261121)
    stock = Stock.of(cart.catalog)
    samples: list[tuple[float, int, int]] = []
    outcomes: dict[str, int] = {}
    steps = 0
    sessions: set[str] = set()
    sample_every = 600.0
    next_sample = 0.0
    start_wall = time.monotonic()
    try:
        while steps * step_s < hours * 3600.0:
            basket = cart.engine.snapshot.basket
            step = next_step(rng, basket, steps, stock, "soak")
            outcome = play(cart, step)
            outcomes[outcome.split(":")[0]] = outcomes.get(outcome.split(":")[0], 0) + 1
            session = cart.engine.snapshot.basket.session_id
            if session and cart.engine.snapshot.basket.lines and steps % 5 == 0:
                evidence.save_crop(session, "cam0", crop, (480, 640))
                sessions.add(session)
            cart.clock.advance(step_s)
            steps += 1
            if steps * step_s >= next_sample:
                gc.collect()
                samples.append((steps * step_s / 60.0, rss_kib(), open_fds()))
                next_sample += sample_every
        gc.collect()
        samples.append((steps * step_s / 60.0, rss_kib(), open_fds()))
        deadline = time.monotonic() + 30
        while cart.outbox.pending_count() and time.monotonic() < deadline:
            time.sleep(0.05)
        pending = cart.outbox.pending_count()
        kept_sessions = len(evidence.sessions())
        ledger_rows = sum(len(cart.ledger.records(s)) for s in cart.ledger.session_ids())
        handoffs = store.count_handoffs()
        problems = cart.ledger.verify()
    finally:
        cart.stop()
        store.close()
    summary = (
        f"{steps} steps ({hours:g} h simulated at {step_s:g} s a step) in "
        f"{time.monotonic() - start_wall:.0f} s wall; {len(sessions)} trips with crops; "
        f"outcomes {dict(sorted(outcomes.items()))}; ledger {ledger_rows} rows, chain ok "
        f"{problems.ok}; store holds {handoffs} handoffs, outbox pending {pending}; "
        f"evidence sessions still kept {kept_sessions} (retention 600 s); "
        f"health {health.state.level.name.lower()}"
    )
    return samples, summary


def scale_cycles(work: Path, cycles: int) -> list[tuple[int, int, int]]:
    """Unplug and replug a pty scale ``cycles`` times; samples (cycle, RSS KiB, fds)."""
    import gc

    from cart_app.clock import SystemClock
    from cart_app.health import CartHealth, Mode
    from scale.service import ScaleService
    from scale.service_settings import ScaleSettings
    from tests.reliability.helpers import wait_until
    from tests.scale.pty_peer import CartBoard, PtyPeer

    board = CartBoard(250.0)
    peer = PtyPeer(board, work / "ttySOAK")
    service = ScaleService(
        peer.url,
        "cartboard",
        ScaleSettings(
            silent_timeout_s=0.5, reconnect_backoff_initial_s=0.05, reconnect_backoff_max_s=0.2
        ),
    )
    health = CartHealth(SystemClock())
    service.subscribe(health.on_scale_event)
    samples: list[tuple[int, int, int]] = []
    service.start()
    try:
        wait_until(
            lambda: health.state.mode is Mode.NORMAL and service.status().state == "ok", "ok"
        )
        for cycle in range(cycles + 1):
            if cycle:
                peer.unplug()
                wait_until(lambda: health.state.mode is Mode.WEIGHT_LOCKED, "unplugged")
                peer.replug(board.boot())
                wait_until(lambda: health.state.mode is Mode.NORMAL, "back")
            if cycle % 5 == 0:
                gc.collect()
                samples.append((cycle, rss_kib(), open_fds()))
    finally:
        service.stop()
        peer.close()
    return samples


def growth(samples: list[tuple[float, int, int]] | list[tuple[int, int, int]]) -> tuple[float, int]:
    """(RSS growth in MiB, fd growth) from the first sample after warm-up to the last."""
    first = samples[1] if len(samples) > 2 else samples[0]
    last = samples[-1]
    return (last[1] - first[1]) / 1024.0, last[2] - first[2]


def main(argv: list[str] | None = None) -> int:
    """Run the soak chosen by the arguments; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=1.0, help="simulated hours of trips")
    parser.add_argument("--step-s", type=float, default=1.0, help="simulated seconds per step")
    parser.add_argument("--scale-cycles", type=int, default=30, help="scale unplug/replug cycles")
    parser.add_argument("--power-cuts", type=int, default=0, help="run N power cuts instead")
    parser.add_argument("--steps", type=int, default=40, help="steps per power-cut run")
    parser.add_argument("--fuzz", action="store_true", help="run the fuzz tests, soak profile")
    parser.add_argument("--max-rss-growth-mib", type=float, default=32.0)
    parser.add_argument("--max-fd-growth", type=int, default=2)
    args = parser.parse_args(argv)
    import logging

    logging.basicConfig(level=logging.ERROR)  # the faults are the point: keep their noise out
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}")

    if args.fuzz:
        env = {**os.environ, "SMARTCART_FUZZ_PROFILE": "soak"}
        command = [sys.executable, "-m", "pytest", "-q", "-m", "fuzz", "-p", "no:cacheprovider"]
        done = subprocess.run([*command, "tests/reliability"], cwd=REPO, env=env, check=False)
        counts = REPO / "out" / "fuzz-counts.json"
        if counts.exists():
            print(counts.read_text())
        return done.returncode

    if args.power_cuts:
        from tests.reliability.power_cut import run_cuts

        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="soak-cuts-") as tmp:
            stats = run_cuts(Path(tmp), args.power_cuts, steps=args.steps)
        print(f"power cuts: {stats.line()}")
        print(f"wall time {time.monotonic() - started:.0f} s")
        ok = stats.lost_baskets == 0 and stats.duplicate_handoffs == 0
        return 0 if ok else 1

    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        samples, summary = soak(Path(tmp), args.hours, args.step_s)
        print(summary)
        print("  sim min   RSS MiB   open fds")
        for minute, rss, fds in samples:
            print(f"  {minute:7.0f}   {rss / 1024:7.1f}   {fds:8d}")
        rss_growth, fd_growth = growth(samples)
        print(f"trips: RSS growth {rss_growth:+.1f} MiB, fd growth {fd_growth:+d} (after warm-up)")
        failed = rss_growth > args.max_rss_growth_mib or fd_growth > args.max_fd_growth
        if args.scale_cycles:
            cycles = scale_cycles(Path(tmp), args.scale_cycles)
            print("  cycle   RSS MiB   open fds")
            for cycle, rss, fds in cycles:
                print(f"  {cycle:5d}   {rss / 1024:7.1f}   {fds:8d}")
            s_rss, s_fd = growth(cycles)
            print(
                f"scale: {args.scale_cycles} unplug/replug cycles, RSS growth {s_rss:+.1f} MiB, "
                f"fd growth {s_fd:+d}"
            )
            failed = failed or s_fd > args.max_fd_growth
    print("within bounds" if not failed else "GROWTH BEYOND BOUNDS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
