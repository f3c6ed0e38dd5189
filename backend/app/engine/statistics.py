"""Performance statistics as pure functions over numpy arrays, following LEAN's definitions
(QuantConnect/Lean ``Common/Statistics``: ``PortfolioStatistics.cs``, ``Statistics.cs``,
``StatisticsBuilder.cs``). Units are fractions, never percents; LEAN's string formats live in
:func:`format_percent` and friends.

Conventions: 365 calendar days a year for CAGR; 252 sessions a year for annualising daily
returns; variances and standard deviations are sample (n - 1) ones like MathNet's.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from functools import cache

import numpy as np

TRADING_DAYS_PER_YEAR = 252
DAYS_PER_YEAR = 365.0


SESSION_CLOSE = np.timedelta64(16 * 3600, "s")  # a US equity session's close, New York time


def years_between(first_timestamp: np.datetime64, last_timestamp: np.datetime64) -> float:
    """Fractional years = (last - first) in days / 365 (fractional days count)."""
    seconds = (np.datetime64(last_timestamp, "s") - np.datetime64(first_timestamp, "s")).astype(
        np.int64
    )
    return float(seconds) / 86400.0 / DAYS_PER_YEAR


def lean_equity_years(start_date: np.datetime64, last_session: np.datetime64) -> float:
    """Years spanned by a LEAN daily equity curve: the first sample is the start date at 00:00
    and the last one the last session's close (16:00), so
    years = (last_session + 16h - start_date) / 365 days."""
    last_close = np.datetime64(last_session, "D").astype("datetime64[s]") + SESSION_CLOSE
    return years_between(np.datetime64(start_date, "D"), last_close)


def compounding_annual_return(start_value: float, end_value: float, years: float) -> float:
    """CAGR = (end / start) ** (1 / years) - 1; 0 when years is 0 (LEAN's
    ``CompoundingAnnualPerformance``)."""
    if years == 0 or start_value <= 0:
        return 0.0
    if end_value <= 0:
        return -1.0
    return (end_value / start_value) ** (1.0 / years) - 1.0


def cagr(equity: np.ndarray, years: float) -> float:
    """CAGR of an equity curve: :func:`compounding_annual_return` of its first and last values."""
    equity = np.asarray(equity, dtype=float)
    return compounding_annual_return(float(equity[0]), float(equity[-1]), years)


def drawdown_series(equity: np.ndarray) -> np.ndarray:
    """Fall from the running peak at each point: 1 - equity / max(equity[:t+1]) (>= 0)."""
    equity = np.asarray(equity, dtype=float)
    peaks = np.maximum.accumulate(equity)
    return 1.0 - equity / peaks


def max_drawdown(equity: np.ndarray) -> float:
    """Largest peak-to-trough fall as a positive fraction: max_t (1 - equity_t / max_{s<=t}
    equity_s). LEAN's ``Drawdown`` statistic is this number rounded to 3 decimals (0.1 %)."""
    equity = np.asarray(equity, dtype=float)
    if equity.size == 0:
        return 0.0
    return float(np.max(drawdown_series(equity)))


def sample_variance(values: np.ndarray) -> float:
    """Sample variance sum((x - mean)^2) / (n - 1); 0 for fewer than two values."""
    values = np.asarray(values, dtype=float)
    return float(np.var(values, ddof=1)) if values.size >= 2 else 0.0


def annual_performance(returns: np.ndarray, periods: int = TRADING_DAYS_PER_YEAR) -> float:
    """Annualised return from daily returns, LEAN's ``AnnualPerformance``:
    (1 + mean(r)) ** 252 - 1."""
    returns = np.asarray(returns, dtype=float)
    if returns.size == 0:
        return 0.0
    return (1.0 + float(np.mean(returns))) ** periods - 1.0


def annual_variance(returns: np.ndarray, periods: int = TRADING_DAYS_PER_YEAR) -> float:
    """Annual variance = sample variance of daily returns * 252."""
    return sample_variance(returns) * periods


