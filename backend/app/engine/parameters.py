"""Algorithm parameters: defaults per strategy, validation with errors that name the field,
file paths confined to allowed roots, and the backtest window's session rows."""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from app.engine.errors import BacktestInputError
from app.engine.market import MarketData
from app.engine.simulator import FEE_MODELS, FILL_MODELS, NORMALIZATIONS
from app.engine.strategies import STRATEGIES

COMMON_DEFAULTS: dict[str, Any] = {
    "backtest_start": None,
    "backtest_end": None,
    "initial_cash": 100000.0,
    "data_normalization": "adjusted",
    "fill_model": "next_open",
    "fractional_shares": False,
    "fee_model": "interactive_brokers",
    "fee_bps": 0.0,
    "free_portfolio_value_percentage": 0.0025,
    # LEAN's Settings.MinimumOrderMarginPortfolioPercentage: no order whose margin is smaller.
    "minimum_order_margin_percentage": 0.001,
    # Benchmark for Alpha/Beta/Information Ratio etc. (LEAN's default benchmark is SPY).
    "benchmark": "SPY",
    # None: LEAN's rate (the primary credit rate averaged over the run); a number overrides.
    "risk_free_rate": None,
    # Per-security leverage: a number or {"SPY": 1} (LEAN's equity default 2).
    "leverage": None,
}
STRATEGY_DEFAULTS: dict[str, dict[str, Any]] = {
    "ml_score_vol_target": {
        "score_csv_path": None,
        "rebalance": "weekly",
        "top_n": 30,
        "max_weight": 0.035,
        "max_exposure": 0.70,
        "vol_target": 0.050,
        "vol_lookback": 63,
        "risk_off_symbols": "SHY",
        "risk_off_mode": "first",
    },
    "set_holdings": {
        "holdings": None,
        "rebalance": "if_not_invested",
        "schedule": None,
        "leverage": None,
    },
    "target_weights": {"weights_path": None, "allow_leverage": False},
}
REQUIRED = {
    "ml_score_vol_target": ("score_csv_path",),
    "set_holdings": ("holdings",),
    "target_weights": ("weights_path",),
}
PATH_PARAMETERS = ("score_csv_path", "weights_path")
RISK_OFF_MODES = ("first", "equal")


