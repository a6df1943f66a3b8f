"""``smartcart store-server`` and ``smartcart store-admin`` (registered by the core's CLI).

Also runnable without the cart's CLI: ``python -m store_server store-server --db PATH``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_OK = 0
EXIT_FAILURE = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``store-server`` and ``store-admin`` to the CLI."""
    p = subparsers.add_parser(
        "store-server",
        help="run the reference store server (optional extra)",
        description="Serve store API v1. SQLite by file path, PostgreSQL by URL "
        "(postgresql+psycopg://user@host/db). An empty database gets --catalog, or the "
        "bundled demo store.",
    )
    p.add_argument("--db", default="store.sqlite3", help="SQLite file or database URL")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8765, help="port (0: any free port)")
    p.add_argument("--catalog", type=Path, help="catalog JSON to publish at start")
    p.add_argument("--layout", type=Path, help="store layout JSON to publish with it")
    p.add_argument("--no-demo", action="store_true", help="do not seed the demo store")
    p.add_argument("--tls-cert", help="server certificate (PEM); enables HTTPS")
    p.add_argument("--tls-key", help="server private key (PEM)")
    p.add_argument("--client-ca", help="require client certificates signed by this CA")
    p.add_argument(
        "--token-leeway", type=float, default=60.0, help="clock skew allowed on tokens (s)"
    )
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    p.set_defaults(func=cmd_serve)

    admin = subparsers.add_parser("store-admin", help="reference store server administration")
    admin.add_argument("--db", default="store.sqlite3", help="SQLite file or database URL")
    sub = admin.add_subparsers(dest="admin_command", required=True)

    a = sub.add_parser("add-key", help="create an API key for a cart, lane or administrator")
    a.add_argument("--role", required=True, choices=("cart", "lane", "admin"))
    a.add_argument("--name", required=True, help="cart id, lane id or admin name")
    a.add_argument("--key", help="use this key (development only); default: a random one")
    a.set_defaults(func=cmd_add_key)

    a = sub.add_parser("add-badge", help="register a staff badge")
    a.add_argument("--badge", required=True, help="the code the badge carries")
    a.add_argument("--staff-id", required=True)
    a.add_argument("--name", required=True)
    a.add_argument("--role", action="append", default=[], help="a role (repeatable)")
    a.add_argument("--expires-in-days", type=float)
    a.set_defaults(func=cmd_add_badge)

    a = sub.add_parser(
        "badge-key",
        help="print the store's staff badge public key (created when missing)",
        description="The line for the carts' [maintenance] badge_public_keys. The private key "
        "stays in --key-file (mode 0600) on the machine that issues badges.",
    )
    a.add_argument("--key-file", type=Path, required=True, help="the badge signing key (PEM)")
    a.set_defaults(func=cmd_badge_key)

    a = sub.add_parser(
        "issue-badge",
        help="print a signed staff badge (SB1: QR payload) that carts check offline",
    )
    a.add_argument("--key-file", type=Path, required=True, help="the badge signing key (PEM)")
    a.add_argument("--staff-id", required=True, help="1-64 of A-Z a-z 0-9 . _ -")
    a.add_argument(
        "--role",
        action="append",
        choices=("maintenance", "calibration", "supervisor"),
        help="a role (repeatable; default maintenance)",
    )
    a.add_argument("--valid-hours", type=float, default=12.0, help="validity (at most a year)")
    a.add_argument("--now", type=int, help="issue time, Unix seconds (default: now)")
    a.set_defaults(func=cmd_issue_badge)

    a = sub.add_parser("import-catalog", help="publish a catalog (changed entries only)")
    a.add_argument("file", type=Path)
    a.add_argument("--layout", type=Path)
    a.add_argument("--gallery", type=Path, help="JSON list of gallery embeddings")
    a.set_defaults(func=cmd_import_catalog)

    a = sub.add_parser("openapi", help="write the OpenAPI document")
    a.add_argument("--output", type=Path, help="file (default: standard output)")
    a.set_defaults(func=cmd_openapi)


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _open(args: argparse.Namespace) -> Any:
    from store_server.db import StoreDB

    return StoreDB.open(args.db)


