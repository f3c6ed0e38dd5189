"""What run_backtest shares between the trials of a sweep (memoised per market panel)."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine.backtest import project_interest_rates, run_backtest, window_prices
from app.engine.performance import benchmark_bars, build_statistics, statistics_window
from tests.engine.engine_testkit import make_market


def test_window_prices_are_the_panels_prices_shared_read_only():
    data = make_market(
        {"A": [10.0, 11.0, 12.0, 13.0], "B": [5.0, 6.0, 7.0, 8.0], "C": [1.0, 2.0, 3.0, 4.0]},
        {"A": [9.0, 10.0, 11.0, 12.0], "B": [4.0, 5.0, 6.0, 7.0], "C": [0.5, 1.5, 2.5, 3.5]},
    )
    columns = np.array([2, 0])
    open_price, close_price = window_prices(data, False, 1, 3, columns)
    np.testing.assert_array_equal(close_price, data.close[1:4][:, [2, 0]])
    np.testing.assert_array_equal(open_price, data.open[1:4][:, [2, 0]])
    # The next trial of a sweep gets the same arrays, which no run can change.
    assert window_prices(data, False, 1, 3, columns.copy())[1] is close_price
    with pytest.raises(ValueError, match="read-only"):
        close_price[0, 0] = 0.0
    # Another window, other columns or raw prices are other entries.
    assert window_prices(data, False, 0, 3, columns)[1].shape == (4, 2)
    np.testing.assert_array_equal(
        window_prices(data, False, 1, 3, np.array([0, 2]))[1][:, 0], [11.0, 12.0, 13.0]
    )
    np.testing.assert_array_equal(
        window_prices(data, True, 1, 3, columns)[1], data.raw_close[1:4][:, [2, 0]]
    )


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