def _number(
    params: dict,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    value = params[name]
    if isinstance(value, bool):
        raise BacktestInputError(f"{name} must be a number, got {value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BacktestInputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise BacktestInputError(f"{name} must be finite, got {value!r}")
    if low is not None and (number <= low if low_open else number < low):
        raise BacktestInputError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    if high is not None and number > high:
        raise BacktestInputError(f"{name} must be <= {high}, got {value!r}")
    return number


def _flag(params: dict, name: str) -> bool:
    value = params[name]
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    raise BacktestInputError(f"{name} must be true or false, got {value!r}")


def _choice(params: dict, name: str, allowed: tuple[str, ...]) -> str:
    value = str(params[name]).lower()
    if value not in allowed:
        raise BacktestInputError(
            f"{name} must be one of {', '.join(allowed)}, got {params[name]!r}"
        )
    return value


def resolve_file(value: Any, name: str, file_roots: list[Path] | None) -> Path:
    """A parameter's file path; with ``file_roots`` it must resolve inside one of them (no
    ``..`` escapes, no absolute paths elsewhere, symlinks followed)."""
    if not isinstance(value, str | Path) or not str(value).strip():
        raise BacktestInputError(f"{name} must be a file path")
    path = Path(str(value)).expanduser()
    if file_roots is None:
        return path
    roots = [Path(root).resolve() for root in file_roots]
    candidates = [path] if path.is_absolute() else [root / path for root in roots]
    for candidate in candidates:
        resolved = candidate.resolve()
        if any(resolved.is_relative_to(root) for root in roots):
            return resolved
    raise BacktestInputError(f"{name} {value!r} is outside the allowed file roots")


def calendar_day(text: str) -> pd.Timestamp:
    """``pd.Timestamp(text).normalize()``; a date that starts with a digit is absolute, so it
    is parsed once per process (every trial of a sweep gives the same two), a relative one
    ("today") each time."""
    return _absolute_day(text) if text[:1].isdigit() else pd.Timestamp(text).normalize()


@lru_cache(maxsize=256)
def _absolute_day(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).normalize()


def normalize_params(params: dict, file_roots: list[Path] | None = None) -> dict[str, Any]:
    """Validated parameters with defaults filled in; BacktestInputError names what is wrong."""
    if not isinstance(params, dict):
        raise BacktestInputError("algorithm parameters must be a JSON object")
    strategy = str(params.get("strategy", "ml_score_vol_target"))
    if strategy not in STRATEGIES:
        raise BacktestInputError(
            f"unknown strategy {strategy!r} (expected one of {', '.join(STRATEGIES)})"
        )
    allowed = {"strategy", *COMMON_DEFAULTS, *STRATEGY_DEFAULTS[strategy]}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise BacktestInputError(f"unknown parameter(s) for {strategy}: {', '.join(unknown)}")
    merged = {**COMMON_DEFAULTS, **STRATEGY_DEFAULTS[strategy], **params, "strategy": strategy}
    for name in REQUIRED[strategy]:
        if merged[name] in (None, ""):
            raise BacktestInputError(f"{strategy} needs the parameter {name}")
    for name in PATH_PARAMETERS:
        if name in merged and merged[name] is not None:
            merged[name] = resolve_file(merged[name], name, file_roots)
    merged["initial_cash"] = _number(merged, "initial_cash", low=0, low_open=True)
    merged["fee_bps"] = _number(merged, "fee_bps", low=0)
    merged["free_portfolio_value_percentage"] = _number(
        merged, "free_portfolio_value_percentage", low=0, high=0.5
    )
    merged["minimum_order_margin_percentage"] = _number(
        merged, "minimum_order_margin_percentage", low=0, high=0.5
    )
    if merged["risk_free_rate"] is not None:
        merged["risk_free_rate"] = _number(merged, "risk_free_rate")
    merged["fractional_shares"] = _flag(merged, "fractional_shares")
    merged["fill_model"] = _choice(merged, "fill_model", FILL_MODELS)
    merged["fee_model"] = _choice(merged, "fee_model", FEE_MODELS)
    merged["data_normalization"] = _choice(merged, "data_normalization", NORMALIZATIONS)
    merged["benchmark"] = str(merged["benchmark"] or "").upper()
    if "allow_leverage" in merged:
        merged["allow_leverage"] = _flag(merged, "allow_leverage")
    if strategy == "ml_score_vol_target":
        merged["rebalance"] = _choice(merged, "rebalance", ("daily", "weekly", "monthly"))
        merged["risk_off_mode"] = _choice(merged, "risk_off_mode", RISK_OFF_MODES)
        merged["max_weight"] = _number(merged, "max_weight", low=0, high=1, low_open=True)
        merged["max_exposure"] = _number(merged, "max_exposure", low=0, high=1)
        merged["vol_target"] = _number(merged, "vol_target", low=0, low_open=True)
        for name in ("top_n", "vol_lookback"):
            number = _number(merged, name, low=1 if name == "top_n" else 2)
            if number != int(number):
                raise BacktestInputError(f"{name} must be a whole number, got {merged[name]!r}")
            merged[name] = int(number)
    for name in ("backtest_start", "backtest_end"):
        if merged[name] is not None:
            try:
                merged[name] = calendar_day(str(merged[name]))
            except ValueError:
                raise BacktestInputError(f"{name} is not a date: {merged[name]!r}") from None
    return merged


# A window may start a few days before the data's first session (a weekend or a holiday).
START_SLACK = np.timedelta64(7, "D")


def window_rows(
    data: MarketData, start: pd.Timestamp | None, end: pd.Timestamp | None
) -> tuple[int, int]:
    """Panel rows of the first and the last session in [start, end] (the data's first and
    last sessions for None); BacktestInputError for a window outside the data or without a
    session."""
    # On the sessions' datetime64 values: the DatetimeIndex's own lookups cost a backtest
    # ~0.1 ms once the run has evicted pandas' code from the caches.
    days = data.sessions.values
    if len(days) == 0:
        raise BacktestInputError("the market data has no sessions")
    first_day, last_day = days[0], days[-1]
    start_day = first_day if start is None else start.to_datetime64()
    end_day = last_day if end is None else end.to_datetime64()
    if start_day > end_day or start_day < first_day - START_SLACK or end_day > last_day:
        start, end = pd.Timestamp(start_day), pd.Timestamp(end_day)
        if start > end:
            raise BacktestInputError(
                f"backtest_start {start.date()} is after backtest_end {end.date()}"
            )
        raise BacktestInputError(
            f"window {start.date()} .. {end.date()} is outside the data "
            f"({pd.Timestamp(first_day).date()} .. {pd.Timestamp(last_day).date()})"
        )
    first = int(np.searchsorted(days, start_day, side="left"))
    last = int(np.searchsorted(days, end_day, side="right")) - 1
    if last < first:
        raise BacktestInputError(
            f"no sessions between {pd.Timestamp(start_day).date()} and "
            f"{pd.Timestamp(end_day).date()}"
        )
    return first, last
