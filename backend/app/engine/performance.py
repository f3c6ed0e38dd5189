"""LEAN's printed statistics of one run (``StatisticsBuilder.cs``, ``PortfolioStatistics.cs``)
from the simulator's output, on LEAN's sample series (:mod:`app.engine.lean_series`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from app.engine import lean_series as ls
from app.engine import statistics as st
from app.engine.lean_result import metrics_from_lean_statistics
from app.engine.market import MarketData

N = st.TRADING_DAYS_PER_YEAR


def benchmark_bars(data: MarketData, symbol: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(bar end times, adjusted closes) of the benchmark: its hourly bars when the data has
    them (LEAN's internal benchmark feed), else its daily closes at 16:00; None when the data
    lacks the symbol (the benchmark statistics are then 0)."""
    if not symbol:
        return None
    if symbol in data.hourly_close:
        return data.hourly_close[symbol]
    if not data.has_symbol(symbol):
        return None
    close = data.close[:, data.column(symbol)]
    present = np.isfinite(close)
    ends = data.sessions.values[present].astype("datetime64[s]") + ls.SESSION_CLOSE
    return ends, close[present]


@dataclass(frozen=True)
class StatisticsWindow:
    """What a run's statistics take from its window, not from its equity (the same for every
    trial of a sweep over one window): LEAN's sample times and the session each reflects
    (:func:`~app.engine.lean_series.sample_times`), the benchmark's list (None without a
    benchmark) and LEAN's risk-free rate (the mean of the interest rates over the samples'
    dates)."""

    times: np.ndarray
    bar_of_sample: np.ndarray
    benchmark_list: np.ndarray | None
    lean_risk_free_rate: float

    def __post_init__(self) -> None:
        # Shared by the runs over the window (app.engine.backtest.panel_memo): read-only.
        for array in (self.times, self.bar_of_sample, self.benchmark_list):
            if array is not None:
                array.flags.writeable = False


def statistics_window(
    start_date: pd.Timestamp,
    sessions: pd.DatetimeIndex,
    benchmark: tuple[np.ndarray, np.ndarray] | None,
    interest_rates: tuple[np.ndarray, np.ndarray],
) -> StatisticsWindow:
    """:class:`StatisticsWindow` of a run from ``start_date`` over ``sessions``;
    ``benchmark`` as :func:`benchmark_bars` gives it."""
    times, bars = ls.sample_times(np.datetime64(start_date, "D"), sessions.values)
    benchmark_list = (
        None
        if benchmark is None
        else ls.benchmark_returns(ls.benchmark_samples(times, benchmark[0], benchmark[1]))[1:]
    )
    return StatisticsWindow(
        times, bars, benchmark_list, ls.mean_risk_free_rate(times, interest_rates)
    )


def build_statistics(
    *,
    start_date: pd.Timestamp,
    sessions: pd.DatetimeIndex,
    equity: np.ndarray,
    start_equity: float,
    benchmark: tuple[np.ndarray, np.ndarray] | None,
    risk_free_rate: float | None,
    interest_rates: tuple[np.ndarray, np.ndarray],
    closing_pnl: np.ndarray,
    traded_value: np.ndarray,
    total_orders: int,
    total_fees: float,
    synthetic: bool,
    window: StatisticsWindow | None = None,
) -> tuple[dict[str, str], dict[str, float | bool]]:
    """LEAN statistics strings and float metrics. ``risk_free_rate`` None: LEAN's rate, the
    mean of ``interest_rates`` over the sample dates; a number overrides it. ``window``: the
    :func:`statistics_window` of these start date, sessions, benchmark and interest rates,
    when the caller has it already (made from them when None)."""
    if window is None:
        window = statistics_window(start_date, sessions, benchmark, interest_rates)
    samples = ls.sampled_equity(window.times, window.bar_of_sample, equity, start_equity)
    values, times = samples.values, samples.times
    performance = ls.performance_returns(values)[1:]
    benchmark_list = window.benchmark_list
    rf = window.lean_risk_free_rate if risk_free_rate is None else float(risk_free_rate)
    end_equity = float(equity[-1])
    cagr = st.compounding_annual_return(
        start_equity, end_equity, st.years_between(times[0], times[-1])
    )
    max_dd = st.max_drawdown(values)
    recovery = ls.drawdown_recovery_days(values, times)
    turnover_points = ls.turnover_per_sample(samples, traded_value)
    turnover = float(turnover_points.mean()) if turnover_points.size else 0.0
    trades = st.trade_statistics(closing_pnl, start_equity)
    # With fewer than two performance values LEAN sets only the equity figures and turnover.
    variance = volatility = sharpe = sortino = psr = 0.0
    beta = alpha = tracking = information = treynor = 0.0
    if performance.size >= 2:
        variance = st.annual_variance(performance)
        volatility = math.sqrt(variance)
        sharpe = st.sharpe_ratio(performance, rf)
        sortino = st.sortino_ratio(performance, rf)
        psr = st.probabilistic_sharpe_ratio(performance, rf)
        if benchmark_list is not None:
            beta = st.beta(performance, benchmark_list)
            alpha = st.alpha(performance, benchmark_list, rf)
            treynor = st.treynor_ratio(performance, benchmark_list, rf)
            tracking = st.tracking_error(performance, benchmark_list)
            information = st.information_ratio(performance, benchmark_list)
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
        # Capacity needs LEAN's intraday volume and spread model, which daily bars lack.
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
        "probabilistic_sharpe": psr,
        "alpha": alpha,
        "beta": beta,
        "annual_volatility": volatility,
        "information_ratio": information,
        "tracking_error": tracking,
        "treynor": treynor,
        "risk_free_rate": rf,
        "total_return": total_return,
        "net_profit": end_equity - start_equity,
        "total_orders": float(total_orders),
        "total_fees": float(total_fees),
        "turnover": turnover,
        "win_rate": trades["win_rate"],
        "drawdown_recovery_days": float(recovery),
        "start_equity": float(start_equity),
        "end_equity": end_equity,
        "synthetic": bool(synthetic),
    }
    # Ranking rule (app.engine.lean_result): the metrics LEAN prints are the printed values.
    metrics.update(metrics_from_lean_statistics(statistics))
    return statistics, metrics
