"""Probability of Backtest Overfitting by Combinatorially Symmetric Cross-Validation
(Bailey, Borwein, López de Prado & Zhu, 2017, "The Probability of Backtest Overfitting"),
DESIGN §7, vectorised over all splits.

The first T - (T mod S) returns are cut into S = 16 contiguous blocks of L returns. For each
of the C(16, 8) = 12,870 choices of 8 in-sample blocks, the trial with the best in-sample SR
(first in trial order on ties) is ranked among all trials by out-of-sample SR (average ranks,
1 = worst); ω = rank / (N + 1), λ = ln(ω / (1 - ω)), and PBO = share of splits with ω <= ½.

Vectorisation: with per-block sums B1[b, i] = Σ r and B2[b, i] = Σ r² and a (splits x blocks)
0/1 matrix M of in-sample blocks, the in-sample sums of every split are M @ B1 and M @ B2, the
out-of-sample ones the totals minus those; mean = s1 / n, var = (s2 - s1² / n) / (n - 1).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from app.analysis.returns import FLAT_VARIANCE

BLOCKS = 16
# SRs that differ by less than this are ties (the same data summed two ways can differ in
# the last bits; a real difference between distinct trials is many orders larger).
TIE_TOLERANCE = 1e-12
_SPLITS_PER_CHUNK = 2048
# At most this many (split, trial) values per array of a chunk (8 MB): each chunk holds about
# ten (splits x trials) arrays, ~700 MB for 2,048 splits of 5,000 distinct trials. Sweeps of
# up to 488 distinct trials keep chunks of 2,048 splits; the logits are the same bits either
# way (each split's row is computed alone).
_VALUES_PER_CHUNK = 1_000_000


def split_matrix(blocks: int = BLOCKS) -> np.ndarray:
    """All C(blocks, blocks/2) in-sample choices as a 0/1 float matrix (splits x blocks), in
    ``itertools.combinations`` order."""
    combos = list(itertools.combinations(range(blocks), blocks // 2))
    matrix = np.zeros((len(combos), blocks))
    rows = np.repeat(np.arange(len(combos)), blocks // 2)
    matrix[rows, np.asarray(combos).ravel()] = 1.0
    return matrix


@dataclass(frozen=True)
class PboResult:
    value: float | None
    logits: np.ndarray  # λ of each split, in split order (empty when undefined)
    block_length: int
    returns_used: int
    n_trials: int
    reason: str | None = None


def _split_sharpes(sum1: np.ndarray, sum2: np.ndarray, count: int) -> np.ndarray:
    """SR = mean / std(ddof 1) from sums; 0 when the variance is (numerically) 0, as the
    engine's ``sharpe_ratio`` does for a flat series (a ranking needs a number)."""
    mean = sum1 / count
    variance = (sum2 - sum1 * mean) / (count - 1)
    flat = variance <= FLAT_VARIANCE * (sum2 / count)
    std = np.sqrt(np.where(flat, 1.0, variance))
    return np.where(flat, 0.0, mean / std)


def probability_of_backtest_overfitting(returns: np.ndarray, blocks: int = BLOCKS) -> PboResult:
    """PBO of selecting the best-SR row of ``returns`` (distinct trials x T returns); see the
    module docstring. Undefined (value None, with a reason) for fewer than two trials or
    fewer than ``blocks`` returns."""
    returns = np.atleast_2d(np.asarray(returns, dtype=float))
    n_trials, n_returns = returns.shape
    block_length = n_returns // blocks
    used = block_length * blocks
    if n_trials < 2:
        return PboResult(None, np.empty(0), block_length, used, n_trials, "one distinct trial")
    if block_length < 1:
        return PboResult(
            None,
            np.empty(0),
            0,
            0,
            n_trials,
            f"{n_returns} returns: fewer than {blocks} blocks of one session",
        )
    blocked = returns[:, :used].reshape(n_trials, blocks, block_length)
    block_sum1 = blocked.sum(axis=2).T  # (blocks, trials)
    block_sum2 = (blocked**2).sum(axis=2).T
    total1, total2 = block_sum1.sum(axis=0), block_sum2.sum(axis=0)
    splits = split_matrix(blocks)
    half = (blocks // 2) * block_length
    other = used - half
    logits = np.empty(splits.shape[0])
    per_chunk = min(_SPLITS_PER_CHUNK, max(64, _VALUES_PER_CHUNK // n_trials))
    for start in range(0, splits.shape[0], per_chunk):
        chosen = splits[start : start + per_chunk]
        in1, in2 = chosen @ block_sum1, chosen @ block_sum2
        in_sharpe = _split_sharpes(in1, in2, half)
        out_sharpe = _split_sharpes(total1 - in1, total2 - in2, other)
        best_in = in_sharpe.max(axis=1, keepdims=True)
        selected = np.argmax(in_sharpe >= best_in - TIE_TOLERANCE, axis=1)
        rows = np.arange(chosen.shape[0])
        selected_out = out_sharpe[rows, selected][:, None]
        below = np.sum(out_sharpe < selected_out - TIE_TOLERANCE, axis=1)
        tied = np.sum(np.abs(out_sharpe - selected_out) <= TIE_TOLERANCE, axis=1)
        rank = below + (tied + 1) / 2.0  # average rank, 1 = worst
        omega = rank / (n_trials + 1)
        logits[start : start + chosen.shape[0]] = np.log(omega / (1 - omega))
    value = float(np.mean(logits <= 0.0))
    return PboResult(value, logits, block_length, used, n_trials)


def logit_histogram(logits: np.ndarray, bins: int = 20) -> list[dict[str, float | int]]:
    """Counts of λ in ``bins`` equal bins over [-m, m], m = max |λ| (symmetric, so the
    λ <= 0 half reads directly as the overfit side). Empty when there are no logits."""
    if logits.size == 0:
        return []
    bound = float(np.max(np.abs(logits))) or 1.0
    counts, edges = np.histogram(logits, bins=bins, range=(-bound, bound))
    return [
        {"lower": float(edges[k]), "upper": float(edges[k + 1]), "count": int(counts[k])}
        for k in range(bins)
    ]


def combinations_count(blocks: int = BLOCKS) -> int:
    return math.comb(blocks, blocks // 2)