def annual_volatility(returns: np.ndarray, periods: int = TRADING_DAYS_PER_YEAR) -> float:
    """Annual standard deviation = sqrt(sample variance of daily returns * 252)."""
    return math.sqrt(annual_variance(returns, periods))


def annual_downside_deviation(returns: np.ndarray, periods: int = TRADING_DAYS_PER_YEAR) -> float:
    """sqrt(252 * sample variance of the daily returns below 0) (LEAN's
    ``AnnualDownsideStandardDeviation`` with a minimum acceptable return of 0)."""
    returns = np.asarray(returns, dtype=float)
    return math.sqrt(sample_variance(returns[returns < 0]) * periods)


def sharpe_ratio(returns: np.ndarray, risk_free_rate: float = 0.0) -> float:
    """(annual_performance - risk_free) / annual_volatility; 0 when volatility is 0."""
    volatility = annual_volatility(returns)
    if volatility == 0:
        return 0.0
    return (annual_performance(returns) - risk_free_rate) / volatility


def sortino_ratio(returns: np.ndarray, risk_free_rate: float = 0.0) -> float:
    """(annual_performance - risk_free) / annual_downside_deviation; 0 when that is 0."""
    downside = annual_downside_deviation(returns)
    if downside == 0:
        return 0.0
    return (annual_performance(returns) - risk_free_rate) / downside


def beta(returns: np.ndarray, benchmark_returns: np.ndarray) -> float:
    """cov(r, b) / var(b) with sample moments; 0 if var(b) is 0 or undefined."""
    benchmark_variance = sample_variance(benchmark_returns)
    if benchmark_variance == 0 or not np.isfinite(benchmark_variance):
        return 0.0
    covariance = float(np.cov(returns, benchmark_returns, ddof=1)[0, 1])
    return covariance / benchmark_variance


def alpha(returns: np.ndarray, benchmark_returns: np.ndarray, risk_free_rate: float = 0.0) -> float:
    """annual_perf(r) - (rf + beta * (annual_perf(b) - rf)); 0 when beta is 0."""
    b = beta(returns, benchmark_returns)
    if b == 0:
        return 0.0
    return annual_performance(returns) - (
        risk_free_rate + b * (annual_performance(benchmark_returns) - risk_free_rate)
    )


def tracking_error(returns: np.ndarray, benchmark_returns: np.ndarray) -> float:
    """Annualised standard deviation of the active return r - b: sqrt(252 * var(r - b))."""
    active = np.asarray(returns, dtype=float) - np.asarray(benchmark_returns, dtype=float)
    return math.sqrt(max(sample_variance(active), 0.0) * TRADING_DAYS_PER_YEAR)


def information_ratio(returns: np.ndarray, benchmark_returns: np.ndarray) -> float:
    """(annual_perf(r) - annual_perf(b)) / tracking_error; 0 when the tracking error is 0."""
    error = tracking_error(returns, benchmark_returns)
    if error == 0:
        return 0.0
    return (annual_performance(returns) - annual_performance(benchmark_returns)) / error


def treynor_ratio(
    returns: np.ndarray, benchmark_returns: np.ndarray, risk_free_rate: float = 0.0
) -> float:
    """(annual_perf(r) - rf) / beta; 0 when beta is 0."""
    b = beta(returns, benchmark_returns)
    if b == 0:
        return 0.0
    return (annual_performance(returns) - risk_free_rate) / b


def sample_skewness(values: np.ndarray) -> float:
    """Adjusted sample skewness n / ((n-1)(n-2)) * sum(((x - mean) / s)^3) (MathNet's)."""
    values = np.asarray(values, dtype=float)
    n = values.size
    s = math.sqrt(sample_variance(values)) if n >= 2 else 0.0
    if n < 3 or s == 0:
        return float("nan")
    return skewness_of_standardized((values - values.mean()) / s)


