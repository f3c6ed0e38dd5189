"""The ``set_holdings`` strategy: LEAN's ``SetHoldings`` written as a parameter file
(DESIGN §5 contract).

- ``holdings``: ``{"SPY": 0.7, "IBM": -0.2}`` (fractions of portfolio value; negative = short);
- ``rebalance``: ``if_not_invested`` (default: set them at every bar while nothing is held,
  LEAN's ``if not Portfolio.Invested``) or ``every_bar`` (set them at every bar; LEAN's minimum
  order margin keeps small drifts from trading);
- ``schedule``: ``[{"from": "2009-01-01", "holdings": {"AAPL": 0.3}}]``, each set at the first
  bar on or after ``from`` for the symbols not held then;
- ``leverage``: a number or ``{"SPY": 1}`` per symbol (LEAN's equity default 2).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from app.engine.errors import BacktestInputError
from app.engine.execution import DEFAULT_LEVERAGE
from app.engine.market import MarketData
from app.engine.simulator import DECIDE_ALWAYS, DECIDE_UNHELD, DECIDE_WHEN_FLAT

REBALANCE_MODES = ("if_not_invested", "every_bar")


def parse_weights(value: Any, field: str) -> dict[str, float]:
    """``{"SYMBOL": weight}`` with finite numeric weights; symbols upper-cased."""
    if not isinstance(value, dict) or not value:
        raise BacktestInputError(f'{field} must be a non-empty mapping like {{"SPY": 1.0}}')
    weights = {}
    for symbol, weight in value.items():
        name = str(symbol).strip().upper()
        if not name:
            raise BacktestInputError(f"{field}: a symbol is empty")
        if isinstance(weight, bool) or not isinstance(weight, int | float | str):
            raise BacktestInputError(f"{field}.{name} must be a number, got {weight!r}")
        try:
            number = float(weight)
        except ValueError:
            raise BacktestInputError(f"{field}.{name} must be a number, got {weight!r}") from None
        if not math.isfinite(number):
            raise BacktestInputError(f"{field}.{name} must be finite, got {weight!r}")
        if name in weights:
            raise BacktestInputError(f"{field}: {name} is given twice")
        weights[name] = number
    return weights


def parse_schedule(value: Any) -> list[tuple[pd.Timestamp, dict[str, float]]]:
    """``schedule`` entries as (from date, weights), in the order given."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise BacktestInputError('schedule must be a list like [{"from": "2020-01-02", ...}]')
    entries = []
    for index, entry in enumerate(value):
        where = f"schedule[{index}]"
        if not isinstance(entry, dict):
            raise BacktestInputError(f"{where} must be an object with from and holdings")
        unknown = sorted(set(entry) - {"from", "holdings"})
        if unknown:
            raise BacktestInputError(f"{where}: unknown key(s) {', '.join(unknown)}")
        if "from" not in entry or "holdings" not in entry:
            raise BacktestInputError(f"{where} needs both from and holdings")
        try:
            start = pd.Timestamp(str(entry["from"])).normalize()
        except ValueError:
            raise BacktestInputError(f"{where}.from is not a date: {entry['from']!r}") from None
        entries.append((start, parse_weights(entry["holdings"], f"{where}.holdings")))
    return entries


def parse_leverage(value: Any, symbols: list[str]) -> np.ndarray:
    """Leverage per symbol from a number or a ``{"SYMBOL": number}`` mapping (> 0)."""

    def number(raw: Any, field: str) -> float:
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise BacktestInputError(f"{field} must be a number > 0, got {raw!r}")
        try:
            result = float(raw)
        except ValueError:
            raise BacktestInputError(f"{field} must be a number > 0, got {raw!r}") from None
        if not math.isfinite(result) or result <= 0:
            raise BacktestInputError(f"{field} must be a number > 0, got {raw!r}")
        return result

    leverage = np.full(len(symbols), DEFAULT_LEVERAGE)
    if value is None:
        return leverage
    if isinstance(value, dict):
        for symbol, raw in value.items():
            name = str(symbol).strip().upper()
            if name not in symbols:
                raise BacktestInputError(
                    f"leverage.{name}: {name} is not among the strategy's symbols "
                    f"({', '.join(symbols)})"
                )
            leverage[symbols.index(name)] = number(raw, f"leverage.{name}")
        return leverage
    return np.full(len(symbols), number(value, "leverage"))


def set_holdings_plan(
    data: MarketData, first: int, last: int, params: dict
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """(symbols, decision rows, weights with NaN = no target, decision modes)."""
    holdings = parse_weights(params["holdings"], "holdings")
    rebalance = str(params.get("rebalance") or "if_not_invested").lower()
    if rebalance not in REBALANCE_MODES:
        raise BacktestInputError(
            f"rebalance must be one of {', '.join(REBALANCE_MODES)}, got {params['rebalance']!r}"
        )
    schedule = parse_schedule(params.get("schedule"))
    symbols = list(holdings)
    for _, weights in schedule:
        symbols += [s for s in weights if s not in symbols]
    missing = [s for s in symbols if not data.has_symbol(s)]
    if missing:
        raise BacktestInputError(f"symbols not in the data: {', '.join(missing)}")
    base = np.full(len(symbols), np.nan)
    base[: len(holdings)] = list(holdings.values())
    rows = list(range(first, last + 1))
    weights = [base] * len(rows)
    mode = DECIDE_WHEN_FLAT if rebalance == "if_not_invested" else DECIDE_ALWAYS
    modes = [mode] * len(rows)
    sessions = data.sessions
    for start, entry in schedule:
        row = max(int(sessions.searchsorted(start, side="left")), first)
        if row > last:
            continue
        entry_weights = np.full(len(symbols), np.nan)
        for symbol, weight in entry.items():
            entry_weights[symbols.index(symbol)] = weight
        rows.append(row)
        weights.append(entry_weights)
        modes.append(DECIDE_UNHELD)
    # Stable by row: the regular decision of a bar comes before its schedule entries.
    order = np.argsort(rows, kind="stable")
    return (
        symbols,
        np.asarray(rows, dtype=np.int64)[order],
        np.vstack(weights)[order],
        np.asarray(modes, dtype=np.int64)[order],
    )
