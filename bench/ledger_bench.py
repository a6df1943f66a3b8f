"""Ledger benchmark: durable confirmed changes per second, and restore time of a long session.

    python -m bench.ledger_bench [--appends 2000] [--lines 500] [--runs 7] [--dir PATH]

Appends go through :meth:`cart_app.ledger.Ledger.append` exactly as the engine calls it: WAL,
``synchronous=FULL``, one committed transaction per confirmed change. Restore is what a
restart does: open the file, pick the session, read it with its chain checked, fold it.
Figures depend on the disk's fsync latency far more than on the CPU; ``--dir`` benches the
filesystem the cart really writes to.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cart_app.basket import fold, restore
from cart_app.clock import SystemClock
from cart_app.domain import Evidence, EvidenceSource
from cart_app.ledger import Ledger
from cart_app.records import LineAdded, LineRemoved, Record, SessionStarted, StateChanged
from cart_app.session import SessionState


def _evidence(n: int) -> Evidence:
    return Evidence(
        source=EvidenceSource.VISION,
        weight_delta_g=412.5 + n % 17,
        gtin=f"400638133{n % 10_000:04d}",
        vision_label="oat-milk-1l",
        vision_probability=0.9731,
        camera_id="cam1",
    )


def _changes(count: int) -> list[Record]:
    """A session's worth of confirmed changes: mostly adds, one removal in five."""
    records: list[Record] = [SessionStarted("bench", "cart-1"), StateChanged(SessionState.SHOPPING)]
    n = 0
    while len(records) < count:
        n += 1
        records.append(LineAdded(n, f"sku-{n % 50}", 2, evidence=_evidence(n)))
        if n % 4 == 0:
            records.append(LineRemoved(n, 1, evidence=_evidence(n)))
    return records[:count]


def bench_appends(folder: Path, count: int) -> tuple[float, list[float]]:
    """(appends per second, per-append latencies in seconds) for ``count`` durable appends."""
    records = _changes(count)
    latencies: list[float] = []
    with Ledger.open(folder / "appends.sqlite3", SystemClock()) as ledger:
        started = time.perf_counter()
        for record in records:
            t0 = time.perf_counter()
            ledger.append("bench", record)
            latencies.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - started
    return count / elapsed, latencies


def _timed(action: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    action()
    return time.perf_counter() - t0


def bench_restore(folder: Path, lines: int, runs: int) -> dict[str, float]:
    """Median seconds of each restore step over ``runs`` cold opens of a ``lines``-line session."""
    path = folder / "restore.sqlite3"
    session: list[Record] = [SessionStarted("s500", "cart-1"), StateChanged(SessionState.SHOPPING)]
    session += [LineAdded(n, f"sku-{n}", 1, evidence=_evidence(n)) for n in range(1, lines + 1)]
    with Ledger.open(path, SystemClock()) as ledger:
        # An earlier finished session, so the read is a stretch of a longer chain.
        for record in _changes(300):
            ledger.append("earlier", record)
        ledger.append("earlier", StateChanged(SessionState.DONE))
        for record in session:
            ledger.append("s500", record)
    expected = fold(session)

    steps: dict[str, list[float]] = {"open": [], "restore": [], "verify_all": [], "total": []}
    for _ in range(runs):
        t0 = time.perf_counter()
        ledger = Ledger.open(path, SystemClock())
        t1 = time.perf_counter()
        state = restore(ledger)
        t2 = time.perf_counter()
        report = ledger.verify()
        t3 = time.perf_counter()
        ledger.close()
        if state != expected or not report.ok or len(state.lines) != lines:
            raise SystemExit("restore bench: restored basket differs from what was written")
        steps["open"].append(t1 - t0)
        steps["restore"].append(t2 - t1)
        steps["verify_all"].append(t3 - t2)
        steps["total"].append(t3 - t0)
    steps["fold_only"] = [_timed(lambda: fold(session)) for _ in range(runs)]
    return {name: statistics.median(values) for name, values in steps.items()}


def main(argv: list[str] | None = None) -> int:
    """Run both benchmarks and print their figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=500)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=None, help="folder on the disk to bench")
    args = parser.parse_args(argv)

    print(
        f"python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"{os.cpu_count()} CPUs, {platform.machine()}"
    )
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        folder = Path(tmp)
        print(f"ledger folder: {folder}")
        rate, latencies = bench_appends(folder, args.appends)
        cuts = statistics.quantiles(latencies, n=100)
        median_ms = statistics.median(latencies) * 1e3
        print(
            f"durable appends (WAL, synchronous=FULL): {args.appends} in a row, "
            f"{rate:,.0f} confirmed changes/s; latency median {median_ms:.2f} ms, "
            f"p99 {cuts[98] * 1e3:.2f} ms, max {max(latencies) * 1e3:.2f} ms"
        )
        medians = bench_restore(folder, args.lines, args.runs)
        print(
            f"restore of a {args.lines}-line session (median of {args.runs}): "
            f"{medians['open'] * 1e3 + medians['restore'] * 1e3:.1f} ms "
            f"(open {medians['open'] * 1e3:.1f} ms incl. integrity check, "
            f"read + chain check + fold {medians['restore'] * 1e3:.1f} ms, "
            f"of which fold {medians['fold_only'] * 1e3:.1f} ms); "
            f"full-file verify() {medians['verify_all'] * 1e3:.1f} ms; "
            f"all together {medians['total'] * 1e3:.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
