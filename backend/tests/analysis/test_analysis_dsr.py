"""The Deflated Sharpe Ratio against DESIGN §7's worked example and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from app.analysis.dsr import deflated_sharpe_ratio, expected_max_sharpe
from app.analysis.returns import sharpe_ratios, standardized_moments


def test_worked_example_of_design_section_7():
    # DESIGN §7: SR 0.158114, V 0.002, N 100, T 1250, skew -3, kurt 10 -> 0.900397.
    result = deflated_sharpe_ratio(0.158114, 0.002, 100, 1250, -3.0, 10.0)
    assert result.value == pytest.approx(0.900397, abs=5e-7)
    assert result.reason is None


def test_expected_maximum_uses_the_inverse_normal_of_scipy():
    gamma = 0.5772156649015329
    expected = math.sqrt(0.002) * (
        (1 - gamma) * stats.norm.ppf(1 - 1 / 100) + gamma * stats.norm.ppf(1 - 1 / (100 * math.e))
    )
    assert expected_max_sharpe(0.002, 100) == pytest.approx(expected, rel=1e-12)


def test_one_trial_has_no_deflated_sharpe():
    result = deflated_sharpe_ratio(0.1, 0.0, 1, 1250, 0.0, 3.0)
    assert result.value is None
    assert "one distinct trial" in result.reason


def test_moments_match_scipy_population_moments():
    rng = np.random.default_rng(7)
    returns = rng.standard_t(5, size=900) * 0.01
    skewness, kurtosis = standardized_moments(returns)
    assert skewness == pytest.approx(stats.skew(returns, bias=True), rel=1e-10)
    assert kurtosis == pytest.approx(stats.kurtosis(returns, fisher=False, bias=True), rel=1e-10)
    assert sharpe_ratios(returns[None, :])[0] == pytest.approx(
        returns.mean() / returns.std(ddof=1), rel=1e-12
    )


def test_flat_returns_have_undefined_sharpe_and_moments():
    flat = np.zeros((1, 50))
    assert np.isnan(sharpe_ratios(flat)[0])
    assert all(np.isnan(x) for x in standardized_moments(flat[0]))
