"""The statistics' compiled loops and shared moments give numpy's floats bit for bit: each is
compared with the numpy code it replaced (written out here) on random inputs with the edge
cases (zeros, NaN, ties, one or two values)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.engine import lean_series as ls
from app.engine import performance
from app.engine import statistics as st
from app.engine import statistics_loops as loops
from app.engine.performance import BenchmarkReturns, portfolio_statistics, sample_covariance


def same(a, b) -> bool:
    """Equal floats, NaN equal to NaN, arrays element by element and in shape."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and bool(np.all((a == b) | (np.isnan(a) & np.isnan(b))))


def equity_curves(rng, count):
    for _ in range(count):
        n = int(rng.integers(1, 300))
        equity = 1e5 * np.cumprod(1 + rng.normal(0, 0.02, n))
        kind = rng.integers(0, 4)
        if kind == 1:  # few levels: ties with the peak, returns of exactly 0
            equity = rng.integers(0, 4, n).astype(float) * 1000.0
        elif kind == 2:
            equity[rng.random(n) < 0.05] = np.nan
        yield equity


def test_samples_returns_and_turnover_equal_the_numpy_definitions():
    rng = np.random.default_rng(11)
    for equity in equity_curves(rng, 300):
        n = equity.size
        bars = np.concatenate(([-1], np.sort(rng.integers(-1, n, rng.integers(0, 2 * n))), [n - 1]))
        start = float(rng.choice([1e5, 0.0, 123.45678]))
        expected = np.round(np.where(bars >= 0, equity[np.maximum(bars, 0)], start), 4)
        samples = ls.sampled_equity(np.zeros(bars.size), bars, equity, start)
        assert same(samples.values, expected)

        values = samples.values
        previous = values[:-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            percent = np.where(previous != 0, (values[1:] - previous) * 100.0 / previous, 0.0)
        assert same(ls.performance_returns(values), np.round(percent, 10) / 100.0)

        traded = np.where(rng.random(n) < 0.5, rng.random(n) * 1e4, 0.0)
        traded_at_sample = np.zeros(bars.size)
        rows = np.nonzero(traded)[0]
        index = np.searchsorted(bars, rows, side="left")
        np.add.at(traded_at_sample, np.minimum(index, bars.size - 1), traded[rows])
        with np.errstate(divide="ignore", invalid="ignore"):
            turnover = np.where(values[1:] != 0, traded_at_sample[1:] / values[1:], 0.0)
        assert same(ls.turnover_per_sample(samples, traded), turnover)


def test_max_drawdown_equals_the_numpy_definition():
    rng = np.random.default_rng(12)
    curves = [*equity_curves(rng, 300), np.array([0.0, 1.0]), np.array([5.0, np.inf, 1.0])]
    for equity in curves:
        peaks = np.maximum.accumulate(equity)
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = float(np.max(1.0 - equity / peaks))
        assert same(performance.max_drawdown(equity), expected)
        assert same(st.max_drawdown(equity), expected)


def test_sample_covariance_is_numpys():
    rng = np.random.default_rng(13)
    for n in [2, 3, 8, 100, 2204]:
        x, y = rng.normal(0, 0.01, n), rng.normal(0, 0.02, n) + rng.normal(0, 1e-3)
        assert sample_covariance(x, y) == float(np.cov(x, y, ddof=1)[0, 1])


@pytest.mark.parametrize("with_benchmark", [True, False])
def test_portfolio_statistics_equal_each_statistics_function(with_benchmark):
    rng = np.random.default_rng(14)
    for trial in range(200):
        n = int(rng.choice([2, 3, 4, 5, 50, 2204]))
        returns = rng.normal(0.0005, 0.01, n)
        benchmark = rng.normal(0.0004, 0.012, n)
        if trial % 10 == 1:
            returns[:] = 0.001  # no volatility
        if trial % 10 == 2:
            benchmark[:] = 0.0  # no benchmark variance: beta 0
        rf = float(rng.choice([0.0, 0.02]))
        got = portfolio_statistics(
            returns, BenchmarkReturns.of(benchmark) if with_benchmark else None, rf
        )
        variance = st.annual_variance(returns)
        expected = {
            "annual_variance": variance,
            "annual_standard_deviation": math.sqrt(variance),
            "sharpe": st.sharpe_ratio(returns, rf),
            "sortino": st.sortino_ratio(returns, rf),
            "probabilistic_sharpe": st.probabilistic_sharpe_ratio(returns, rf),
            "beta": st.beta(returns, benchmark) if with_benchmark else 0.0,
            "alpha": st.alpha(returns, benchmark, rf) if with_benchmark else 0.0,
            "treynor": st.treynor_ratio(returns, benchmark, rf) if with_benchmark else 0.0,
            "tracking_error": st.tracking_error(returns, benchmark) if with_benchmark else 0.0,
            "information_ratio": st.information_ratio(returns, benchmark)
            if with_benchmark
            else 0.0,
        }
        assert list(got) == list(expected)
        for key, value in expected.items():
            assert same(got[key], value), (key, trial)


def test_sample_variance_is_numpys():
    """numpy's two pairwise sums (the mean, the squared deviations): sizes past its blocks
    and buffer, magnitudes over 12 decades, NaN and infinities."""
    rng = np.random.default_rng(15)
    for n in [2, 3, 7, 8, 9, 16, 127, 128, 129, 1000, 2204, 8193, 20000]:
        values = rng.standard_normal(n) * 10.0 ** rng.integers(-6, 6, n) + rng.normal(0, 100)
        assert performance.sample_variance(values) == float(np.var(values, ddof=1)), n
        every_other = values[::2]  # a strided view, as a mask or a slice may give
        if every_other.size >= 2:
            assert performance.sample_variance(every_other) == float(np.var(every_other, ddof=1)), n
    for bad in (np.nan, np.inf):
        values = np.array([1.0, bad, 2.0])
        with np.errstate(invalid="ignore"):
            assert same(performance.sample_variance(values), float(np.var(values, ddof=1)))
    assert performance.sample_variance(np.array([1.0])) == 0.0


def test_mean_is_numpys():
    rng = np.random.default_rng(16)
    for n in [1, 2, 7, 9, 128, 129, 2204, 8193, 78757]:
        values = rng.standard_normal(n) * 10.0 ** rng.integers(-6, 6, n)
        assert loops.mean(values) == float(np.mean(values)), n
