"""``smartcart scale-sim`` (registered by the core's CLI)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``scale-sim`` command to the CLI."""
    subparsers.add_parser("scale-sim", help="run the scale simulator")