def _publish(db: Any, catalog: Path, layout: Path | None, gallery: Path | None) -> str:
    version, changed = db.upload_catalog(
        _read_json(catalog),
        _read_json(layout) if layout else None,
        _read_json(gallery) if gallery else None,
    )
    return f"catalog v{version} ({changed} entries changed)"


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the server in the foreground."""
    from cart_app.store_layout import demo_store_dir
    from store_server.api import ServerContext, create_app
    from store_server.runner import TlsFiles, serve_forever

    if bool(args.tls_cert) != bool(args.tls_key):
        print("store-server: --tls-cert and --tls-key go together", file=sys.stderr)
        return EXIT_FAILURE
    db = _open(args)
    if args.catalog:
        print(_publish(db, args.catalog, args.layout, None), flush=True)
    elif db.catalog_version() == 0 and not args.no_demo:
        demo = demo_store_dir()
        print(
            "seeding the demo store: "
            + _publish(db, demo / "catalog.json", demo / "layout.json", None),
            flush=True,
        )
    tls = TlsFiles(args.tls_cert, args.tls_key, args.client_ca) if args.tls_cert else None
    app = create_app(ServerContext(db, token_leeway_s=args.token_leeway))
    try:
        serve_forever(app, host=args.host, port=args.port, tls=tls, log_level=args.log_level)
    finally:
        db.close()
    return EXIT_OK


def cmd_add_key(args: argparse.Namespace) -> int:
    """Create an API key and print it (it is stored only as a hash)."""
    db = _open(args)
    try:
        key = db.add_principal(args.role, args.name, args.key, now=time.time())
    finally:
        db.close()
    print(key)
    return EXIT_OK


def cmd_add_badge(args: argparse.Namespace) -> int:
    """Register a staff badge."""
    db = _open(args)
    expires = time.time() + args.expires_in_days * 86400 if args.expires_in_days else None
    try:
        db.add_badge(args.badge, args.staff_id, args.name, args.role, expires)
    finally:
        db.close()
    print(f"badge of {args.staff_id} registered")
    return EXIT_OK


def cmd_badge_key(args: argparse.Namespace) -> int:
    """Print the badge public key (hex, for ``[maintenance] badge_public_keys``)."""
    from cart_app.store.token import CartKey

    key = CartKey.load_or_create(args.key_file)
    print(key.public_key().public_bytes_raw().hex())
    return EXIT_OK


def cmd_issue_badge(args: argparse.Namespace) -> int:
    """Print a signed staff badge: the text to put in the badge's QR code."""
    from cart_app.store.badge import issue_badge
    from cart_app.store.token import CartKey, KeyFileError

    if not args.key_file.exists():
        # Issuing with a fresh key would make a badge no cart trusts: refuse instead.
        print(
            f"store-admin: no badge key at {args.key_file} (create it with badge-key)",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    issued = args.now if args.now is not None else int(time.time())
    expires = issued + round(args.valid_hours * 3600)
    roles = frozenset(args.role or ["maintenance"])
    try:
        key = CartKey.load_or_create(args.key_file)
        badge = issue_badge(key, args.staff_id, roles, issued, expires)
    except (ValueError, KeyFileError) as exc:  # a bad badge or key file: say why, no traceback
        print(f"store-admin: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    print(badge)
    return EXIT_OK


def cmd_import_catalog(args: argparse.Namespace) -> int:
    """Publish a catalog file."""
    db = _open(args)
    try:
        print(_publish(db, args.file, args.layout, args.gallery))
    finally:
        db.close()
    return EXIT_OK


def cmd_openapi(args: argparse.Namespace) -> int:
    """Print or write the OpenAPI document."""
    from store_server.openapi import openapi_text

    text = openapi_text()
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m store_server``: the two commands without the cart's CLI."""
    from store_server.errors import ApiProblem

    parser = argparse.ArgumentParser(prog="store_server", description=__doc__.splitlines()[0])
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        code: int = args.func(args)
    except (OSError, ValueError, ApiProblem) as exc:
        print(f"store-server: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    return code