def skewness_of_standardized(z: np.ndarray) -> float:
    """:func:`sample_skewness` from z = (x - mean) / s (n >= 3, s > 0)."""
    n = z.size
    return n / ((n - 1) * (n - 2)) * float(np.sum(z**3))


def sample_excess_kurtosis(values: np.ndarray) -> float:
    """Adjusted sample excess kurtosis (MathNet's): n(n+1) / ((n-1)(n-2)(n-3)) * sum(z^4)
    - 3 (n-1)^2 / ((n-2)(n-3)), z = (x - mean) / s."""
    values = np.asarray(values, dtype=float)
    n = values.size
    s = math.sqrt(sample_variance(values)) if n >= 2 else 0.0
    if n < 4 or s == 0:
        return float("nan")
    return excess_kurtosis_of_standardized((values - values.mean()) / s)


def excess_kurtosis_of_standardized(z: np.ndarray) -> float:
    """:func:`sample_excess_kurtosis` from z = (x - mean) / s (n >= 4, s > 0)."""
    n = z.size
    return n * (n + 1) / ((n - 1) * (n - 2) * (n - 3)) * float(np.sum(z**4)) - 3 * (n - 1) ** 2 / (
        (n - 2) * (n - 3)
    )


DAILY_BENCHMARK_SHARPE = 1.0 / math.sqrt(TRADING_DAYS_PER_YEAR)


def probabilistic_sharpe_ratio(
    returns: np.ndarray,
    risk_free_rate: float = 0.0,
    benchmark_sharpe: float = DAILY_BENCHMARK_SHARPE,
) -> float:
    """PSR = Phi((SR - SR*) / sqrt((1 - skew * SR + (kurt - 1) / 4 * SR^2) / (n - 1))) with SR
    the daily excess-return Sharpe (mean(r) - rf / 252) / std(r) (LEAN #9583), SR* a
    de-annualised Sharpe of 1, skew and kurt MathNet's bias-corrected sample skewness and
    excess kurtosis of r (LEAN feeds the excess kurtosis into the "kurt - 1" term)."""
    returns = np.asarray(returns, dtype=float)
    n = returns.size
    std = math.sqrt(sample_variance(returns)) if n >= 2 else 0.0
    if std == 0:
        return 0.0
    observed = (float(returns.mean()) - risk_free_rate / TRADING_DAYS_PER_YEAR) / std
    return psr_of_moments(
        observed, sample_skewness(returns), sample_excess_kurtosis(returns), n, benchmark_sharpe
    )


def psr_of_moments(
    observed_sharpe: float,
    skewness: float,
    excess_kurtosis: float,
    n: int,
    benchmark_sharpe: float = DAILY_BENCHMARK_SHARPE,
) -> float:
    """:func:`probabilistic_sharpe_ratio` from SR, skew, kurt and n (0 when the estimate's
    variance is not a positive number)."""
    variance_of_estimate = (
        1 - skewness * observed_sharpe + (excess_kurtosis - 1) / 4 * observed_sharpe**2
    ) / (n - 1)
    if not np.isfinite(variance_of_estimate) or variance_of_estimate <= 0:
        return 0.0
    z = (observed_sharpe - benchmark_sharpe) / math.sqrt(variance_of_estimate)
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


TRADE_STATISTICS = (
    "average_win",
    "average_loss",
    "profit_loss_ratio",
    "win_rate",
    "loss_rate",
    "expectancy",
)


