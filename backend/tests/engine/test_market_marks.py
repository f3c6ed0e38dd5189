"""What every backtest on a market panel shares, kept by the panel once."""

from __future__ import annotations

import numpy as np

from tests.engine.engine_testkit import make_market


def test_marks_are_the_closes_forward_filled_once_per_panel():
    nan = float("nan")
    data = make_market({"A": [nan, 11.0, nan, 13.0], "B": [5.0, 6.0, 7.0, nan]})
    # Hand-filled: 0 before a first close, else the last close.
    np.testing.assert_array_equal(data.marks(), [[0.0, 5.0], [11.0, 6.0], [11.0, 7.0], [13.0, 7.0]])
    assert data.marks() is data.marks()  # the sweep's trials share one array
    complete = make_market({"A": [10.0, 11.0]})
    assert complete.marks() is complete.close  # nothing to fill: the closes themselves


def test_columns_of_finds_each_symbol_or_minus_one():
    """The vectorised lookup agrees with the panel's own column order, for symbols that sort
    next to each other (a prefix, another case) and for ones it lacks."""
    market = make_market({"SPY": [1.0, 2.0], "AB": [1.0, 1.0], "ABC": [3.0, 3.0], "A": [1.0, 1.0]})
    wanted = ["ABC", "A", "ZZZ", "SPY", "AB", "abc", "", "SPY"]
    assert market.columns_of(wanted).tolist() == [2, 3, -1, 0, 1, -1, -1, 0]
    assert market.columns_of(np.array(wanted)).tolist() == [2, 3, -1, 0, 1, -1, -1, 0]
    assert market.columns_of([]).tolist() == []
