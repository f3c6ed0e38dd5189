"""Daily returns of a sweep's trials, which trials are the same backtest, and per-trial Sharpe
ratios and moments (DESIGN §7). Pure functions over numpy arrays.

Conventions: a trial's equity curve has one sample per session with the starting capital
first (DESIGN §4.1), so T + 1 samples give T simple returns r_t = e_t / e_{t-1} - 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Two trials are the same backtest when their returns differ by at most this, everywhere.
EQUIVALENCE_TOLERANCE = 1e-12
# A variance at most this times the mean square is rounding noise (returns of a constant-growth
# curve recomputed from its equity differ in the last bits), treated as exactly 0.
FLAT_VARIANCE = 1e-14


def returns_matrix(equity: np.ndarray) -> np.ndarray:
    """Simple daily returns of each row of a (trials x samples) equity matrix:
    R[i, t] = E[i, t + 1] / E[i, t] - 1, shape (trials, samples - 1)."""
    equity = np.atleast_2d(np.asarray(equity, dtype=float))
    # The same two IEEE operations as ``E[:, 1:] / E[:, :-1] - 1``, the second in place: a
    # 10,000-trial sweep's matrix is ~120 MB, and the expression held two of them at once.
    returns = np.divide(equity[:, 1:], equity[:, :-1])
    returns -= 1.0
    return returns


@dataclass(frozen=True)
class DistinctTrials:
    """``representatives``: row indices of the distinct trials, in trial order.
    ``representative_of[i]``: the row index of the distinct trial that row i duplicates
    (itself when it is a representative)."""

    representatives: np.ndarray
    representative_of: np.ndarray

    @property
    def count(self) -> int:
        return int(self.representatives.size)


def distinct_trials(
    returns: np.ndarray, tolerance: float = EQUIVALENCE_TOLERANCE
) -> DistinctTrials:
    """Group trials whose return series are equal within ``tolerance`` everywhere
    (max_t |R[i, t] - R[j, t]| <= tolerance). Each trial, in trial order, joins the first
    earlier representative it equals; otherwise it becomes a representative itself.

    A cheap necessary condition prunes the comparisons: equal series have sums that differ by
    at most T * tolerance (plus rounding), so only representatives whose sum is that close are
    compared element by element."""
    returns = np.atleast_2d(np.asarray(returns, dtype=float))
    n_trials, n_returns = returns.shape
    sums = returns.sum(axis=1)
    scale = float(np.max(np.abs(returns))) if returns.size else 0.0
    sum_margin = n_returns * tolerance + 4 * n_returns * np.finfo(float).eps * max(scale, 1.0)
    representative_of = np.empty(n_trials, dtype=np.int64)
    representatives: list[int] = []
    for index in range(n_trials):
        owner = index
        if representatives:
            candidates = np.asarray(representatives)
            close = candidates[np.abs(sums[candidates] - sums[index]) <= sum_margin]
            for candidate in close:  # in trial order, so the first match is the earliest
                if np.all(np.abs(returns[candidate] - returns[index]) <= tolerance):
                    owner = int(candidate)
                    break
        if owner == index:
            representatives.append(index)
        representative_of[index] = owner
    return DistinctTrials(np.asarray(representatives, dtype=np.int64), representative_of)


def sharpe_ratios(returns: np.ndarray) -> np.ndarray:
    """Per-row SR = mean(r) / std(r, ddof=1), daily, not annualised; NaN when the variance is
    0 (at most ``FLAT_VARIANCE`` x mean(r²)) or there are fewer than two returns: the ratio is
    then undefined."""
    returns = np.atleast_2d(np.asarray(returns, dtype=float))
    if returns.shape[1] < 2:
        return np.full(returns.shape[0], np.nan)
    means = returns.mean(axis=1)
    variances = returns.var(axis=1, ddof=1)
    flat = variances <= FLAT_VARIANCE * np.mean(returns**2, axis=1)
    return np.where(flat, np.nan, means / np.sqrt(np.where(flat, 1.0, variances)))


def standardized_moments(returns: np.ndarray) -> tuple[float, float]:
    """Population skewness and raw (non-excess) kurtosis of one return series:
    skew = m3 / m2^1.5, kurt = m4 / m2^2 with m_k = mean((r - mean(r))^k); kurt is 3 for a
    normal distribution. NaN, NaN when the variance is 0 (as in :func:`sharpe_ratios`)."""
    returns = np.asarray(returns, dtype=float)
    deviations = returns - returns.mean()
    m2 = float(np.mean(deviations**2))
    if returns.size == 0 or m2 <= FLAT_VARIANCE * float(np.mean(returns**2)):
        return float("nan"), float("nan")
    m3 = float(np.mean(deviations**3))
    m4 = float(np.mean(deviations**4))
    return m3 / m2**1.5, m4 / m2**2
