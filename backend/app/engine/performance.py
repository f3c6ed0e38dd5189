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


def sample_variance(values: np.ndarray) -> float:
    """:func:`app.engine.statistics.sample_variance` in compiled code (the same float)."""
    values = np.ascontiguousarray(values, dtype=float)
    return float(ls.compiled_loops().sample_variance(values)) if values.size >= 2 else 0.0


def annual_performance(returns: np.ndarray) -> float:
    """:func:`app.engine.statistics.annual_performance` in compiled code (the same float)."""
    returns = np.ascontiguousarray(returns, dtype=float)
    if returns.size == 0:
        return 0.0
    return (1.0 + float(ls.compiled_loops().mean(returns))) ** N - 1.0


def max_drawdown(equity: np.ndarray) -> float:
    """:func:`app.engine.statistics.max_drawdown` in compiled code (the same float)."""
    equity = np.ascontiguousarray(equity, dtype=float)
    return float(ls.compiled_loops().max_drawdown(equity)) if equity.size else 0.0


def trade_statistics(realized_pnl: np.ndarray, start_equity: float) -> dict[str, float]:
    """:func:`app.engine.statistics.trade_statistics` in compiled code (the same floats)."""
    pnl = np.ascontiguousarray(realized_pnl, dtype=float)
    if pnl.size == 0 or start_equity == 0:
        return dict.fromkeys(st.TRADE_STATISTICS, 0.0)
    return st.trade_statistics_of_sums(
        *ls.compiled_loops().relative_pnl_sums(pnl, float(start_equity))
    )


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


@dataclass(frozen=True)
class BenchmarkReturns:
    """LEAN's benchmark list (:func:`~app.engine.lean_series.benchmark_returns` of its samples,
    the first dropped) and what the statistics take from it alone: its sample variance and
    annual performance."""

    returns: np.ndarray
    variance: float
    annual_performance: float

    @classmethod
    def of(cls, returns: np.ndarray) -> BenchmarkReturns:
        return cls(returns, sample_variance(returns), annual_performance(returns))


@dataclass(frozen=True)
class StatisticsWindow:
    """What a run's statistics take from its window and not from its equity, the same for
    every trial of a sweep over it (memoised per market panel by ``run_backtest``): LEAN's
    daily sample times and the session each reflects (``lean_series.sample_times``), the
    session closes (with LEAN's early closes; None for the daily chart),
    the benchmark's returns (None without a benchmark), the years from the first sample to
    the last (the CAGR's span; the chart's extra points lie between them) and the mean
    interest rate over the daily samples' dates (LEAN's risk-free rate when the chart is the
    daily samples)."""

    times: np.ndarray
    bar_of_sample: np.ndarray
    session_closes: np.ndarray | None
    benchmark: BenchmarkReturns | None
    years: float
    daily_risk_free_rate: float

    def __post_init__(self) -> None:
        # Shared by the runs over the window: read-only.
        benchmark = None if self.benchmark is None else self.benchmark.returns
        for array in (self.times, self.bar_of_sample, self.session_closes, benchmark):
            if array is not None:
                array.flags.writeable = False


def statistics_window(
    start_date: pd.Timestamp,
    sessions: pd.DatetimeIndex,
    benchmark: tuple[np.ndarray, np.ndarray] | None,
    interest_rates: tuple[np.ndarray, np.ndarray],
    early_closes: bool,
) -> StatisticsWindow:
    """:class:`StatisticsWindow` of a run from ``start_date`` over ``sessions``; ``benchmark``
    as :func:`benchmark_bars` gives it; ``early_closes``: the last sample at the last
    session's actual close (the LEAN chart of a :class:`LeanFeed` run), else at 16:00."""
    closes = session_close_times(sessions.values) if early_closes else None
    times, bars = ls.sample_times(
        np.datetime64(start_date, "D"), sessions.values, None if closes is None else closes[-1]
    )
    benchmark_returns = (
        None
        if benchmark is None
        else BenchmarkReturns.of(
            ls.benchmark_returns(ls.benchmark_samples(times, benchmark[0], benchmark[1]))[1:]
        )
    )
    return StatisticsWindow(
        times,
        bars,
        closes,
        benchmark_returns,
        st.years_between(times[0], times[-1]),
        ls.mean_risk_free_rate(times, interest_rates),
    )


PORTFOLIO_STATISTICS = (
    "annual_variance",
    "annual_standard_deviation",
    "sharpe",
    "sortino",
    "probabilistic_sharpe",
    "beta",
    "alpha",
    "treynor",
    "tracking_error",
    "information_ratio",
)


def sample_covariance(x: np.ndarray, y: np.ndarray) -> float:
    """``np.cov(x, y, ddof=1)[0, 1]``, its floats exactly, without its generality: the rows
    less their means, their product by BLAS (the same call), times 1 / (n - 1)."""
    rows = np.array((x, y), dtype=float)
    rows -= (np.add.reduce(rows, axis=1) / x.size)[:, None]  # each row's mean, as np.mean
    return float(np.dot(rows, rows.T)[0, 1] * (1.0 / (x.size - 1)))


