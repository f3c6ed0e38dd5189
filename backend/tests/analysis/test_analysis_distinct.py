"""Distinct trials: equal within 1e-12 everywhere, represented by the first in trial order."""

from __future__ import annotations

import numpy as np
from analysis_reference import distinct_groups

from app.analysis.returns import distinct_trials, returns_matrix


def test_equivalences_by_hand():
    rng = np.random.default_rng(5)
    a = rng.normal(0, 0.01, 300)
    b = rng.normal(0, 0.01, 300)
    near_a = a + 5e-13  # within 1e-12 of a everywhere: the same backtest
    drifted = a.copy()
    drifted[150] += 1e-9  # one session differs by 1e-9: a different backtest
    chained = a + 1.4e-12  # within 1e-12 of near_a but not of a, the representative
    returns = np.array([a, b, near_a, drifted, b.copy(), chained])
    distinct = distinct_trials(returns)
    assert distinct.representatives.tolist() == [0, 1, 3, 5]
    assert distinct.representative_of.tolist() == [0, 1, 0, 3, 1, 5]
    assert distinct.count == 4


def test_agrees_with_a_loop_reference_on_a_sweep_like_matrix():
    rng = np.random.default_rng(9)
    unique = rng.normal(0.0004, 0.01, (12, 400))
    picks = rng.integers(0, 12, 40)
    returns = unique[picks]
    distinct = distinct_trials(returns)
    assert distinct.representative_of.tolist() == distinct_groups(returns)
    assert distinct.count == len(set(picks.tolist()))


def test_returns_from_equity_start_with_the_starting_capital():
    equity = np.array([[100.0, 110.0, 99.0]])
    np.testing.assert_allclose(returns_matrix(equity), [[0.1, -0.1]])
