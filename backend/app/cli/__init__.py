"""The ``stocklean`` command. Each sub-command group lives in its own module with a
``register(subparsers)`` function; this module only assembles them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from app.cli import analyze, backtest, data, db, demo, optimize, score, serve, train, worker
from app.cli.common import CommandError

COMMAND_MODULES = (serve, worker, db, data, backtest, train, optimize, analyze, score, demo)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stocklean",
        description="StockLean: projects, ML train jobs, backtests and optimizations.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
