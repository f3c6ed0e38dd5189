"""Compiled loops of the statistics (:mod:`app.engine.lean_series`,
:mod:`app.engine.statistics`): one pass each over a run's daily samples (~2,200) or closing
fills (~80,000 in the 500-stock replay) where numpy makes several (a backtest computes them
once, after its simulation has evicted numpy's and pandas' code from the caches).

The floats are numpy's exactly: the same operations in the same order on each element, and
numpy's rounding ``np.round(x, d)`` as it computes it, rint(x * 10^d) / 10^d.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from app.engine.numba_cache import drop_stale_cache
from app.engine.pairwise import pairwise_sum

drop_stale_cache()

FOUR_DECIMALS = 1e4  # 10^4, exact
TEN_DECIMALS = 1e10  # 10^10, exact


@njit(cache=True)
def sample_values(bar_of_sample: np.ndarray, close_equity: np.ndarray, start_equity: float):
    """Each sample's value: the close equity of its bar (the start equity for bar -1),
    rounded to 4 decimals."""
    values = np.empty(bar_of_sample.size)
    for i in range(bar_of_sample.size):
        bar = bar_of_sample[i]
        value = close_equity[bar] if bar >= 0 else start_equity
        values[i] = np.rint(value * FOUR_DECIMALS) / FOUR_DECIMALS
    return values


@njit(cache=True, error_model="numpy")
def performance_fractions(values: np.ndarray) -> np.ndarray:
    """round((E[k] - E[k-1]) * 100 / E[k-1], 10) / 100 for k >= 1, 0 where E[k-1] is 0."""
    n = max(values.size - 1, 0)
    fractions = np.empty(n)
    for k in range(n):
        previous = values[k]
        percent = (values[k + 1] - previous) * 100.0 / previous if previous != 0 else 0.0
        fractions[k] = np.rint(percent * TEN_DECIMALS) / TEN_DECIMALS / 100.0
    return fractions


@njit(cache=True, error_model="numpy")
def turnover_fractions(
    bar_of_sample: np.ndarray, values: np.ndarray, traded_value: np.ndarray
) -> np.ndarray:
    """For each sample after the first, the value traded in the sessions it is the first
    sample after (the first sample whose bar is >= the session; the last one at most), over
    the sample's value (0 where that is 0). A sample's traded values add in session order."""
    n_samples = bar_of_sample.size
    traded_at_sample = np.zeros(n_samples)
    sample = 0
    for row in range(traded_value.size):
        if traded_value[row] != 0:
            while sample < n_samples and bar_of_sample[sample] < row:
                sample += 1
            traded_at_sample[min(sample, n_samples - 1)] += traded_value[row]
    fractions = np.empty(max(n_samples - 1, 0))
    for k in range(1, n_samples):
        fractions[k - 1] = traded_at_sample[k] / values[k] if values[k] != 0 else 0.0
    return fractions


@njit(cache=True)
def longest_recovery_days(values: np.ndarray, seconds: np.ndarray) -> int:
    """The longest ceil((t[recovery] - t[first below]) / 86400 s) over the drawdowns that
    recovered: a sample below every earlier one's maximum (NaN is, and moves nothing)
    starts or continues one, the next sample at or above it recovers it."""
    longest = 0
    peak = -np.inf
    first_below = -1
    for i in range(values.size):
        if values[i] >= peak:
            if first_below >= 0:
                days = math.ceil(float(seconds[i] - seconds[first_below]) / 86400.0)
                longest = max(longest, days)
            peak = values[i]
            first_below = -1
        elif first_below < 0:
            first_below = i
    return longest


@njit(cache=True, error_model="numpy")
def relative_pnl_sums(pnl: np.ndarray, start_equity: float) -> tuple[float, int, float, int]:
    """(sum, count) of the winning and of the other closing P&Ls relative to the capital
    before each: relative_k = pnl_k / (start + pnl_0 + ... + pnl_{k-1}), win: pnl_k > 0.

    numpy's floats exactly: the running capital as ``np.cumsum`` adds (left to right), each
    group's relatives summed in numpy's pairwise order, as ``relative[wins].sum()`` is."""
    n = pnl.size
    n_wins = 0
    for k in range(n):
        n_wins += pnl[k] > 0
    # One buffer, the wins' relatives first, then the others' (each in fill order), filled
    # without a branch on the sign: wins and losses alternate at random, which a branch
    # predictor cannot follow.
    relative = np.empty(n)
    next_win = 0
    next_other = n_wins
    earlier = 0.0  # P&L of the fills before this one (np.cumsum's running total)
    for k in range(n):
        win = pnl[k] > 0
        position = next_win if win else next_other
        relative[position] = pnl[k] / (start_equity + earlier)
        next_win += win
        next_other += 1 - win
        earlier = pnl[k] if k == 0 else earlier + pnl[k]
    n_others = n - n_wins
    return (
        pairwise_sum(relative, 0, n_wins),
        n_wins,
        pairwise_sum(relative, n_wins, n_others),
        n_others,
    )


@njit(cache=True, error_model="numpy")
def max_drawdown(equity: np.ndarray) -> float:
    """max_t (1 - equity_t / max_{s<=t} equity_s), NaN when a value or a peak is (numpy's
    ``np.maximum.accumulate`` and ``np.max`` propagate NaN); ``equity`` not empty."""
    peak = equity[0]
    largest = -np.inf
    for value in equity:
        if np.isnan(peak) or np.isnan(value):
            return np.nan
        if value > peak:
            peak = value
        drawdown = 1.0 - value / peak
        if np.isnan(drawdown):
            return np.nan
        largest = max(largest, drawdown)
    return largest


@njit(cache=True)
def sample_variance(values: np.ndarray) -> float:
    """``np.var(values, ddof=1)`` as numpy computes it: mean = sum(x) / n, then
    sum((x - mean)^2) / (n - 1), both sums in numpy's pairwise order; n >= 2."""
    n = values.size
    mean = pairwise_sum(values, 0, n) / n
    squares = np.empty(n)
    for i in range(n):
        deviation = values[i] - mean
        squares[i] = deviation * deviation
    return pairwise_sum(squares, 0, n) / (n - 1)


@njit(cache=True)
def mean(values: np.ndarray) -> float:
    """``np.mean(values)`` as numpy computes it: the pairwise sum over n; n >= 1."""
    return pairwise_sum(values, 0, values.size) / values.size


def compile_loops() -> None:
    """Compile these loops (or load them from numba's cache beside the sources) with the
    argument types a backtest passes; :func:`app.engine.simulator.compile_engine` calls it
    (about 1.5 s on 2 cores otherwise paid by the first backtest of a fresh checkout)."""
    values = np.array([100.0, 101.0, 99.5])
    bars = np.array([-1, 0, 1], dtype=np.int64)
    seconds = np.array([0, 86400, 172800], dtype=np.int64)
    # A window's sample times and bars are shared by the runs over it, read-only: numba
    # compiles read-only arrays apart.
    shared_bars, shared_seconds = bars.copy(), seconds.copy()
    shared_bars.flags.writeable = shared_seconds.flags.writeable = False
    for sample_bars in (bars, shared_bars):
        sample_values(sample_bars, values, 100.0)
        turnover_fractions(sample_bars, values, np.array([10.0, 0.0, 5.0]))
    for times in (seconds, shared_seconds):
        longest_recovery_days(values, times)
    performance_fractions(values)
    max_drawdown(values)
    sample_variance(values)
    mean(values)
    relative_pnl_sums(np.array([1.0, -2.0]), 100.0)
