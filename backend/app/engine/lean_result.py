"""Reading LEAN-format statistics back into numbers, so that results produced by a real LEAN
run can be imported and ranked like ours (DESIGN §4.4).

The inverse of the formatters in :mod:`app.engine.statistics`: ``"12.345%"`` is the fraction
0.12345, ``"$3.49"`` is 3.49, ``"104486.22"`` is 104486.22. Values carry LEAN's rounding
(CAGR to 0.001 %, Drawdown to 0.1 %), nothing finer.

Ranking rule: our own runs store these read-back values too (``run_backtest``'s metrics), so
a metric compares at the precision LEAN prints it, the same for executed and imported runs.
The conversion is decimal-exact (``"15.000%"`` is the double nearest 0.15, the literal a
constraint ``max_drawdown <= 0.15`` uses), so float noise below the printed digits can never
flip a constraint at its boundary.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

from app.engine.errors import BacktestInputError

# metric name -> (LEAN statistics key, kind)
STATISTIC_KEYS: dict[str, tuple[str, str]] = {
    "cagr": ("Compounding Annual Return", "percent"),
    "max_drawdown": ("Drawdown", "percent"),
    "sharpe": ("Sharpe Ratio", "number"),
    "sortino": ("Sortino Ratio", "number"),
    "probabilistic_sharpe": ("Probabilistic Sharpe Ratio", "percent"),
    "alpha": ("Alpha", "number"),
    "beta": ("Beta", "number"),
    "information_ratio": ("Information Ratio", "number"),
    "tracking_error": ("Tracking Error", "number"),
    "treynor": ("Treynor Ratio", "number"),
    "drawdown_recovery_days": ("Drawdown Recovery", "number"),
    "annual_volatility": ("Annual Standard Deviation", "number"),
    "total_return": ("Net Profit", "percent"),
    "total_fees": ("Total Fees", "money"),
    "turnover": ("Portfolio Turnover", "percent"),
    "win_rate": ("Win Rate", "percent"),
    "total_orders": ("Total Orders", "number"),
    "start_equity": ("Start Equity", "money"),
    "end_equity": ("End Equity", "money"),
}
REQUIRED_KEYS = ("Compounding Annual Return", "Drawdown")


def parse_statistic(text: Any, kind: str) -> float:
    """One LEAN statistics string as a float: percent strings become fractions, through
    decimals so the result is the double nearest the printed value."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        value = float(text)
    else:
        cleaned = str(text).strip().replace(",", "")
        if kind == "money":
            cleaned = cleaned.replace("$", "")
        if kind == "percent":
            if not cleaned.endswith("%"):
                raise ValueError(f"{text!r} is not a percentage")
            cleaned = cleaned[:-1]
        try:
            number = Decimal(cleaned)
        except InvalidOperation:
            raise ValueError(f"{text!r} is not a number") from None
        if kind == "percent":
            number = number.scaleb(-2)
        value = float(number)
    if not math.isfinite(value):
        raise ValueError(f"{text!r} is not a finite number")
    return value


def metrics_from_lean_statistics(statistics: Any) -> dict[str, float]:
    """The numeric metrics (fractions) from a LEAN result's ``statistics`` object. Raises
    :class:`BacktestInputError` naming the key when a value cannot be read or the keys
    ranking needs are missing."""
    if not isinstance(statistics, dict):
        raise BacktestInputError("the LEAN result has no statistics object")
    missing = [key for key in REQUIRED_KEYS if key not in statistics]
    if missing:
        raise BacktestInputError(f"the LEAN statistics lack {', '.join(missing)}")
    metrics: dict[str, float] = {}
    for name, (key, kind) in STATISTIC_KEYS.items():
        if key not in statistics:
            continue
        try:
            metrics[name] = parse_statistic(statistics[key], kind)
        except (TypeError, ValueError) as exc:
            raise BacktestInputError(f'LEAN statistic "{key}": {exc}') from None
    if "start_equity" in metrics and "end_equity" in metrics:
        metrics["net_profit"] = metrics["end_equity"] - metrics["start_equity"]
    return metrics
