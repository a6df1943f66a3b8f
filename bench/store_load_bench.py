"""Load benchmark: N simulated carts hand baskets to the reference store server on loopback.

The server runs as its own process (``python -m store_server store-server``, one uvicorn
worker, SQLite with ``synchronous=FULL`` unless ``--db`` names a PostgreSQL URL); the carts are
threads of this process, each with its own API key, Ed25519 key and the real client
(``cart_app.store.client``). Each cart repeats: start a session, sign a token for a basket of
``--lines`` lines, ``POST /v1/handoffs`` (timed), and with ``--pay`` the lane pays it.

Bounded: at most ``--handoffs`` per cart and ``--max-seconds`` in all. Prints handoffs per
second and the handoff latency percentiles. Figures are in ``docs/benchmarks.md``.

    .venv/bin/python -m bench.store_load_bench --carts 50 --handoffs 20
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bench.stats import percentile
from cart_app.store.client import StoreClient
from cart_app.store.contract import HandoffLine, HandoffRequest, SessionStart, handoff_lines_hash
from cart_app.store.http import StoreError, TransportSettings
from cart_app.store.token import CartKey, TokenClaims, issue_token

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Results:
    """What the carts measured, shared between their threads."""

    latencies_s: list[float] = field(default_factory=list)
    pay_latencies_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def provision(db_target: str, carts: int) -> tuple[list[tuple[str, str, CartKey]], str]:
    """Create the carts' and one lane's API keys and register the carts' public keys."""
    from store_server.db import StoreDB

    db = StoreDB.open(db_target)
    out = []
    try:
        for i in range(carts):
            cart_id = f"bench-cart-{i:03d}-{uuid.uuid4().hex[:6]}"
            key = CartKey.generate()
            db.register_cart_key(cart_id, key.key_id, key.public_key_b64, time.time())
            out.append((cart_id, db.add_principal("cart", cart_id), key))
        lane_key = db.add_principal("lane", f"bench-lane-{uuid.uuid4().hex[:6]}")
    finally:
        db.close()
    return out, lane_key


