"""What run_backtest shares between the trials of a sweep (memoised per market panel)."""

from __future__ import annotations

import numpy as np
import pytest

from app.engine.backtest import window_prices
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
