"""``run_backtest``: validate parameters, build the strategy's target schedule, simulate it
and compute LEAN-format statistics."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from app.engine import statistics as st
from app.engine.errors import BacktestInputError
from app.engine.lean_series import read_interest_rates
from app.engine.market import MarketData
from app.engine.performance import benchmark_bars, build_statistics
from app.engine.set_holdings import parse_leverage
from app.engine.simulator import (
    FEE_MODELS,
    FILL_MODELS,
    NORMALIZATIONS,
    ExecutionSettings,
    simulate,
)
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
                merged[name] = pd.Timestamp(str(merged[name])).normalize()
            except ValueError:
                raise BacktestInputError(f"{name} is not a date: {merged[name]!r}") from None
    return merged


# A window may start a few days before the data's first session (a weekend or a holiday).
START_SLACK = pd.Timedelta(days=7)


def window_rows(
    data: MarketData, start: pd.Timestamp | None, end: pd.Timestamp | None
) -> tuple[int, int]:
    sessions = data.sessions
    if len(sessions) == 0:
        raise BacktestInputError("the market data has no sessions")
    start = sessions[0] if start is None else start
    end = sessions[-1] if end is None else end
    if start > end:
        raise BacktestInputError(
            f"backtest_start {start.date()} is after backtest_end {end.date()}"
        )
    first_day, last_day = sessions[0], sessions[-1]
    if start < first_day - START_SLACK or end > last_day:
        raise BacktestInputError(
            f"window {start.date()} .. {end.date()} is outside the data "
            f"({first_day.date()} .. {last_day.date()})"
        )
    first = int(sessions.searchsorted(start, side="left"))
    last = int(sessions.searchsorted(end, side="right")) - 1
    if last < first:
        raise BacktestInputError(f"no sessions between {start.date()} and {end.date()}")
    return first, last


@dataclass
class BacktestResult:
    """Outcome of one backtest. ``equity``: daily equity at each session close (index: session
    date); ``statistics``: LEAN-format strings; ``metrics``: floats (fractions);
    ``orders``: one row per fill; ``holdings``: shares after each session's close."""

    equity: pd.Series
    statistics: dict[str, str]
    metrics: dict[str, float | bool]
    orders: pd.DataFrame
    holdings: pd.DataFrame
    start_date: pd.Timestamp
    parameters: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_lean_result(self) -> dict[str, Any]:
        """JSON-serialisable document shaped like a LEAN backtest result (DESIGN §4.4)."""
        equity_points = [[self.start_date.date().isoformat(), float(self.metrics["start_equity"])]]
        equity_points += [[d.date().isoformat(), float(v)] for d, v in self.equity.items()]
        orders = [
            {
                "decisionDate": row.decision_date.date().isoformat(),
                "time": row.fill_date.date().isoformat(),
                "symbol": row.symbol,
                "quantity": float(row.quantity),
                "price": float(row.price),
                "value": float(row.value),
                "fee": float(row.fee),
                "direction": "buy" if row.quantity > 0 else "sell",
            }
            for row in self.orders.itertuples(index=False)
        ]
        return {
            "statistics": dict(self.statistics),
            "runtimeStatistics": {
                "Equity": st.format_money(float(self.metrics["end_equity"])),
                "Fees": st.format_money(-float(self.metrics["total_fees"])),
                "Net Profit": st.format_money(float(self.metrics["net_profit"])),
                "Return": st.format_percent(float(self.metrics["total_return"]), 2),
            },
            "charts": {"Strategy Equity": {"series": {"Equity": {"values": equity_points}}}},
            "equity": equity_points,
            "orders": orders,
            "metrics": {
                k: (bool(v) if isinstance(v, bool) else float(v)) for k, v in self.metrics.items()
            },
            "parameters": {k: _jsonable(v) for k, v in self.parameters.items()},
            "provenance": dict(self.provenance),
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return value


_project_rates: tuple[np.ndarray, np.ndarray] | None = None


def project_interest_rates() -> tuple[np.ndarray, np.ndarray]:
    """The project's copy of LEAN's interest-rate file, read once per process."""
    global _project_rates
    if _project_rates is None:
        _project_rates = read_interest_rates()
    return _project_rates


def delisting_rows(data: MarketData, columns: np.ndarray, first: int, last: int) -> np.ndarray:
    """Per traded column, the window row of its last bar when its data ends inside the window
    (LEAN delists it there), else the window length."""
    length = last - first + 1
    present = np.isfinite(data.close[first:, columns])
    after_window = present[length:].any(axis=0) if present.shape[0] > length else False
    in_window = present[:length]
    last_bar = length - 1 - np.argmax(in_window[::-1], axis=0)
    ends = in_window.any(axis=0) & ~after_window & (last_bar < length - 1)
    return np.where(ends, last_bar, length)


def run_backtest(
    params: dict, data: MarketData, *, file_roots: list[Path] | None = None
) -> BacktestResult:
    """Run one backtest of ``params`` (algorithm_parameters) on ``data``. With ``file_roots``
    (the HTTP API) file parameters must lie inside those directories; with None (Python API,
    CLI) local paths are trusted. Bad input raises :class:`BacktestInputError`."""
    params = normalize_params(params, file_roots)
    first, last = window_rows(data, params["backtest_start"], params["backtest_end"])
    start_date = (
        params["backtest_start"] if params["backtest_start"] is not None else data.sessions[first]
    )
    schedule = STRATEGIES[params["strategy"]](data, first, last, params)
    columns = schedule.columns
    symbols = [data.symbols[c] for c in columns]
    leverage = parse_leverage(params.get("leverage"), symbols)
    rows = slice(first, last + 1)
    settings = ExecutionSettings(
        fill_model=params["fill_model"],
        fractional_shares=params["fractional_shares"],
        fee_model=params["fee_model"],
        fee_bps=params["fee_bps"],
        free_portfolio_value_percentage=params["free_portfolio_value_percentage"],
        data_normalization=params["data_normalization"],
    )
    raw = settings.data_normalization == "raw"
    if raw and (data.raw_open is None or data.raw_close is None):
        raise BacktestInputError("data_normalization raw needs raw prices, which this data lacks")
    open_source = data.raw_open if raw else data.open
    close_source = data.raw_close if raw else data.close
    sessions = data.sessions[rows]
    output = simulate(
        sessions=sessions,
        symbols=symbols,
        open_price=open_source[rows][:, columns],
        close_price=close_source[rows][:, columns],
        decision_rows=schedule.decision_rows - first,
        target_weights=schedule.weights,
        decision_modes=schedule.modes,
        leverage=leverage,
        last_rows=delisting_rows(data, columns, first, last),
        initial_cash=params["initial_cash"],
        settings=settings,
        dividends=data.dividends[rows][:, columns] if raw and data.dividends is not None else None,
        split_ratio=data.split_factor[rows][:, columns]
        if raw and data.split_factor is not None
        else None,
    )
    statistics, metrics = build_statistics(
        start_date=pd.Timestamp(start_date),
        sessions=sessions,
        equity=output.equity,
        start_equity=params["initial_cash"],
        benchmark=benchmark_bars(data, params["benchmark"]),
        risk_free_rate=params["risk_free_rate"],
        interest_rates=data.interest_rates or project_interest_rates(),
        closing_pnl=output.realized_pnl,
        traded_value=output.traded_value,
        total_orders=output.order_count,
        total_fees=output.total_fees,
        synthetic=data.synthetic,
    )
    holdings = pd.DataFrame(
        output.holdings,
        index=sessions,
        columns=[data.symbols[c] for c in columns],
        copy=False,  # the simulator's fresh array, used nowhere else
    )
    return BacktestResult(
        equity=pd.Series(output.equity, index=sessions, name="equity"),
        statistics=statistics,
        metrics=metrics,
        orders=output.orders,
        holdings=holdings,
        start_date=pd.Timestamp(start_date),
        parameters=params,
        provenance=dict(data.provenance),
    )
