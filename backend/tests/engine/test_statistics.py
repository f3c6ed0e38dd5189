"""LEAN-convention statistics on hand-checkable equity curves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.engine import lean_series as ls
from app.engine import performance
from app.engine import statistics as st


def test_max_drawdown_and_cagr_by_hand():
    equity = np.array([100.0, 110.0, 99.0, 121.0])
    # Peak 110, trough 99: 1 - 99/110 = 0.1 exactly.
    assert st.max_drawdown(equity) == pytest.approx(0.1)
    # One year from 100 to 121: 21 %; two years: sqrt(1.21) - 1 = 10 %.
    assert st.cagr(equity, 1.0) == pytest.approx(0.21)
    assert st.cagr(equity, 2.0) == pytest.approx(0.10)
    assert st.compounding_annual_return(100.0, 121.0, 0.0) == 0.0


def test_lean_samples_every_midnight_and_the_last_close():
    # Start Tue 2013-10-08; sessions 10-08, 10-09, 10-10, 10-11 (Fri), 10-14 (Mon).
    sessions = np.array(
        ["2013-10-08", "2013-10-09", "2013-10-10", "2013-10-11", "2013-10-14"],
        dtype="datetime64[D]",
    )
    closes = np.array([100.0, 101.0, 102.0, 103.0, 104.123456])
    samples = ls.equity_samples(np.datetime64("2013-10-08"), sessions, closes, 100.0)
    # 10-08 00:00 start value; midnights 10-09 .. 10-14 carry the previous close (the weekend
    # repeats Friday's); then 10-14 16:00 with the last close, rounded to 4 decimals.
    assert samples.values.tolist() == [100, 100, 101, 102, 103, 103, 103, 104.1235]
    assert str(samples.times[-1]) == "2013-10-14T16:00:00"
    # CAGR's span: 6 days 16 hours.
    span = (samples.times[-1] - samples.times[0]) / np.timedelta64(1, "h")
    assert span == 6 * 24 + 16


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
    days = np.array(
        ["2020-01-01", "2020-01-02", "2020-01-10", "2020-01-20T16:00"], dtype="datetime64[s]"
    )
    # Below the peak from 01-02, back at it on 01-10: 8 days.
    assert ls.drawdown_recovery_days(np.array([100, 90, 100, 95.0]), days) == 8
    # Below from 01-10, back above on 01-20 16:00: 10 days 16 hours, rounded up to 11.
    assert ls.drawdown_recovery_days(np.array([100, 101, 99, 103.0]), days) == 11
    assert ls.drawdown_recovery_days(np.array([100, 101, 102, 103.0]), days) == 0


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
    # LEAN's printed forms (lean-statistics.md): percents keep their decimals, money rounds
    # half away from zero, ratios half to even.
    assert st.format_percent(0.9671) == "96.710%"
    assert st.format_percent(0.201, 2) == "20.10%"
    assert st.format_money(697 * 0.005) == "$3.49"
    assert st.format_money(-2.56) == "-$2.56"
    assert st.format_ratio(0.0125, 3) == "0.012"
    assert st.format_ratio(-19.0) == "-19"
    assert st.format_drawdown(0.0) == "0%"


def drawdown_recovery_days_loop(values, times) -> int:
    """The sample-by-sample walk ls.drawdown_recovery_days replaced (its reference)."""
    longest, peak_value, first_below = 0, -np.inf, None
    for value, time in zip(np.asarray(values).tolist(), np.asarray(times), strict=True):
        if value >= peak_value:
            if first_below is not None:
                days = (time - first_below) / np.timedelta64(1, "s") / 86400.0
                longest = max(longest, math.ceil(days))
            peak_value, first_below = value, None
        elif first_below is None:
            first_below = time
    return longest


def test_drawdown_recovery_equals_the_sample_by_sample_walk():
    rng = np.random.default_rng(2)
    for trial in range(300):
        n = int(rng.integers(1, 60))
        # Few distinct levels, so ties with the peak are common; some NaN; the last sample a
        # session close (16:00), like LEAN's samples.
        values = rng.integers(0, 6, n).astype(float)
        values[rng.random(n) < 0.05] = np.nan
        days = np.cumsum(rng.integers(1, 4, n)).astype("datetime64[D]").astype("datetime64[s]")
        days[-1] += np.timedelta64(16 * 3600, "s")
        expected = drawdown_recovery_days_loop(values, days)
        assert ls.drawdown_recovery_days(values, days) == expected, trial


def trade_statistics_numpy(realized_pnl, start_equity) -> dict[str, float]:
    """LEAN's trade statistics as numpy reads them (the reference of st.trade_statistics
    and of the compiled performance.trade_statistics)."""
    pnl = np.asarray(realized_pnl, dtype=float)
    if pnl.size == 0 or start_equity == 0:
        return dict.fromkeys(st.TRADE_STATISTICS, 0.0)
    capital_before = start_equity + np.concatenate(([0.0], np.cumsum(pnl)[:-1]))
    relative = pnl / capital_before
    wins = pnl > 0
    average_win = float(relative[wins].mean()) if wins.any() else 0.0
    average_loss = float(relative[~wins].mean()) if (~wins).any() else 0.0
    profit_loss_ratio = average_win / abs(average_loss) if average_loss != 0 else 0.0
    win_rate = float(wins.mean())
    loss_rate = 1.0 - win_rate
    return {
        "average_win": average_win,
        "average_loss": average_loss,
        "profit_loss_ratio": profit_loss_ratio,
        "win_rate": win_rate,
        "loss_rate": loss_rate,
        "expectancy": win_rate * profit_loss_ratio - loss_rate,
    }


def test_trade_statistics_equal_the_numpy_definition_bit_for_bit():
    """Running capital summed left to right as np.cumsum, each group's mean in numpy's
    pairwise order: sizes past numpy's blocks (8, 128) and buffer (8192), P&Ls over 12
    decades, all wins, all losses, zeros (a zero P&L is not a win), a capital reaching 0."""
    rng = np.random.default_rng(6)
    cases = [
        (np.array([]), 1e5),
        (np.array([5.0]), 0.0),
        (np.array([100.0, -200.0, 3.0, -1.0]), 100.0),
    ]
    for n in [1, 2, 7, 8, 9, 127, 129, 1000, 8193, 78757]:
        pnl = rng.standard_normal(n) * 10.0 ** rng.integers(-6, 6, n)
        cases += [(pnl, 1e5), (np.abs(pnl), 1e5), (-np.abs(pnl), 1e6), (pnl, 37)]
        cases.append((np.where(rng.random(n) < 0.3, 0.0, pnl), 1e5))
    cases.append((np.zeros(50), 1e5))
    for pnl, start in cases:
        with np.errstate(divide="ignore", invalid="ignore"):
            expected = trade_statistics_numpy(pnl, start)
            numpy_got = st.trade_statistics(pnl, start)
        for got in (performance.trade_statistics(pnl, start), numpy_got):
            assert list(got) == list(expected)
            for key, value in expected.items():
                assert got[key] == value or (np.isnan(value) and np.isnan(got[key])), (key, pnl)
