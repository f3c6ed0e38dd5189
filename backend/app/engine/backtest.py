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
from app.engine.market import MarketData
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
    "risk_free_rate": 0.0,
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
    "set_holdings": {"holdings": None, "allow_leverage": False},
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


def build_statistics(
    *,
    start_date: pd.Timestamp,
    sessions: pd.DatetimeIndex,
    equity: np.ndarray,
    start_equity: float,
    benchmark_close: np.ndarray | None,
    realized_pnl: np.ndarray,
    traded_value: np.ndarray,
    total_orders: int,
    total_fees: float,
    risk_free_rate: float,
    synthetic: bool,
) -> tuple[dict[str, str], dict[str, float | bool]]:
    """LEAN statistics strings and float metrics. The equity samples are the start equity at
    the start date 00:00 followed by each session close, as in LEAN's daily equity chart."""
    samples = np.concatenate(([start_equity], equity))
    returns = st.daily_returns(samples)
    years = st.lean_equity_years(np.datetime64(start_date), np.datetime64(sessions[-1]))
    cagr = st.cagr(samples, years)
    max_dd = st.max_drawdown(samples)
    end_equity = float(samples[-1])
    sample_times = np.concatenate(
        ([np.datetime64(start_date, "D")], sessions.values.astype("datetime64[D]"))
    )
    recovery = st.drawdown_recovery_days(samples, sample_times)
    trades = st.trade_statistics(realized_pnl, start_equity)
    # LEAN's daily turnover: value traded that day / portfolio value, averaged over the days.
    turnover = float(np.mean(traded_value / equity)) if equity.size else 0.0
    if benchmark_close is not None and np.all(np.isfinite(benchmark_close)):
        benchmark_returns = st.daily_returns(benchmark_close)
        beta = st.beta(returns, benchmark_returns)
        alpha = st.alpha(returns, benchmark_returns, risk_free_rate)
        tracking = st.tracking_error(returns, benchmark_returns)
        information = st.information_ratio(returns, benchmark_returns)
        treynor = st.treynor_ratio(returns, benchmark_returns, risk_free_rate)
    else:
        # No benchmark series in the data: LEAN's neutral values.
        beta = alpha = tracking = information = treynor = 0.0
    sharpe = st.sharpe_ratio(returns, risk_free_rate)
    sortino = st.sortino_ratio(returns, risk_free_rate)
    volatility = st.annual_volatility(returns)
    variance = st.annual_variance(returns)
    psr = st.probabilistic_sharpe_ratio(returns) if returns.size > 1 else 0.0
    net_profit = end_equity - start_equity
    total_return = end_equity / start_equity - 1.0
    statistics = {
        "Total Orders": str(int(total_orders)),
        "Average Win": st.format_percent(trades["average_win"], 2),
        "Average Loss": st.format_percent(trades["average_loss"], 2),
        "Compounding Annual Return": st.format_percent(cagr, 3),
        "Drawdown": st.format_drawdown(max_dd),
        "Expectancy": st.format_ratio(trades["expectancy"]),
        "Start Equity": st.format_equity(start_equity),
        "End Equity": st.format_equity(end_equity),
        "Net Profit": st.format_percent(total_return, 3),
        "Sharpe Ratio": st.format_ratio(sharpe),
        "Sortino Ratio": st.format_ratio(sortino),
        "Probabilistic Sharpe Ratio": st.format_percent(psr, 3),
        "Loss Rate": st.format_percent(trades["loss_rate"], 0),
        "Win Rate": st.format_percent(trades["win_rate"], 0),
        "Profit-Loss Ratio": st.format_ratio(trades["profit_loss_ratio"], 2),
        "Alpha": st.format_ratio(alpha),
        "Beta": st.format_ratio(beta),
        "Annual Standard Deviation": st.format_ratio(volatility),
        "Annual Variance": st.format_ratio(variance),
        "Information Ratio": st.format_ratio(information),
        "Tracking Error": st.format_ratio(tracking),
        "Treynor Ratio": st.format_ratio(treynor),
        "Total Fees": st.format_money(total_fees),
        # Capacity needs intraday volume/spread models we do not have: LEAN's neutral values.
        "Estimated Strategy Capacity": "$0",
        "Lowest Capacity Asset": "",
        "Portfolio Turnover": st.format_percent(turnover, 2),
        "Drawdown Recovery": str(recovery),
    }
    metrics: dict[str, float | bool] = {
        "cagr": cagr,
        "max_drawdown": max_dd,
        "sharpe": sharpe,
        "sortino": sortino,
        "annual_volatility": volatility,
        "total_return": total_return,
        "net_profit": net_profit,
        "total_orders": float(total_orders),
        "total_fees": float(total_fees),
        "turnover": turnover,
        "win_rate": trades["win_rate"],
        "start_equity": float(start_equity),
        "end_equity": end_equity,
        "synthetic": bool(synthetic),
    }
    return statistics, metrics


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
        symbols=[data.symbols[c] for c in columns],
        open_price=open_source[rows][:, columns],
        close_price=close_source[rows][:, columns],
        decision_rows=schedule.decision_rows - first,
        target_weights=schedule.weights,
        initial_cash=params["initial_cash"],
        settings=settings,
        dividends=data.dividends[rows][:, columns] if raw and data.dividends is not None else None,
        split_ratio=data.split_factor[rows][:, columns]
        if raw and data.split_factor is not None
        else None,
    )
    benchmark_close = None
    benchmark = params["benchmark"]
    if benchmark and data.has_symbol(benchmark):
        column = data.column(benchmark)
        # The benchmark's value at the start sample is its last close before the first session.
        before = data.close[first - 1, column] if first > 0 else data.open[first, column]
        benchmark_close = np.concatenate(([before], data.close[rows, column]))
    statistics, metrics = build_statistics(
        start_date=pd.Timestamp(start_date),
        sessions=sessions,
        equity=output.equity,
        start_equity=params["initial_cash"],
        benchmark_close=benchmark_close,
        realized_pnl=output.realized_pnl,
        traded_value=output.traded_value,
        total_orders=len(output.orders),
        total_fees=output.total_fees,
        risk_free_rate=params["risk_free_rate"],
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
