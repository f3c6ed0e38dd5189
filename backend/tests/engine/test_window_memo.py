"""What run_backtest shares between the trials of a sweep (memoised per market panel)."""

from __future__ import annotations

import numpy as np

from app.engine.backtest import project_interest_rates, run_backtest
from app.engine.performance import benchmark_bars, build_statistics, statistics_window
from tests.engine.engine_testkit import make_market


def test_marks_are_the_closes_forward_filled_once_per_panel():
    nan = float("nan")
    data = make_market({"A": [nan, 11.0, nan, 13.0], "B": [5.0, 6.0, 7.0, nan]})
    # Hand-filled: 0 before a first close, else the last close.
    np.testing.assert_array_equal(data.marks(), [[0.0, 5.0], [11.0, 6.0], [11.0, 7.0], [13.0, 7.0]])
    assert data.marks() is data.marks()  # the sweep's trials share one array
    complete = make_market({"A": [10.0, 11.0]})
    assert complete.marks() is complete.close  # nothing to fill: the closes themselves


def test_statistics_window_is_memoised_per_window_and_benchmark():
    rng = np.random.default_rng(4)
    closes = {name: list(50.0 * np.cumprod(1 + 0.02 * rng.standard_normal(60))) for name in "ABC"}
    data = make_market(closes)
    params = {"strategy": "set_holdings", "holdings": {"A": 0.5, "B": 0.5}, "fee_model": "none"}
    with_b = run_backtest({**params, "benchmark": "C"}, data)
    without = run_backtest({**params, "benchmark": ""}, data)
    later = run_backtest(
        {**params, "benchmark": "C", "backtest_start": str(data.sessions[20].date())}, data
    )
    assert with_b.statistics["Beta"] != "0" and without.statistics["Beta"] == "0"
    assert run_backtest({**params, "benchmark": "C"}, data).statistics == with_b.statistics
    assert later.statistics != with_b.statistics
    # The memoised window gives what build_statistics computes without it.
    result = run_backtest({**params, "benchmark": "C"}, data)
    output = result.equity.to_numpy()
    arguments = {
        "start_date": result.start_date,
        "sessions": result.equity.index,
        "equity": output,
        "start_equity": 100000.0,
        "benchmark": benchmark_bars(data, "C"),
        "risk_free_rate": None,
        "interest_rates": project_interest_rates(),
        "closing_pnl": np.array([]),
        "traded_value": np.zeros(len(output)),
        "total_orders": 2,
        "total_fees": 0.0,
        "synthetic": False,
    }
    window = statistics_window(
        result.start_date, result.equity.index, arguments["benchmark"], arguments["interest_rates"]
    )
    assert build_statistics(**arguments, window=window) == build_statistics(**arguments)
