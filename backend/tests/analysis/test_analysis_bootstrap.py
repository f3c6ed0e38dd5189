"""The paired stationary block bootstrap: deterministic, paired, and right on known cases."""

from __future__ import annotations

import numpy as np

from app.analysis.bootstrap import paired_bootstrap, stationary_bootstrap_indices


def test_indices_are_deterministic_and_have_mean_block_21():
    first = stationary_bootstrap_indices(1500, 300, 21, seed=4)
    assert np.array_equal(first, stationary_bootstrap_indices(1500, 300, 21, seed=4))
    assert not np.array_equal(first, stationary_bootstrap_indices(1500, 300, 21, seed=5))
    continued = first[:, 1:] == (first[:, :-1] + 1) % 1500
    # A fresh start happens with probability 1/21 (and lands on the next index by chance
    # with probability 1/1500, which then looks like a continuation).
    restart_share = 1 - continued.mean()
    assert abs(restart_share - (1 / 21) * (1 - 1 / 1500)) < 0.002
    assert first.min() >= 0 and first.max() < 1500


def test_identical_trial_has_a_zero_interval_and_results_repeat():
    rng = np.random.default_rng(2)
    baseline = rng.normal(0.0004, 0.01, 1000)
    returns = np.array([baseline, baseline * 1.5])
    one = paired_bootstrap(returns, [0, 1], 4.0, baseline, drawdown_limit=0.15, resamples=500)
    again = paired_bootstrap(returns, [0, 1], 4.0, baseline, drawdown_limit=0.15, resamples=500)
    assert one == again
    same = one.trials[0].cagr_minus_baseline
    assert (same.lower, same.upper, same.estimate) == (0.0, 0.0, 0.0)  # paired: same days
    assert one.trials[0].cagr_minus_top1 is None
    assert one.trials[1].cagr_minus_top1 is not None
    # Levered 1.5x, the same days' drawdowns are deeper: never more likely to stay within.
    assert one.trials[1].prob_meets_drawdown <= one.trials[0].prob_meets_drawdown


def test_interval_contains_the_known_difference():
    # Trial = baseline + 0.0004 a day on the same days. The population CAGR difference is
    # known in closed form for i.i.d. normal returns with 252 sessions a year:
    # exp(252 * (mu + d - s²/2)) - exp(252 * (mu - s²/2)) to first order in the log returns.
    rng = np.random.default_rng(8)
    mu, d, s, n = 0.0003, 0.0004, 0.01, 2520
    baseline = rng.normal(mu, s, n)
    trial = baseline + d
    known = np.exp(252 * (mu + d - s**2 / 2)) - np.exp(252 * (mu - s**2 / 2))
    result = paired_bootstrap(np.array([trial]), [0], n / 252, baseline)
    interval = result.trials[0].cagr_minus_baseline
    assert interval.lower <= known <= interval.upper
    assert interval.lower > 0  # a constant daily edge is visible on every resample


def test_probability_of_meeting_the_drawdown_limit_at_the_extremes():
    rng = np.random.default_rng(3)
    calm = 0.0005 + rng.normal(0, 0.0005, 1000)  # drawdowns of a fraction of a percent
    wild = rng.normal(0.0, 0.05, 1000)  # 5 % a day: falls far beyond 15 %
    result = paired_bootstrap(np.array([calm, wild]), [0, 1], 4.0, drawdown_limit=0.15)
    assert result.trials[0].prob_meets_drawdown == 1.0
    assert result.trials[1].prob_meets_drawdown == 0.0
    assert result.trials[0].cagr_minus_baseline is None
