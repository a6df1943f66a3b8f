"""``smartcart demo``: the whole cart on the bundled demo store, in about half a minute.

Starts the reference store server on 127.0.0.1, builds the cart from the laptop profile with the
scale simulator on a pty and one ``demo`` camera, enrols the demo store's product renders into
the recognition gallery (cached), and plays :class:`cart_app.demo_trip.DemoTrip` through it.
With a display the touchscreen opens and photographs every step; without one the demo draws
into its own Xvfb when it can, else runs without a window. Everything it writes is under
``--out`` (default ``out/demo``)::

    receipt.txt        the paid receipt
    screenshots/       NN-step.png, the touchscreen after each step (when a window was drawn)
    camera/            NN-step.png, the basket camera's frame of each step's item
    data/              the cart's data folder (ledger, catalog, gallery): fresh every run
    store/             the store server's database: fresh every run
    cache/             the enrolled gallery, reused while model, drawings and catalog are unchanged
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cart_app.config import LoadedConfig, load_config
from cart_app.config.schema import CameraConfig
from cart_app.demo_display import DisplayKind, choose_display, virtual_display

if TYPE_CHECKING:
    from cart_app.app import CartApp
    from cart_app.demo_trip import Pay, StepHook
    from cart_app.store.link import HandoffTicket
    from store_server.demo import DemoStore

DEMO_CAMERA = CameraConfig(id="basket", source="demo", width=640, height=480, fps=15.0)


def demo_config(args: argparse.Namespace, data_dir: Path) -> LoadedConfig:
    """The configuration (laptop profile unless told otherwise) with the demo's overrides.

    The demo's data folder, and the demo camera in place of the configured cameras: the script
    can only move items through a camera it draws.
    """
    loaded = load_config(args.config, profile=args.profile)
    cfg = loaded.config
    paths = cfg.paths.model_copy(update={"data_dir": str(data_dir)})
    cfg = cfg.model_copy(update={"paths": paths, "cameras": [DEMO_CAMERA]})
    return LoadedConfig(cfg, loaded.source, loaded.base_dir)


def _with_store(loaded: LoadedConfig, store: DemoStore) -> LoadedConfig:
    settings = loaded.config.store.model_copy(
        update={"mode": "http", "base_url": store.url, "api_key": store.cart_key}
    )
    return LoadedConfig(
        loaded.config.model_copy(update={"store": settings}), loaded.source, loaded.base_dir
    )


def _prepare_gallery(loaded: LoadedConfig, data_dir: Path, cache_dir: Path) -> None:
    from cart_app.app import catalog_json_path
    from cart_app.demo_gallery import ensure_demo_gallery
    from vision.recognition.manifest import ModelError
    from vision.render.products import catalog_products

    products = catalog_products(catalog_json_path(loaded))
    try:
        gallery = ensure_demo_gallery(data_dir, cache_dir, products)
    except ModelError as exc:
        print(f"note: recognition off ({exc}); the trip relies on barcodes and the scale")
        return
    how = "cached" if gallery.cached else f"rendered and enrolled in {gallery.seconds:.1f} s"
    print(
        f"recognition: {gallery.labels} demo products in the gallery of model {gallery.model} "
        f"({gallery.references} references, {how})"
    )


def _play(
    app: CartApp, pay: Pay | None, display: DisplayKind, out: Path, close: bool
) -> tuple[Any, list[Path]]:
    """Run the trip, in the window or headless; returns (final snapshot, screenshots)."""
    from cart_app.demo_trip import DemoTrip

    def trip(
        on_step: StepHook | None,
        cancelled: threading.Event,
        hand_off: Callable[[], HandoffTicket] | None = None,
    ) -> Any:
        return DemoTrip(
            app,
            print,
            pay,
            on_step=on_step,
            cancelled=cancelled,
            camera_dir=out / "camera",
            hand_off=hand_off,
        ).run()

    if display is DisplayKind.NONE:
        return trip(None, threading.Event()), []
    from ui.demo_run import run_demo_window

    result = run_demo_window(app, trip, out / "screenshots", close_when_done=close)
    if result.error is not None:
        raise result.error
    return result.value, result.screenshots


def _in_window_process(args: argparse.Namespace) -> int:
    """Run this demo again in a child process that may open the window.

    Kivy allows one window per process and keeps global state after it closes, so the window
    never opens in the caller's process (a test calling ``main(["demo"])``, a shell embedding
    the CLI): the child does everything, the caller waits for its exit status.
    """
    argv = [sys.executable, "-m", "cart_app.demo_cli", "--out", str(args.out), "--in-window"]
    if args.config is not None:
        argv += ["--config", str(args.config)]
    if args.profile is not None:
        argv += ["--profile", args.profile]
    if args.close:
        argv.append("--close")
    # Kivy's own console log repeats every INFO line of its start-up; the demo prints its own.
    env = {
        **os.environ,
        "KIVY_NO_CONSOLELOG": "1",
        "KIVY_NO_ARGS": "1",
        "KCFG_KIVY_LOG_LEVEL": "warning",
    }
    return subprocess.call(argv, env=env)


def cmd_demo(args: argparse.Namespace) -> int:
    """Run the scripted trip on the bundled demo store; print where its outputs are."""
    from cart_app.app import CartApp
    from cart_app.demo_trip import DemoCancelled, DemoError, receipt_text

    display = choose_display(headless=args.headless)
    if display is not DisplayKind.NONE and not args.in_window:
        return _in_window_process(args)
    started = time.monotonic()
    out: Path = args.out.resolve()
    data_dir, shots = out / "data", out / "screenshots"
    # The demo owns its output folder: each run starts from an empty basket and a new store.
    for stale in (data_dir, out / "store", shots, out / "camera"):
        shutil.rmtree(stale, ignore_errors=True)
    (out / "receipt.txt").unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    loaded = demo_config(args, data_dir)
    _prepare_gallery(loaded, data_dir, out / "cache")
    store = None
    try:
        from store_server.demo import start_demo_store
    except ImportError:
        print("note: the reference store server is not installed; the demo runs offline")
    else:
        store = start_demo_store(out / "store", loaded.config.cart_id)
        print(f"reference store server on {store.url} (database {out / 'store'})")
        loaded = _with_store(loaded, store)
    # The window stays open for a developer at a screen; a script's run must end by itself.
    interactive = sys.stdin is not None and sys.stdin.isatty()
    close = args.close or display is DisplayKind.VIRTUAL or not interactive
    window = {
        DisplayKind.SCREEN: "the touchscreen window is open: tap along or take over",
        DisplayKind.VIRTUAL: "no display: drawing the touchscreen on a virtual X server (Xvfb)",
        DisplayKind.NONE: "no window (headless): the steps are printed",
    }[display]
    print(f"note: {window}")
    try:
        screen = virtual_display() if display is DisplayKind.VIRTUAL else nullcontext("")
        with screen, CartApp.build(loaded) as app:
            for warning in app.warnings:
                print(f"note: {warning}")
            pay = store.pay if store is not None else None
            final, screenshots = _play(app, pay, display, out, close)
            receipt = receipt_text(app, final)
    except DemoCancelled as exc:
        print(f"\nthe demo trip stopped: {exc} (the window was closed)")
        return 1
    except DemoError as exc:
        print(f"\nthe demo trip failed: {exc}")
        return 1
    finally:
        if store is not None:
            store.stop()
    receipt_path = out / "receipt.txt"
    receipt_path.write_text(receipt, encoding="utf-8")
    print(f"\nreceipt written to {receipt_path}")
    if screenshots:
        print(f"{len(screenshots)} screenshots of the touchscreen in {shots}/")
    cameras = sorted((out / "camera").glob("*.png"))
    if cameras:
        print(f"{len(cameras)} pictures of what the basket camera saw in {out / 'camera'}/")
    print(f"demo finished in {time.monotonic() - started:.1f} s")
    return 0


def register(sub: Any) -> None:
    """Add ``demo`` to the ``smartcart`` subcommands (``sub``: argparse's subparsers)."""
    p = sub.add_parser("demo", help="scripted trip on the bundled demo store")
    p.add_argument("--config", type=Path, help="TOML configuration file")
    p.add_argument("--profile", choices=("laptop", "cart"), help="override the profile")
    p.add_argument("--out", type=Path, default=Path("out/demo"), help="output folder")
    p.add_argument("--headless", action="store_true", help="never open a window")
    p.add_argument(
        "--close",
        action="store_true",
        help="close the window when the trip ends (it stays open on a real display)",
    )
    p.add_argument("--in-window", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_demo)


def main(argv: list[str] | None = None) -> int:
    """``python -m cart_app.demo_cli``: the demo's window process (see :func:`cmd_demo`)."""
    parser = argparse.ArgumentParser(prog="smartcart")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["demo", *(sys.argv[1:] if argv is None else argv)])
    logging.basicConfig(level=logging.WARNING)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
