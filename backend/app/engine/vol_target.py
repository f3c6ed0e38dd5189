"""The volatility-targeted equity sleeve of ``ml_score_vol_target`` (DESIGN §6): which names
a rebalance holds and the weight each gets, as pure functions over numpy arrays."""

from __future__ import annotations

import math

import numpy as np

TRADING_DAYS_PER_YEAR = 252


def sleeve_volatility(returns: np.ndarray, weights: np.ndarray) -> float:
    """Annualised volatility of a weighted sleeve from a window of daily returns:
    std(returns @ weights, ddof=1) * sqrt(252), i.e. sqrt(252 * w' Cov w)."""
    sleeve = returns @ weights
    n = sleeve.size
    if n < 2:
        return 0.0
    # np.std(sleeve, ddof=1) step for step (mean, squared deviations, sum / (n - 1)) without
    # its per-call overhead, which dominated a schedule of a few hundred rebalances.
    deviation = sleeve - sleeve.sum() / n
    return math.sqrt((deviation * deviation).sum() / (n - 1)) * math.sqrt(TRADING_DAYS_PER_YEAR)


def vol_target_weight(
    returns: np.ndarray, vol_target: float, max_exposure: float, max_weight: float
) -> float:
    """Weight of each of the n names (columns of ``returns``, n >= 1) in the equity sleeve:
    equal weights u = 1/n, exposure = min(max_exposure, vol_target / vol(u)), each name
    min(exposure / n, max_weight). Capping per name after scaling means max_weight only
    binds when exposure > n * max_weight."""
    n = returns.shape[1]
    estimate = sleeve_volatility(returns, np.full(n, 1.0 / n))
    exposure = max_exposure if estimate <= 0 else min(max_exposure, vol_target / estimate)
    return min(exposure / n, max_weight)


def vol_target_weights(
    returns: np.ndarray, top_n: int, vol_target: float, max_exposure: float, max_weight: float
) -> np.ndarray:
    """:func:`vol_target_weight` for each of the names (columns of ``returns``)."""
    n = returns.shape[1]
    if n == 0:
        return np.zeros(0)
    return np.full(n, vol_target_weight(returns, vol_target, max_exposure, max_weight))


def top_scores(scores: np.ndarray, eligible: np.ndarray, top_n: int) -> np.ndarray:
    """``(n_days, n_names)`` mask of each day's ``top_n`` highest scores among the eligible
    names (all of them when there are at most ``top_n``). Ties at the cutoff go to the lower
    column, so the choice is deterministic."""
    chosen = eligible.copy()
    crowded = np.flatnonzero(eligible.sum(axis=1) > top_n)
    if crowded.size == 0:
        return chosen
    # Ineligible names rank below every finite score; the cutoff is the top_n-th largest.
    ranked = np.where(eligible[crowded], scores[crowded], -np.inf)
    kth = ranked.shape[1] - top_n
    cutoff = np.partition(ranked, kth, axis=1)[:, kth, None]
    above = ranked > cutoff
    tied = ranked == cutoff
    room = top_n - above.sum(axis=1, keepdims=True)
    chosen[crowded] = above | (tied & (np.cumsum(tied, axis=1) <= room))
    return chosen


def sleeve_weights(
    estimate: np.ndarray,
    count: np.ndarray,
    vol_target: float,
    max_exposure: float,
    max_weight: float,
) -> np.ndarray:
    """:func:`vol_target_weight` for many rebalances at once, from each one's volatility
    estimate of the equal-weight sleeve and its number of names (``count`` >= 1):
    exposure = max_exposure when estimate <= 0, else min(max_exposure, vol_target /
    estimate); weight = min(exposure / count, max_weight). The same IEEE operations as the
    scalar function, element by element, so the same bits."""
    positive = estimate > 0
    ratio = np.divide(vol_target, estimate, out=np.full(estimate.shape, np.inf), where=positive)
    exposure = np.where(positive, np.minimum(max_exposure, ratio), max_exposure)
    return np.minimum(exposure / count, max_weight)
