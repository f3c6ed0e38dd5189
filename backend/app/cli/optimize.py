"""`stocklean optimize` (placeholder until its issue lands)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("optimize", help="(not built yet)")
    parser.set_defaults(handler=lambda args: print("stocklean optimize: not built yet") or 1)
