"""LEAN-convention statistics on hand-checkable equity curves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.engine import statistics as st


def test_max_drawdown_and_cagr_by_hand():
    equity = np.array([100.0, 110.0, 99.0, 121.0])
    # Peak 110, trough 99: 1 - 99/110 = 0.1 exactly.
    assert st.max_drawdown(equity) == pytest.approx(0.1)
    # One year from 100 to 121: 21 %; two years: sqrt(1.21) - 1 = 10 %.
    assert st.cagr(equity, 1.0) == pytest.approx(0.21)
    assert st.cagr(equity, 2.0) == pytest.approx(0.10)
    assert st.compounding_annual_return(100.0, 121.0, 0.0) == 0.0


def test_lean_years_count_the_session_close():
    # Start 2013-10-08 00:00, last close 2013-10-17 16:00: 9 days 16 hours = 9.6667 / 365 years.
    years = st.lean_equity_years(np.datetime64("2013-10-08"), np.datetime64("2013-10-17"))
    assert years == pytest.approx((9 + 16 / 24) / 365)


def test_sharpe_sortino_volatility_by_hand():
    returns = np.array([0.01, -0.02, 0.03, 0.0])
    mean = 0.005
    sample_var = ((0.005**2) + (0.025**2) + (0.025**2) + (0.005**2)) / 3
    annual_perf = (1 + mean) ** 252 - 1
    assert st.annual_variance(returns) == pytest.approx(sample_var * 252)
    assert st.sharpe_ratio(returns) == pytest.approx(annual_perf / math.sqrt(sample_var * 252))
    # One negative return: sample variance of a single value is 0 -> Sortino 0 (LEAN alike).
    assert st.sortino_ratio(returns) == 0.0
    two_down = np.array([0.01, -0.02, 0.03, -0.01])
    downside_var = ((-0.02 + 0.015) ** 2 + (-0.01 + 0.015) ** 2) / 1
    assert st.annual_downside_deviation(two_down) == pytest.approx(math.sqrt(downside_var * 252))


def test_beta_of_benchmark_with_itself_is_one():
    rng = np.random.default_rng(0)
    bench = rng.normal(0, 0.01, 200)
    assert st.beta(bench, bench) == pytest.approx(1.0)
    assert st.tracking_error(bench, bench) == 0.0
    assert st.alpha(bench, bench) == pytest.approx(0.0, abs=1e-12)


def test_trade_statistics_follow_lean_running_capital():
    # Start 1000: +100 (10 % of 1000), -55 (5 % of 1100), +105 (10 % of 1045).
    stats = st.trade_statistics(np.array([100.0, -55.0, 104.5]), 1000.0)
    assert stats["win_rate"] == pytest.approx(2 / 3)
    assert stats["average_win"] == pytest.approx(0.1)
    assert stats["average_loss"] == pytest.approx(-0.05)
    assert stats["profit_loss_ratio"] == pytest.approx(2.0)
    assert stats["expectancy"] == pytest.approx(2 / 3 * 2 - 1 / 3)


def test_drawdown_recovery_days():
    days = np.array(["2020-01-01", "2020-01-02", "2020-01-10", "2020-01-20"], dtype="datetime64[D]")
    assert st.drawdown_recovery_days(np.array([100, 90, 100, 95.0]), days) == 9
    assert st.drawdown_recovery_days(np.array([100, 101, 102, 103.0]), days) == 0


def test_lean_string_formats():
    # Formats as in LEAN's regression statistics ("246.546%", "1.200%", "$3.45", "103463.69").
    assert st.format_percent(2.465456) == "246.546%"
    assert st.format_percent(0.0) == "0%"
    assert st.format_drawdown(0.01204) == "1.200%"
    assert st.format_money(3.449) == "$3.45"
    assert st.format_equity(103463.6912) == "103463.69"
    assert st.format_equity(100000.0) == "100000"
    assert st.format_ratio(19.09412) == "19.094"
    assert st.format_ratio(float("nan")) == "0"
