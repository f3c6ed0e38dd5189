"""PBO by CSCV against a hand count and a brute-force loop over the 12,870 splits."""

from __future__ import annotations

import math

import numpy as np
import pytest
from analysis_reference import cscv_pbo

from app.analysis.pbo import probability_of_backtest_overfitting, split_matrix


def hand_built_pair() -> np.ndarray:
    """Two trials, 16 blocks of two returns. Trial C has returns (x, -x) in every block, so its
    SR is exactly 0 on any set of blocks. Trial A's block sums are +0.05 (block 0), -0.05
    (block 1) and small positive 0.0001 k (blocks k = 2..15). A is the in-sample best exactly
    when its in-sample sum is positive, and the out-of-sample best exactly when its
    out-of-sample sum is positive. Hand count: the signs differ (an overfit split) exactly
    when one of blocks 0 and 1 is in sample and the other out: 2 * C(14, 7) = 6,864 of the
    12,870 splits; otherwise both sums are small and positive and A wins both halves."""
    a = [(0.03, 0.02), (-0.03, -0.02)] + [(0.0001 * k + 0.004, -0.004) for k in range(2, 16)]
    c = [(0.01, -0.01)] * 16
    return np.array([np.ravel(a), np.ravel(c)])


def test_hand_counted_pbo():
    result = probability_of_backtest_overfitting(hand_built_pair())
    assert 2 * math.comb(14, 7) == 6864
    assert result.value == pytest.approx(6864 / 12870, abs=1e-15)
    # Two trials: an overfit split ranks the pick 1 of 2 (ω = 1/3), otherwise 2 of 2 (ω = 2/3).
    assert np.sum(np.isclose(result.logits, math.log(0.5))) == 6864
    assert np.sum(np.isclose(result.logits, math.log(2.0))) == 12870 - 6864


def test_a_trial_that_dominates_every_split_is_never_overfit():
    rng = np.random.default_rng(1)
    base = rng.normal(0.0, 0.01, 320)
    returns = np.array([base, base + 0.001, base + 0.002])  # same std, higher mean: higher SR
    assert probability_of_backtest_overfitting(returns).value == 0.0


def test_mirror_trials_are_always_overfit():
    # A has total sum 0, so its in- and out-of-sample means have opposite signs; B = -A. The
    # in-sample winner is then always the out-of-sample loser: PBO = 1 (hand reasoning).
    values = [2.0**k for k in range(15)]
    values.append(-sum(values))
    a = np.ravel([(v * 1e-5 + 0.001, -0.001) for v in values])
    assert probability_of_backtest_overfitting(np.array([a, -a])).value == 1.0


@pytest.mark.parametrize("seed, n_trials, n_returns", [(11, 5, 83), (12, 7, 160)])
def test_vectorised_pbo_equals_brute_force_loop(seed, n_trials, n_returns):
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0003, 0.01, (n_trials, n_returns)) + rng.normal(0, 0.0005, (n_trials, 1))
    expected_value, expected_logits = cscv_pbo(returns)
    result = probability_of_backtest_overfitting(returns)
    assert result.value == pytest.approx(expected_value, abs=1e-12)
    np.testing.assert_allclose(result.logits, expected_logits, rtol=0, atol=1e-12)
    assert result.block_length == n_returns // 16
    assert result.returns_used == 16 * (n_returns // 16)


def test_split_matrix_is_every_half():
    splits = split_matrix()
    assert splits.shape == (12870, 16)
    assert np.all(splits.sum(axis=1) == 8)
    assert len({tuple(row) for row in splits.astype(int)}) == 12870


def test_degenerate_inputs_give_reasons():
    one = probability_of_backtest_overfitting(np.ones((1, 100)) * 0.001)
    assert one.value is None and "one distinct trial" in one.reason
    short = probability_of_backtest_overfitting(np.random.default_rng(0).normal(size=(3, 15)))
    assert short.value is None and "fewer than 16" in short.reason
