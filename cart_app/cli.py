"""smartcart: the onboard application of a smart shopping cart.

argparse (standard library) covers what the CLI needs: subcommands, types and help, so no
extra dependency is taken for it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from cart_app.config import ConfigError, LoadedConfig, load_config

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def _load(args: argparse.Namespace) -> LoadedConfig:
    loaded = load_config(args.config, profile=args.profile)
    if getattr(args, "data_dir", None):
        paths = loaded.config.paths.model_copy(update={"data_dir": str(args.data_dir.resolve())})
        loaded = LoadedConfig(
            loaded.config.model_copy(update={"paths": paths}), loaded.source, loaded.base_dir
        )
    return loaded


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate a configuration file and summarise it."""
    loaded = load_config(args.file, profile=args.profile)
    cfg = loaded.config
    cams = ", ".join(f"{c.id}={c.source}" for c in cfg.cameras) or "none"
    print(f"{args.file}: OK (profile {cfg.profile}, cart {cfg.cart_id})")
    print(f"  scale: {cfg.scale.driver} {cfg.scale.protocol} {cfg.scale.url or '(pty)'}")
    print(f"  cameras: {cams}")
    print(f"  store: {cfg.store.mode} {cfg.store.base_url}")
    print(f"  data: {loaded.resolve(cfg.paths.data_dir)}")
    return EXIT_OK


