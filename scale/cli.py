"""``smartcart scale …`` subcommands (registered by the core's CLI)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``scale`` command group to the CLI."""
    scale = subparsers.add_parser("scale", help="scale tools")
    scale.add_subparsers(dest="scale_command", required=True)
