"""Independent, loop-based reference implementations of DESIGN §7's distinct count, DSR and
PBO, written from the papers' definitions with scipy.stats (not the code under test): a
second implementation to check the vectorised one against."""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import stats


def distinct_groups(returns: np.ndarray, tolerance: float = 1e-12) -> list[int]:
    """For each trial (row), the index of the first earlier distinct trial it equals
    everywhere within ``tolerance``; itself when none."""
    owners: list[int] = []
    representatives: list[int] = []
    for i, row in enumerate(returns):
        owner = i
        for r in representatives:
            if all(abs(a - b) <= tolerance for a, b in zip(row, returns[r], strict=True)):
                owner = r
                break
        if owner == i:
            representatives.append(i)
        owners.append(owner)
    return owners


def sharpe(series) -> float:
    series = np.asarray(series, dtype=float)
    return float(np.mean(series) / np.std(series, ddof=1))


def deflated_sharpe(top_returns: np.ndarray, distinct_returns: np.ndarray) -> float:
    """Bailey & López de Prado (2014), eq. for SR0 and DSR, with scipy's normal and moments."""
    n = distinct_returns.shape[0]
    sharpes = [sharpe(row) for row in distinct_returns]
    variance = stats.tvar(sharpes)  # ddof 1
    gamma = np.euler_gamma
    sr0 = math.sqrt(variance) * (
        (1 - gamma) * stats.norm.ppf(1 - 1 / n) + gamma * stats.norm.ppf(1 - 1 / (n * math.e))
    )
    sr = sharpe(top_returns)
    skew = stats.skew(top_returns, bias=True)
    kurt = stats.kurtosis(top_returns, fisher=False, bias=True)
    t = len(top_returns)
    z = (sr - sr0) * math.sqrt(t - 1) / math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    return float(stats.norm.cdf(z))


def cscv_pbo(returns: np.ndarray, blocks: int = 16) -> tuple[float, list[float]]:
    """PBO and the logits by brute force over every split (Bailey et al. 2017, CSCV)."""
    n_trials, n_returns = returns.shape
    length = n_returns // blocks
    pieces = [returns[:, b * length : (b + 1) * length] for b in range(blocks)]
    logits = []
    for chosen in itertools.combinations(range(blocks), blocks // 2):
        rest = [b for b in range(blocks) if b not in chosen]
        in_sample = np.concatenate([pieces[b] for b in chosen], axis=1)
        out_sample = np.concatenate([pieces[b] for b in rest], axis=1)
        in_sharpes = [sharpe(row) for row in in_sample]
        out_sharpes = [sharpe(row) for row in out_sample]
        best = int(np.argmax(in_sharpes))  # first on ties
        rank = stats.rankdata(out_sharpes, method="average")[best]  # 1 = worst
        omega = rank / (n_trials + 1)
        logits.append(math.log(omega / (1 - omega)))
    return sum(1 for x in logits if x <= 0) / len(logits), logits
