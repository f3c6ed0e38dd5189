"""Paired stationary block bootstrap (Politis & Romano, 1994, "The Stationary Bootstrap"),
DESIGN §7: how sure is the Top N's lead over the baseline, and how likely is each to keep
within the drawdown limit on a reshuffled history?

Each resample is a sequence of T session indices: the first is uniform on 0..T-1; each next
one is, with probability p = 1 / mean_block, a fresh uniform index, otherwise the previous
index + 1 (wrapping from T-1 to 0). Block lengths are thus geometric with mean ``mean_block``.
The same index sequences are applied to every trial and to the baseline (paired), so a
difference of CAGRs compares the strategies on the same resampled days. A resampled path is
P_t = Π_{s<=t} (1 + r_s) from P_0 = 1; its CAGR is P_T^(1/years) - 1 with the window's years,
its max drawdown max_t (1 - P_t / max_{s<=t} P_s) with P_0 included.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MEAN_BLOCK = 21
RESAMPLES = 2000
SEED = 20140101
CONFIDENCE = 0.95


def stationary_bootstrap_indices(
    n_returns: int, resamples: int = RESAMPLES, mean_block: float = MEAN_BLOCK, seed: int = SEED
) -> np.ndarray:
    """(resamples x n_returns) session indices of the stationary bootstrap (module docstring),
    deterministic for a given seed."""
    rng = np.random.default_rng(seed)
    fresh = rng.integers(0, n_returns, size=(resamples, n_returns))
    restart = rng.random((resamples, n_returns)) < 1.0 / mean_block
    # Built in place over ``fresh``: column t reads its own fresh draw and the finished
    # column t - 1 (one (resamples x n_returns) array less, ~24 MB at the defaults).
    indices = fresh.astype(np.int64, copy=False)
    for t in range(1, n_returns):
        indices[:, t] = np.where(restart[:, t], indices[:, t], (indices[:, t - 1] + 1) % n_returns)
    return indices


def resampled_paths(returns: np.ndarray, indices: np.ndarray, years: float):
    """(CAGR, max drawdown) of each resampled path of one return series."""
    # The formulas of the module docstring with each step in place, the same IEEE operations
    # as the plain expressions: two (resamples x T) arrays at a time instead of five.
    paths = np.asarray(returns, dtype=float)[indices]
    paths += 1.0
    np.cumprod(paths, axis=1, out=paths)
    final = paths[:, -1].copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        cagrs = np.where(final > 0, np.abs(final) ** (1.0 / years) - 1.0, -1.0)
    peaks = np.maximum.accumulate(paths, axis=1)
    np.maximum(peaks, 1.0, out=peaks)
    np.divide(paths, peaks, out=peaks)
    np.subtract(1.0, peaks, out=peaks)
    drawdowns = np.max(peaks, axis=1)
    return cagrs, np.maximum(drawdowns, 0.0)


@dataclass(frozen=True)
class Interval:
    estimate: float  # on the observed history
    lower: float
    upper: float

    def contains_zero(self) -> bool:
        return self.lower <= 0.0 <= self.upper


@dataclass(frozen=True)
class BootstrapTrial:
    row: int
    cagr_minus_baseline: Interval | None
    cagr_minus_top1: Interval | None  # None for the Top 1 itself
    prob_meets_drawdown: float | None


@dataclass(frozen=True)
class BootstrapResult:
    trials: tuple[BootstrapTrial, ...]
    resamples: int
    mean_block: float
    seed: int


def _interval(estimate: float, samples: np.ndarray, confidence: float) -> Interval:
    tail = (1 - confidence) / 2 * 100
    lower, upper = np.percentile(samples, [tail, 100 - tail])
    return Interval(float(estimate), float(lower), float(upper))


def _observed_cagr(returns: np.ndarray, years: float) -> float:
    final = float(np.prod(1.0 + returns))
    return final ** (1.0 / years) - 1.0 if final > 0 else -1.0


def paired_bootstrap(
    returns: np.ndarray,
    rows: list[int],
    years: float,
    baseline_returns: np.ndarray | None = None,
    drawdown_limit: float | None = None,
    strict: bool = False,
    resamples: int = RESAMPLES,
    mean_block: float = MEAN_BLOCK,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
) -> BootstrapResult:
    """For each of ``rows`` (the Top N, best first) of ``returns`` (trials x T): the
    ``confidence`` percentile interval of CAGR(trial) - CAGR(baseline) and of CAGR(trial) -
    CAGR(Top 1) over the resamples, and the share of resamples whose max drawdown is
    <= ``drawdown_limit`` (< when ``strict``)."""
    returns = np.atleast_2d(np.asarray(returns, dtype=float))
    indices = stationary_bootstrap_indices(returns.shape[1], resamples, mean_block, seed)
    base_cagrs = base_observed = None
    if baseline_returns is not None:
        base_cagrs, _ = resampled_paths(baseline_returns, indices, years)
        base_observed = _observed_cagr(baseline_returns, years)
    top_cagrs = top_observed = None
    trials = []
    for position, row in enumerate(rows):
        cagrs, drawdowns = resampled_paths(returns[row], indices, years)
        observed = _observed_cagr(returns[row], years)
        if position == 0:
            top_cagrs, top_observed = cagrs, observed
        versus_baseline = (
            None
            if base_cagrs is None
            else _interval(observed - base_observed, cagrs - base_cagrs, confidence)
        )
        versus_top1 = (
            None
            if position == 0
            else _interval(observed - top_observed, cagrs - top_cagrs, confidence)
        )
        meets = None
        if drawdown_limit is not None:
            within = drawdowns < drawdown_limit if strict else drawdowns <= drawdown_limit
            meets = float(np.mean(within))
        trials.append(BootstrapTrial(row, versus_baseline, versus_top1, meets))
    return BootstrapResult(tuple(trials), resamples, mean_block, seed)