def cmd_config_doc(args: argparse.Namespace) -> int:
    """Write the configuration reference generated from the schema."""
    from cart_app.config.docgen import render_config_doc

    text = render_config_doc()
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    """Start the cart and keep it running until interrupted."""
    from cart_app.app import CartApp
    from cart_app.engine import CartSnapshot
    from cart_app.receipt_text import render_snapshot

    loaded = _load(args)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with CartApp.build(loaded) as app:
        currency = app.catalog.store_info().currency

        def show(event: object) -> None:
            if isinstance(event, CartSnapshot):
                print(render_snapshot(event, currency), flush=True)
            else:
                print(event, flush=True)

        for warning in app.warnings:
            print(f"note: {warning}", flush=True)
        if loaded.config.ui.enabled and not args.headless:
            # Imported here: the core never loads Kivy unless a window is wanted.
            import ui

            if ui.has_display():
                signal.signal(signal.SIGTERM, lambda *_: ui.stop_ui())
                return ui.run_ui(app)
            print("no display: running headless (set DISPLAY, or run under xvfb-run)")
        app.engine.subscribe(show)
        show(app.engine.snapshot)
        print("smartcart running headless; Ctrl-C to stop", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            done.wait()
    return EXIT_OK


def cmd_basket(args: argparse.Namespace) -> int:
    """Print the basket restored from the ledger, as a restart would see it."""
    from cart_app.app import CartApp
    from cart_app.receipt_text import render_snapshot

    app = CartApp.build(_load(args))
    try:
        app.engine.start()
        snap = app.engine.snapshot
        print(render_snapshot(snap, app.catalog.store_info().currency))
    finally:
        app.engine.stop()
        app.ledger.close()
        app.catalog.close()
    return EXIT_OK


def cmd_ledger_verify(args: argparse.Namespace) -> int:
    """Check a ledger file's hash chain; when it is damaged, print what can be salvaged."""
    from cart_app.clock import SystemClock
    from cart_app.ledger import Ledger, LedgerError

    try:
        ledger = Ledger.open(args.file, SystemClock())
    except LedgerError as exc:
        # A file the cart refuses to open (a damaged page, a broken chain at start-up).
        print(f"{args.file}: DAMAGED: {exc}")
        _print_salvage(args.file)
        return EXIT_FAILURE
    try:
        report = ledger.verify()
    finally:
        ledger.close()
    if report.ok:
        print(f"{args.file}: chain intact ({report.entries_checked} records)")
        return EXIT_OK
    print(f"{args.file}: TAMPERED at record {report.first_bad_seq}: {report.problem}")
    _print_salvage(args.file)
    return EXIT_FAILURE


def _print_salvage(path: Path) -> None:
    """The last good basket of a damaged ledger (read from a copy; the file is not touched)."""
    from cart_app.ledger import LedgerError, salvage

    try:
        found = salvage(path)
    except LedgerError as exc:
        print(f"nothing salvaged: {exc}")
        return
    where = (
        f"up to record {found.first_bad_seq - 1} (record {found.first_bad_seq}: {found.problem})"
        if found.first_bad_seq is not None
        else "every record"
    )
    print(f"salvaged {found.rows} chain-checked records, {where}; the file was left as it is")
    basket = found.basket
    if found.session_id is None:
        print("last good basket: no session")
        return
    print(
        f"last good basket: session {found.session_id}, state {basket.state.value}, "
        f"{len(basket.lines)} lines"
    )
    for line in basket.lines:
        amount = f"{line.weight_g:g} g" if line.weight_g else f"{line.quantity} ×"
        print(f"  #{line.line_id}  {amount}  {line.sku}")
    for prompt in basket.pending_prompts:
        print(f"  ? {prompt.reason} (pending)")


def cmd_gtin(args: argparse.Namespace) -> int:
    """Normalise a product code to GTIN-14 and check its digit."""
    from vision.gtin import normalize_gtin

    print(normalize_gtin(args.code, symbology=args.symbology))
    return EXIT_OK


def cmd_catalog_import(args: argparse.Namespace) -> int:
    """Validate a catalog JSON and import it into the cart's catalog database."""
    from cart_app.app import scheme_from_config
    from cart_app.catalog import Catalog

    loaded = _load(args)
    data_dir = loaded.resolve(loaded.config.paths.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog.open(
        data_dir / "catalog.sqlite3", variable_measure=scheme_from_config(loaded)
    )
    try:
        count = catalog.import_json(args.file)
    finally:
        catalog.close()
    print(f"imported {count} products from {args.file}")
    return EXIT_OK


def cmd_catalog_lookup(args: argparse.Namespace) -> int:
    """Show the product a code or label resolves to."""
    from cart_app.app import open_catalog

    loaded = _load(args)
    data_dir = loaded.resolve(loaded.config.paths.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    catalog = open_catalog(loaded, data_dir)
    try:
        match = catalog.resolve_scan(args.code) if args.code.isdigit() else None
        product = match.product if match else catalog.by_label(args.code)
        if product is None:
            print(f"{args.code}: not in the catalog")
            return EXIT_FAILURE
        print(product)
        if match and (match.weight_g is not None or match.price_cents is not None):
            print(f"embedded: weight {match.weight_g} g, price {match.price_cents} cents")
    finally:
        catalog.close()
    return EXIT_OK


def _store_server_missing(args: argparse.Namespace) -> int:
    print("the reference store server is not installed: pip install 'smartcart[store-server]'")
    return EXIT_FAILURE


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="smartcart", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", type=Path, help="TOML configuration file")
        p.add_argument("--profile", choices=("laptop", "cart"), help="override the profile")
        p.add_argument("--data-dir", type=Path, help="override paths.data_dir")
        return p

    p = sub.add_parser("check-config", help="validate a configuration file")
    p.add_argument("file", type=Path)
    p.add_argument("--profile", choices=("laptop", "cart"))
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("config-doc", help="print the configuration reference")
    p.add_argument("--output", type=Path)
    p.set_defaults(func=cmd_config_doc)

    p = with_config(sub.add_parser("run", help="run the cart"))
    p.add_argument("--headless", action="store_true", help="no touchscreen window")
    p.set_defaults(func=cmd_run)

    p = with_config(sub.add_parser("basket", help="print the basket restored from the ledger"))
    p.set_defaults(func=cmd_basket)

    p = sub.add_parser("ledger-verify", help="check a ledger file's hash chain")
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_ledger_verify)

    p = sub.add_parser("gtin", help="normalise a product code to GTIN-14")
    p.add_argument("code")
    p.add_argument("--symbology", help="e.g. upce when the code is UPC-E")
    p.set_defaults(func=cmd_gtin)

    # Leaf packages own their commands; each registers a handler in ``func``.
    import cart_app.demo_cli
    import cart_app.doctor
    import scale.cli
    import scale.sim.cli
    import vision.cli
    import vision.model_cli

    cart_app.demo_cli.register(sub)
    cart_app.doctor.register(sub)
    scale.cli.register(sub)
    scale.sim.cli.register(sub)
    vision.cli.register(sub)
    __import__("cart_app.sessions.cli", fromlist=["register"]).register(sub)
    vision.model_cli.register(sub)
    try:
        # The reference store server is an optional extra; the cart runs without it.
        import store_server.cli
    except ImportError:
        p = sub.add_parser("store-server", help="reference store server (not installed)")
        p.set_defaults(func=_store_server_missing)
    else:
        store_server.cli.register(sub)

    catalog = sub.add_parser("catalog", help="catalog tools").add_subparsers(
        dest="catalog_command", required=True
    )
    p = with_config(catalog.add_parser("import", help="import a catalog JSON"))
    p.add_argument("file", type=Path)
    p.set_defaults(func=cmd_catalog_import)
    p = with_config(catalog.add_parser("lookup", help="resolve a code or label"))
    p.add_argument("code")
    p.set_defaults(func=cmd_catalog_lookup)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``smartcart`` console script."""
    from cart_app.app import StartupError
    from cart_app.catalog import CatalogError
    from cart_app.ledger import LedgerError
    from vision.gtin import InvalidGtin

    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.error(f"{args.command}: not available in this build")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The store link reports an unreachable store as its link state; urllib3's per-retry
    # warnings would only repeat that.
    logging.getLogger("urllib3.connectionpool").setLevel(
        logging.DEBUG if args.verbose else logging.ERROR
    )
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
        return EXIT_USAGE
    except (StartupError, CatalogError, LedgerError) as exc:
        print(f"smartcart: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except InvalidGtin as exc:
        print(f"smartcart: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return code


if __name__ == "__main__":
    sys.exit(main())
