"""``smartcart record``, ``smartcart replay`` and ``smartcart simulate-trips``."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
import time
from pathlib import Path

EXIT_OK = 0
EXIT_FAILURE = 1


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the session commands to the ``smartcart`` parser."""
    p = sub.add_parser("record", help="run the cart and record the session into a new folder")
    p.add_argument("folder", type=Path, help="new session folder")
    p.add_argument("--config", type=Path, help="TOML configuration file")
    p.add_argument("--profile", choices=("laptop", "cart"), help="override the profile")
    p.add_argument("--data-dir", type=Path, help="override paths.data_dir")
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--headless", action="store_true", help="no touchscreen window")
    p.set_defaults(func=cmd_record)

    p = sub.add_parser("replay", help="replay a session through the pipeline; write its receipt")
    p.add_argument("folder", type=Path, help="session folder")
    p.add_argument("--out", type=Path, required=True, help="receipt JSON to write")
    p.add_argument("--events", type=Path, help="also write the event log (JSON lines) here")
    p.add_argument("--allow-partial", action="store_true", help="replay an unfinished recording")
    p.add_argument(
        "--no-shopper",
        action="store_true",
        help="generated trips: do not answer prompts from the truth",
    )
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("simulate-trips", help="generate shopping trips as sessions with truth")
    p.add_argument("--n", type=int, required=True, help="number of trips")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, help="folder for the trips")
    p.add_argument("--first", type=int, default=0, help="number of the first trip")
    p.add_argument("--jobs", type=int, default=1, help="processes")
    p.add_argument(
        "--scan-share",
        type=float,
        default=0.0,
        help="share of barcoded items the shopper scans before putting them in",
    )
    p.add_argument("--max-items", type=int, default=40, help="longest shopping list")
    p.add_argument("--catalog", type=Path, help="catalog JSON (default: the demo store)")
    p.set_defaults(func=cmd_simulate_trips)


def cmd_record(args: argparse.Namespace) -> int:
    """Run the cart (headless or with its window) and record everything into ``folder``."""
    from cart_app.app import CartApp
    from cart_app.cli import _load

    loaded = _load(args)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        app = CartApp.build(loaded, record_to=args.folder)
    except FileExistsError as exc:
        print(f"smartcart record: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    with app:
        for warning in app.warnings:
            print(f"note: {warning}", flush=True)
        print(f"recording into {args.folder}; Ctrl-C to stop", flush=True)
        if loaded.config.ui.enabled and not args.headless and args.duration is None:
            import ui

            if ui.has_display():
                return ui.run_ui(app)
        deadline = None if args.duration is None else time.monotonic() + args.duration
        with contextlib.suppress(KeyboardInterrupt):
            while not done.is_set():
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                done.wait(0.5 if left is None else min(left, 0.5))
    print(f"session written to {args.folder}")
    return EXIT_OK


def cmd_replay(args: argparse.Namespace) -> int:
    """Replay a session and write its receipt (and event log)."""
    from cart_app.sessions.format import SessionError, load_session
    from cart_app.sessions.receipt_json import write_receipt
    from cart_app.sessions.replay import ReplaySettings, replay, write_events

    try:
        session = load_session(args.folder, allow_partial=args.allow_partial)
        started = time.perf_counter()
        result = replay(session, ReplaySettings(shopper=not args.no_shopper))
    except SessionError as exc:
        print(f"smartcart replay: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    elapsed = time.perf_counter() - started
    write_receipt(args.out, result.document)
    if args.events:
        write_events(args.events, result)
    doc = result.document
    receipt = doc["receipt"] or {}
    span = result.t_end - session.meta.t_start
    print(
        f"{args.folder}: {len(doc['lines'])} lines, total {receipt.get('total_cents')} cents, "
        f"checkout {doc['checkout']}; {len(result.prompts)} prompts; "
        f"{span:.0f} s of session in {elapsed:.1f} s"
    )
    return EXIT_OK


def cmd_simulate_trips(args: argparse.Namespace) -> int:
    """Generate trips."""
    from dataclasses import replace

    from cart_app.sessions.sim.generate import GenerateSettings, simulate_trips
    from cart_app.sessions.sim.plan import TripSettings

    trip = replace(
        TripSettings(),
        scan_share=args.scan_share,
        max_items=args.max_items,
        min_items=min(TripSettings().min_items, args.max_items),
    )
    started = time.perf_counter()
    folders = simulate_trips(
        args.out,
        args.n,
        args.seed,
        GenerateSettings(trip=trip),
        first=args.first,
        jobs=args.jobs,
        catalog_path=args.catalog,
    )
    print(f"wrote {len(folders)} trips to {args.out} in {time.perf_counter() - started:.0f} s")
    return EXIT_OK