def portfolio_statistics(
    returns: np.ndarray, benchmark: BenchmarkReturns | None, risk_free_rate: float
) -> dict[str, float]:
    """The return-based statistics of LEAN's ``PortfolioStatistics``, each as its function in
    :mod:`app.engine.statistics` defines it (annual_variance, annual_standard_deviation,
    sharpe, sortino, probabilistic_sharpe; with a benchmark also beta, alpha, treynor,
    tracking_error, information_ratio, else 0), what they share computed once: mean(r),
    var(r), the standardised returns, annual_perf(r), beta, the benchmark's moments.
    ``returns``: two or more."""
    n = returns.size
    mean = float(ls.compiled_loops().mean(returns))
    variance = sample_variance(returns)
    std = math.sqrt(variance)
    annual_var = variance * N
    volatility = math.sqrt(annual_var)
    performance = annual_performance(returns)
    downside = st.annual_downside_deviation(returns)
    psr = 0.0
    if std != 0:
        z = (returns - mean) / std
        psr = st.psr_of_moments(
            (mean - risk_free_rate / N) / std,
            st.skewness_of_standardized(z) if n >= 3 else float("nan"),
            st.excess_kurtosis_of_standardized(z) if n >= 4 else float("nan"),
            n,
        )
    statistics = {
        "annual_variance": annual_var,
        "annual_standard_deviation": volatility,
        "sharpe": (performance - risk_free_rate) / volatility if volatility != 0 else 0.0,
        "sortino": (performance - risk_free_rate) / downside if downside != 0 else 0.0,
        "probabilistic_sharpe": psr,
    }
    b = 0.0
    alpha_ = treynor = tracking = information = 0.0
    if benchmark is not None:
        if benchmark.variance != 0 and math.isfinite(benchmark.variance):
            b = sample_covariance(returns, benchmark.returns) / benchmark.variance
        if b != 0:
            alpha_ = performance - (
                risk_free_rate + b * (benchmark.annual_performance - risk_free_rate)
            )
            treynor = (performance - risk_free_rate) / b
        tracking = st.tracking_error(returns, benchmark.returns)
        if tracking != 0:
            information = (performance - benchmark.annual_performance) / tracking
    statistics.update(
        beta=b,
        alpha=alpha_,
        treynor=treynor,
        tracking_error=tracking,
        information_ratio=information,
    )
    return statistics


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
    window: StatisticsWindow | None = None,
) -> tuple[dict[str, str], dict[str, float | bool]]:
    """LEAN statistics strings and float metrics. ``risk_free_rate`` None: LEAN's rate, the
    mean of ``interest_rates`` over the equity chart's dates; a number overrides it. With
    ``lean_feed`` the equity chart also holds LEAN's resampled points and sessions end at
    their early closes; without it (the synthetic demo markets) it is the daily samples.
    ``window``: the :func:`statistics_window` of these start date, sessions, benchmark,
    interest rates and ``lean_feed is not None``, when the caller has it (made here if None)."""
    if window is None:
        window = statistics_window(
            start_date, sessions, benchmark, interest_rates, lean_feed is not None
        )
    samples = ls.sampled_equity(window.times, window.bar_of_sample, equity, start_equity)
    chart_times, chart_values = samples.times, samples.values
    if lean_feed is not None:
        start_day = np.datetime64(start_date, "D")
        closes = window.session_closes
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
    performance = ls.performance_returns(samples.values)[1:]
    if risk_free_rate is not None:
        rf = float(risk_free_rate)
    elif lean_feed is None:
        rf = window.daily_risk_free_rate
    else:
        rf = ls.mean_risk_free_rate(chart_times, interest_rates)
    end_equity = float(equity[-1])
    cagr = st.compounding_annual_return(start_equity, end_equity, window.years)
    max_dd = max_drawdown(chart_values)
    recovery = ls.drawdown_recovery_days(chart_values, chart_times)
    turnover_points = ls.turnover_per_sample(samples, traded_value)
    turnover = float(ls.compiled_loops().mean(turnover_points)) if turnover_points.size else 0.0
    trades = trade_statistics(closing_pnl, start_equity)
    # With fewer than two performance values LEAN sets only the equity figures and turnover.
    ratios = dict.fromkeys(PORTFOLIO_STATISTICS, 0.0)
    if performance.size >= 2:
        ratios = portfolio_statistics(performance, window.benchmark, rf)
    variance, volatility = ratios["annual_variance"], ratios["annual_standard_deviation"]
    sharpe, sortino, psr = ratios["sharpe"], ratios["sortino"], ratios["probabilistic_sharpe"]
    beta, alpha, treynor = ratios["beta"], ratios["alpha"], ratios["treynor"]
    tracking, information = ratios["tracking_error"], ratios["information_ratio"]
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
