"""``smartcart decode`` and other vision commands (registered by the core's CLI)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the vision commands to the CLI."""
    subparsers.add_parser("decode", help="read barcodes in images")
