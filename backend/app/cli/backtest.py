"""`stocklean backtest --params FILE`: one backtest of the algorithm_parameters in FILE."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from app.cli.common import CommandError

SUMMARY_KEYS = (
    "Total Orders",
    "Compounding Annual Return",
    "Drawdown",
    "Net Profit",
    "Sharpe Ratio",
    "Sortino Ratio",
    "Annual Standard Deviation",
    "Start Equity",
    "End Equity",
    "Total Fees",
    "Portfolio Turnover",
)


def read_params(path: Path) -> dict:
    """algorithm_parameters from a JSON file: the bare dict or {"algorithm_parameters": {...}}
    (also inside {"params": {...}} as the HTTP API stores it)."""
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise CommandError(f"params file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CommandError(f"params file {path} is not valid JSON: {exc}") from None
    if isinstance(document, dict) and isinstance(document.get("params"), dict):
        document = document["params"]
    if isinstance(document, dict) and "algorithm_parameters" in document:
        document = document["algorithm_parameters"]
    if not isinstance(document, dict):
        raise CommandError(f"params file {path} must hold a JSON object")
    return document


def _run(args: argparse.Namespace) -> int:
    from app.config import get_settings
    from app.engine import BacktestInputError, load_market_data, run_backtest

    params = read_params(Path(args.params))
    settings = get_settings()
    source = args.data_source or settings.data_source
    data_dir = Path(args.data_dir) if args.data_dir else Path(settings.data_dir)
    try:
        data = load_market_data(source, data_dir)
        result = run_backtest(params, data)
    except BacktestInputError as exc:
        raise CommandError(str(exc)) from None
    if args.json:
        print(json.dumps(result.to_lean_result(), indent=2))
        return 0
    if data.synthetic:
        print("NOTE: SYNTHETIC demo market data, not real prices")
    width = max(len(key) for key in SUMMARY_KEYS)
    for key in SUMMARY_KEYS:
        print(f"{key:<{width}}  {result.statistics[key]}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("backtest", help="run one backtest from a params JSON file")
    parser.add_argument("--params", required=True, help="JSON file with algorithm_parameters")
    parser.add_argument("--data-source", choices=["parquet", "lean", "csv"])
    parser.add_argument("--data-dir")
    parser.add_argument("--json", action="store_true", help="print the LEAN-format result")
    parser.set_defaults(handler=_run)
