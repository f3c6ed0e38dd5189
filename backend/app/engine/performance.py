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
from app.engine.market_hours import session_close_times

N = st.TRADING_DAYS_PER_YEAR


@dataclass(frozen=True)
class LeanFeed:
    """What a LEAN run steps through besides its daily bars, for the points LEAN's result
    handler adds to the equity chart (:func:`app.engine.lean_series.chart_sample_times`): the
    run's end date, the session days with auxiliary data of a traded security (dividend, split,
    split warning) and the dividend cash a raw-mode portfolio receives at each session's
    midnight (None when dividends are not paid in cash)."""

    end_date: np.datetime64
    event_days: np.ndarray
    dividend_cash: np.ndarray | None


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
    return session_close_times(data.sessions.values[present]), close[present]


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
    lean_feed: LeanFeed | None = None,
) -> tuple[dict[str, str], dict[str, float | bool]]:
    """LEAN statistics strings and float metrics. ``risk_free_rate`` None: LEAN's rate, the
    mean of ``interest_rates`` over the equity chart's dates; a number overrides it. With
    ``lean_feed`` the equity chart also holds LEAN's resampled points and sessions end at
    their early closes; without it (the synthetic demo markets) it is the daily samples."""
    start_day = np.datetime64(start_date, "D")
    if lean_feed is None:
        samples = ls.equity_samples(start_day, sessions.values, equity, start_equity)
        chart_times, chart_values = samples.times, samples.values
    else:
        closes = session_close_times(sessions.values)
        samples = ls.equity_samples(
            start_day, sessions.values, equity, start_equity, last_close=closes[-1]
        )
        slices = ls.lean_slice_times(
            start_day,
            lean_feed.end_date,
            closes,
            None if benchmark is None else benchmark[0],
            lean_feed.event_days,
        )
        extra = ls.chart_sample_times(
            slices, ls.resample_period_seconds(start_day, lean_feed.end_date)
        )
        extra = extra[extra <= samples.times[-1]]
        extra_values = ls.equity_between_closes(
            extra, sessions.values, closes, equity, start_equity, lean_feed.dividend_cash
        )
        chart_times, chart_values = ls.merge_chart_points(samples, extra, extra_values)
    values, times = samples.values, samples.times
    benchmark_values = (
        None if benchmark is None else ls.benchmark_samples(times, benchmark[0], benchmark[1])
    )
    performance, benchmark_list = ls.statistics_lists(values, benchmark_values)
    rf = (
        ls.mean_risk_free_rate(chart_times, interest_rates)
        if risk_free_rate is None
        else float(risk_free_rate)
    )
    end_equity = float(equity[-1])
    cagr = st.compounding_annual_return(
        start_equity, end_equity, st.years_between(chart_times[0], chart_times[-1])
    )
    max_dd = st.max_drawdown(chart_values)
    recovery = ls.drawdown_recovery_days(chart_values, chart_times)
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