def trade_statistics(realized_pnl: np.ndarray, start_equity: float) -> dict[str, float]:
    """LEAN's per-trade statistics from realised profit/loss of closing fills, in order.
    Each P&L is taken relative to the running capital (start + earlier P&L):
    average_win = mean of positive pnl/capital, average_loss = mean of the others,
    profit_loss_ratio = average_win / |average_loss|, win_rate = wins / trades,
    expectancy = win_rate * profit_loss_ratio - loss_rate."""
    pnl = np.asarray(realized_pnl, dtype=float)
    if pnl.size == 0 or start_equity == 0:
        return dict.fromkeys(TRADE_STATISTICS, 0.0)
    capital_before = start_equity + np.concatenate(([0.0], np.cumsum(pnl)[:-1]))
    relative = pnl / capital_before
    wins = pnl > 0
    n_wins = int(np.count_nonzero(wins))
    return trade_statistics_of_sums(
        float(relative[wins].sum()), n_wins, float(relative[~wins].sum()), pnl.size - n_wins
    )


def trade_statistics_of_sums(
    win_sum: float, n_wins: int, other_sum: float, n_others: int
) -> dict[str, float]:
    """:func:`trade_statistics` from the sums and counts of the winning trades' relative P&L
    and of the others' (each mean is its sum / its count, as numpy's mean)."""
    average_win = win_sum / n_wins if n_wins else 0.0
    average_loss = other_sum / n_others if n_others else 0.0
    profit_loss_ratio = average_win / abs(average_loss) if average_loss != 0 else 0.0
    win_rate = n_wins / (n_wins + n_others)
    loss_rate = 1.0 - win_rate
    return {
        "average_win": average_win,
        "average_loss": average_loss,
        "profit_loss_ratio": profit_loss_ratio,
        "win_rate": win_rate,
        "loss_rate": loss_rate,
        "expectancy": win_rate * profit_loss_ratio - loss_rate,
    }


TWELVE_PLACES = Decimal("1e-12")
CENTS = Decimal("0.01")


@cache
def _places(decimals: int) -> Decimal:
    """1, 0.1, 0.01, ... (Decimal(1) scaled by 10^-decimals)."""
    return Decimal(1).scaleb(-decimals)


def _decimal(value: float) -> Decimal:
    # Through repr: the decimal digits Python shows, not the binary expansion; then to 12
    # places, so a float sum like 3.4849999999999994 is LEAN's decimal 3.485.
    return Decimal(repr(float(value))).quantize(TWELVE_PLACES, ROUND_HALF_EVEN)


def _round_half_even(value: float, decimals: int) -> Decimal:
    """.NET's Math.Round: half to even."""
    return _decimal(value).quantize(_places(decimals), ROUND_HALF_EVEN)


def _plain(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


def format_percent(fraction: float, decimals: int = 3) -> str:
    """LEAN percent string: fraction * 100 rounded half to even to ``decimals`` places, the
    decimal scale kept ("96.710%", "20.10%"); exactly 0 is "0%"."""
    if not math.isfinite(fraction) or fraction == 0:
        return "0%"
    return f"{_round_half_even(fraction * 100.0, decimals):.{decimals}f}%"


def format_drawdown(fraction: float) -> str:
    """LEAN's Drawdown string: the fraction rounded to 3 decimals, times 100, three decimals
    ("1.200%"); no drawdown is "0%"."""
    rounded = _round_half_even(fraction, 3)
    if rounded == 0:
        return "0%"
    return f"{rounded * 100:.3f}%"


def format_ratio(value: float, decimals: int = 3) -> str:
    """Ratio rounded half to even to 3 decimals, trailing zeros dropped ("19.094", "0")."""
    if not math.isfinite(value):
        return "0"
    return _plain(_round_half_even(value, decimals))


def format_money(value: float) -> str:
    """Dollar amount, "0.00" formatting: half away from zero ($3.485 -> "$3.49"; a negative
    amount is "-$2.56")."""
    cents = _decimal(value).quantize(CENTS, ROUND_HALF_UP)
    return f"-${-cents:.2f}" if cents < 0 else f"${cents:.2f}"


def format_equity(value: float) -> str:
    """Equity rounded to cents (half away from zero), trailing zeros dropped as LEAN prints
    End Equity ("104486.22", "93054.5", "100000")."""
    return _plain(_decimal(value).quantize(CENTS, ROUND_HALF_UP))
