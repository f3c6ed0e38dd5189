"""``run_backtest``: validate parameters, build the strategy's target schedule, simulate it
and compute LEAN-format statistics."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from app.engine import statistics as st
from app.engine.errors import BacktestInputError
from app.engine.lean_series import read_interest_rates
from app.engine.market import MarketData
from app.engine.parameters import COMMON_DEFAULTS, normalize_params, window_rows
from app.engine.performance import LeanFeed, benchmark_bars, build_statistics, statistics_window
from app.engine.set_holdings import parse_leverage
from app.engine.simulator import ExecutionSettings, SimulationOutput, simulate
from app.engine.strategies import STRATEGIES

__all__ = ["BacktestResult", "normalize_params", "panel_fields", "run_backtest", "window_rows"]

# The MarketData array fields run_backtest reads (a strategy that reads another must add it):
# prices to trade and mark at, adjusted closes for signals and delistings, and the corporate
# actions, whose dates shape LEAN's equity chart in either normalization.
ADJUSTED_FIELDS = ("open", "close", "dividends", "split_factor")
RAW_FIELDS = ("raw_open", "raw_close")


@dataclass
class BacktestResult:
    """Outcome of one backtest. ``equity``: daily equity at each session close (index: session
    date); ``statistics``: LEAN-format strings; ``metrics``: floats (fractions);
    ``orders``: one row per fill; ``holdings``: shares after each session's close (both
    built from ``simulation`` when first asked for)."""

    equity: pd.Series
    statistics: dict[str, str]
    metrics: dict[str, float | bool]
    simulation: SimulationOutput
    start_date: pd.Timestamp
    parameters: dict[str, Any] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def orders(self) -> pd.DataFrame:
        return self.simulation.orders

    @cached_property
    def holdings(self) -> pd.DataFrame:
        return pd.DataFrame(
            self.simulation.holdings,
            index=self.equity.index,
            columns=list(self.simulation.symbols),
            copy=False,  # a fresh array, used nowhere else
        )

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


# Per market panel (weakly, so a dropped panel frees its entries), per kind: values derived
# from the panel that every trial of a sweep shares (the same window, the same benchmark).
_panel_memos: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_panel_memo_lock = threading.Lock()
T = TypeVar("T")


def panel_memo(data: MarketData, kind: str, key: tuple, compute: Callable[[], T], size: int) -> T:
    """``compute()`` memoised per panel under (kind, key), at most ``size`` keys per kind
    (the oldest goes first). Only for pure functions of the panel, which is never mutated."""
    with _panel_memo_lock:
        entries = _panel_memos.setdefault(data, {}).setdefault(kind, {})
        if key in entries:
            return entries[key]
    value = compute()
    with _panel_memo_lock:
        if len(entries) >= size:
            entries.pop(next(iter(entries)))
        entries[key] = value
    return value


def delisting_rows(data: MarketData, columns: np.ndarray, first: int, last: int) -> np.ndarray:
    """Per traded column, the window row of its last bar when its data ends inside the window
    (LEAN delists it there), else the window length."""
    length = last - first + 1
    rows = np.full(len(columns), length)
    # Only a column without a bar on the window's last session can have ended inside it.
    ended = np.nonzero(~np.isfinite(data.close[last, columns]))[0]
    if ended.size:
        present = np.isfinite(data.close[first:, columns[ended]])
        in_window = present[:length]
        later = present[length:].any(axis=0)
        last_bar = length - 1 - np.argmax(in_window[::-1], axis=0)
        stops = in_window.any(axis=0) & ~later
        rows[ended[stops]] = last_bar[stops]
    return rows


def lean_feed(
    data: MarketData,
    rows: slice,
    columns: np.ndarray,
    end_date: pd.Timestamp | None,
    holdings: np.ndarray,
    raw: bool,
) -> LeanFeed:
    """The parts of a LEAN run its equity chart depends on besides the daily bars (see
    :class:`LeanFeed`): LEAN emits a dividend or split of a subscribed security at midnight of
    its date and a split warning at midnight of the session before; in raw mode the dividend
    is paid then, on the shares held after the previous close."""
    sessions = data.sessions[rows]
    events = np.zeros(len(sessions), dtype=bool)
    dividends = None
    if data.dividends is not None:
        dividends = np.nan_to_num(data.dividends[rows][:, columns])
        events |= np.any(dividends != 0, axis=1)
    if data.split_factor is not None:
        ratio = data.split_factor[rows][:, columns]
        split = np.any(np.isfinite(ratio) & (ratio != 1), axis=1)
        events |= split
        events[:-1] |= split[1:]
    dividend_cash = None
    if raw and dividends is not None and dividends.any():
        held_before = np.vstack((np.zeros((1, holdings.shape[1])), holdings[:-1]))
        dividend_cash = np.sum(held_before * dividends, axis=1)
    end = sessions[-1] if end_date is None else pd.Timestamp(end_date)
    return LeanFeed(
        end_date=np.datetime64(end.date(), "D"),
        event_days=sessions.values[events].astype("datetime64[D]"),
        dividend_cash=dividend_cash,
    )


def panel_fields(params: dict) -> tuple[str, ...]:
    """The MarketData array fields :func:`run_backtest` reads for ``params``: a backtest
    worker loads only these (``high``, ``low``, ``volume`` and, in adjusted mode, the raw
    prices are ~9 MB each on the 500-stock demo market, read by no backtest). Any other
    normalization, an invalid one included, gets the raw prices too (run_backtest then
    reports what is invalid)."""
    mode = COMMON_DEFAULTS["data_normalization"]
    if isinstance(params, dict):
        mode = params.get("data_normalization", mode)
    return ADJUSTED_FIELDS if str(mode).lower() == "adjusted" else ADJUSTED_FIELDS + RAW_FIELDS


def run_backtest(
    params: dict, data: MarketData, *, file_roots: list[Path] | None = None
) -> BacktestResult:
    """Run one backtest of ``params`` (algorithm_parameters) on ``data``. With ``file_roots``
    (the HTTP API) file parameters must lie inside those directories; with None (Python API,
    CLI) local paths are trusted. Bad input raises :class:`BacktestInputError`."""
    params = normalize_params(params, file_roots)
    window_dates = (params["backtest_start"], params["backtest_end"])
    first, last = panel_memo(
        data, "rows", window_dates, lambda: window_rows(data, *window_dates), 8
    )
    start_date = (
        params["backtest_start"] if params["backtest_start"] is not None else data.sessions[first]
    )
    schedule = STRATEGIES[params["strategy"]](data, first, last, params)
    columns = schedule.columns
    symbols = [data.symbols[c] for c in columns.tolist()]
    leverage = parse_leverage(params.get("leverage"), symbols)
    rows = slice(first, last + 1)
    settings = ExecutionSettings(
        fill_model=params["fill_model"],
        fractional_shares=params["fractional_shares"],
        fee_model=params["fee_model"],
        fee_bps=params["fee_bps"],
        free_portfolio_value_percentage=params["free_portfolio_value_percentage"],
        data_normalization=params["data_normalization"],
        minimum_order_margin_percentage=params["minimum_order_margin_percentage"],
    )
    raw = settings.data_normalization == "raw"
    if raw and (data.raw_open is None or data.raw_close is None):
        raise BacktestInputError("data_normalization raw needs raw prices, which this data lacks")
    # A sweep's trials share the window's index (read-only, as every pandas Index).
    sessions = panel_memo(data, "sessions", (first, last), lambda: data.sessions[rows], 8)
    output = simulate(
        sessions=sessions,
        symbols=symbols,
        open_price=data.raw_open if raw else data.open,
        close_price=data.raw_close if raw else data.close,
        mark_price=data.marks(raw),
        columns=columns,
        first_row=first,
        decision_rows=schedule.decision_rows - first,
        target_weights=schedule.weights,
        decision_modes=schedule.modes,
        leverage=leverage,
        last_rows=delisting_rows(data, columns, first, last),
        initial_cash=params["initial_cash"],
        settings=settings,
        dividends=data.dividends if raw else None,
        split_ratio=data.split_factor if raw else None,
    )
    benchmark = panel_memo(
        data,
        "benchmark",
        (params["benchmark"],),
        lambda: benchmark_bars(data, params["benchmark"]),
        4,
    )
    interest_rates = data.interest_rates or project_interest_rates()
    window = panel_memo(
        data,
        "statistics_window",
        (start_date, first, last, params["benchmark"]),
        lambda: statistics_window(
            pd.Timestamp(start_date), sessions, benchmark, interest_rates, not data.synthetic
        ),
        8,
    )
    statistics, metrics = build_statistics(
        start_date=pd.Timestamp(start_date),
        sessions=sessions,
        equity=output.equity,
        start_equity=params["initial_cash"],
        benchmark=benchmark,
        risk_free_rate=params["risk_free_rate"],
        interest_rates=interest_rates,
        closing_pnl=output.realized_pnl,
        traded_value=output.traded_value,
        total_orders=output.order_count,
        total_fees=output.total_fees,
        synthetic=data.synthetic,
        lean_feed=None
        if data.synthetic
        else lean_feed(data, rows, columns, params["backtest_end"], output.holdings, raw),
        window=window,
    )
    return BacktestResult(
        equity=pd.Series(output.equity, index=sessions, name="equity"),
        statistics=statistics,
        metrics=metrics,
        simulation=output,
        start_date=pd.Timestamp(start_date),
        parameters=params,
        provenance=dict(data.provenance),
    )