def start_server(db_target: str) -> tuple[subprocess.Popen[str], str]:
    """The server process and its URL (it listens on a free loopback port)."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "store_server",
            "store-server",
            "--db",
            db_target,
            "--port",
            "0",
            "--log-level",
            "warning",
            "--no-demo",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("store-server listening on "):
            return proc, line.split()[-1]
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError("the store server did not start")


def basket(lines: int) -> list[HandoffLine]:
    """A basket of ``lines`` lines with plausible prices."""
    return [
        HandoffLine(
            line_id=i + 1,
            sku=f"SKU-{i:04d}",
            name=f"Product {i}",
            quantity=1 + i % 3,
            unit_price_cents=990 + 10 * i,
            net_cents=(1 + i % 3) * (990 + 10 * i),
        )
        for i in range(lines)
    ]


@dataclass(frozen=True)
class Job:
    """What every cart thread shares."""

    url: str
    lane_key: str
    args: argparse.Namespace
    stop_at: float
    start: threading.Barrier
    results: Results


def run_cart(job: Job, cart: tuple[str, str, CartKey]) -> None:
    """One cart's trips until its count or the time is up."""
    url, lane_key, args, stop_at, results = (
        job.url,
        job.lane_key,
        job.args,
        job.stop_at,
        job.results,
    )
    cart_id, api_key, key = cart
    client = StoreClient.from_settings(
        TransportSettings(base_url=url, api_key=api_key, read_timeout_s=30, total_timeout_s=60)
    )
    lane = requests.Session()
    lane.headers["Authorization"] = f"Bearer {lane_key}"
    lines = basket(args.lines)
    digest = handoff_lines_hash(lines)
    total = sum(line.net_cents for line in lines)
    job.start.wait()
    try:
        for _ in range(args.handoffs):
            if time.monotonic() > stop_at:
                return
            session_id = uuid.uuid4().hex
            now = int(time.time())
            handoff_id = uuid.uuid4().hex
            token = issue_token(
                key,
                TokenClaims(
                    key.key_id,
                    handoff_id,
                    session_id,
                    cart_id,
                    now,
                    now + 900,
                    total,
                    len(lines),
                    digest,
                ),
            )
            request = HandoffRequest(
                handoff_id=handoff_id,
                session_id=session_id,
                cart_id=cart_id,
                token=token,
                currency="SEK",
                total_cents=total,
                lines=lines,
                created_at=float(now),
            )
            try:
                client.start_session(
                    SessionStart(session_id=session_id, cart_id=cart_id, started_at=now)
                )
                began = time.perf_counter()
                client.hand_off(request)
                elapsed = time.perf_counter() - began
                with results.lock:
                    results.latencies_s.append(elapsed)
                if args.pay:
                    began = time.perf_counter()
                    paid = lane.post(
                        f"{url}/v1/lane/pay",
                        json={
                            "token": token,
                            "lane_id": "bench-lane",
                            "payment_ref": handoff_id,
                            "amount_cents": total,
                        },
                        timeout=30,
                    )
                    paid.raise_for_status()
                    with results.lock:
                        results.pay_latencies_s.append(time.perf_counter() - began)
            except (StoreError, requests.RequestException) as exc:
                with results.lock:
                    results.errors.append(str(exc)[:200])
    finally:
        client.close()
        lane.close()


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--carts", type=int, default=50, help="concurrent carts (threads)")
    parser.add_argument("--handoffs", type=int, default=20, help="handoffs per cart")
    parser.add_argument("--lines", type=int, default=12, help="lines per basket")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="stop issuing after")
    parser.add_argument("--pay", action="store_true", help="the lane pays every basket")
    parser.add_argument("--db", help="database path or URL (default: a temporary SQLite file)")
    args = parser.parse_args(argv)
    if not (1 <= args.carts <= 500 and 1 <= args.handoffs <= 10_000):
        parser.error("--carts must be 1..500 and --handoffs 1..10000")

    with tempfile.TemporaryDirectory() as folder:
        db_target = args.db or str(Path(folder) / "bench.sqlite3")
        carts, lane_key = provision(db_target, args.carts)
        proc, url = start_server(db_target)
        try:
            results = Results()
            barrier = threading.Barrier(args.carts + 1)
            stop_at = time.monotonic() + args.max_seconds
            job = Job(url, lane_key, args, stop_at, barrier, results)
            threads = [threading.Thread(target=run_cart, args=(job, cart)) for cart in carts]
            for thread in threads:
                thread.start()
            barrier.wait()
            began = time.perf_counter()
            for thread in threads:
                thread.join()
            wall = time.perf_counter() - began
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    done = len(results.latencies_s)
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; server: 1 uvicorn process, "
        f"{'PostgreSQL' if args.db and '://' in args.db else 'SQLite (WAL, synchronous=FULL)'}"
    )
    print(
        f"{args.carts} concurrent carts, {done} handoffs of {args.lines} lines "
        f"({'each paid by the lane' if args.pay else 'no payments'}), "
        f"{len(results.errors)} errors, {wall:.1f} s"
    )
    if done:
        ms = [v * 1000 for v in results.latencies_s]
        print(
            f"handoffs/s: {done / wall:.0f} (with a session start per handoff"
            f"{' and a payment' if args.pay else ''})"
        )
        print(
            f"handoff latency ms: median {statistics.median(ms):.1f}, "
            f"p95 {percentile(ms, 95):.1f}, p99 {percentile(ms, 99):.1f}, max {max(ms):.1f}"
        )
    if results.pay_latencies_s:
        ms = [v * 1000 for v in results.pay_latencies_s]
        print(
            f"lane payment latency ms: median {statistics.median(ms):.1f}, "
            f"p95 {percentile(ms, 95):.1f}"
        )
    for error in results.errors[:5]:
        print(f"error: {error}")
    return 0 if done and not results.errors else 1


if __name__ == "__main__":
    sys.exit(main())
