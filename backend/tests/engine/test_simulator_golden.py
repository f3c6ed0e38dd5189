"""Hand-computed execution cases (every expected number is worked out in the comments)."""

from __future__ import annotations

import numpy as np
import pytest
from engine_testkit import make_market

from app.engine import run_backtest
from app.engine.simulator import ExecutionSettings, interactive_brokers_fees, target_quantities


def test_one_order_fills_at_next_open_with_buffer_and_minimum_fee():
    data = make_market({"A": [100.0, 102.0, 104.0]}, {"A": [99.0, 101.0, 103.0]})
    result = run_backtest(
        {
            "strategy": "set_holdings",
            "holdings": {"A": 1.0},
            "initial_cash": 10000,
            "benchmark": "",
        },
        data,
    )
    # Decided on day 0's close: floor(1.0 * 10000 * (1 - 0.0025) / 100) = floor(99.75) = 99.
    # Filled at day 1's open 101: value 9999, fee max($1, 99 * 0.005 = 0.495) = $1.
    assert len(result.orders) == 1
    order = result.orders.iloc[0]
    assert order["quantity"] == 99
    assert order["price"] == 101.0
    assert order["fee"] == 1.0
    assert order["fill_date"] == data.sessions[1]
    # Cash after the fill: 10000 - 9999 - 1 = 0; equity = 99 shares at the close.
    assert result.equity.iloc[0] == 10000.0
    assert result.equity.iloc[1] == pytest.approx(99 * 102.0)
    assert result.equity.iloc[2] == pytest.approx(99 * 104.0)
    assert result.statistics["Total Fees"] == "$1.00"
    assert result.statistics["Total Orders"] == "1"


def test_interactive_brokers_fee_minimum_and_cap():
    quantity = np.array([10.0, 100.0, 1000.0, 0.0])
    price = np.array([50.0, 0.5, 100.0, 10.0])
    fees = interactive_brokers_fees(quantity, price)
    # 10 sh: 0.05 -> $1 minimum.  100 sh at $0.50: $1 minimum capped at 1 % of $50 = $0.50.
    # 1000 sh: 1000 * 0.005 = $5 (cap 1 % of $100000 = $1000 does not bind).  No order: $0.
    assert fees.tolist() == [1.0, 0.5, 5.0, 0.0]


def test_free_portfolio_buffer_and_fractional_shares():
    weights = np.array([0.5, 0.5])
    price = np.array([100.0, 30.0])
    lean = target_quantities(weights, 100000.0, price, ExecutionSettings())
    # 0.5 * 99750 / 100 = 498.75 -> 498;  0.5 * 99750 / 30 = 1662.5 -> 1662.
    assert lean.tolist() == [498.0, 1662.0]
    no_buffer = target_quantities(
        weights, 100000.0, price, ExecutionSettings(free_portfolio_value_percentage=0.0)
    )
    assert no_buffer.tolist() == [500.0, 1666.0]
    fractional = target_quantities(
        weights, 100000.0, price, ExecutionSettings(fractional_shares=True)
    )
    assert fractional.tolist() == pytest.approx([498.75, 1662.5])


def test_dividend_paid_as_cash_in_raw_mode():
    closes = [100.0, 100.0, 99.0, 99.0]
    dividends = np.zeros((4, 1))
    dividends[2, 0] = 1.0
    adjusted = [99.0, 99.0, 99.0, 99.0]  # what an adjusted series would show
    data = make_market(
        {"A": adjusted},
        raw_close=np.array(closes)[:, None],
        raw_open=np.array(closes)[:, None],
        dividends=dividends,
    )
    params = {
        "strategy": "set_holdings",
        "holdings": {"A": 1.0},
        "initial_cash": 1000,
        "fill_model": "close",
        "fee_model": "none",
        "data_normalization": "raw",
        "benchmark": "",
    }
    result = run_backtest(params, data)
    # floor(1000 * 0.9975 / 100) = 9 shares bought at the raw close 100 -> cash 100.
    # Ex-date (day 2): price falls to 99 and 9 * $1 = $9 arrives as cash: 9 * 99 + 109 = 1000.
    assert result.holdings["A"].tolist() == [9, 9, 9, 9]
    assert result.equity.tolist() == pytest.approx([1000.0, 1000.0, 1000.0, 1000.0])
    adjusted_run = run_backtest({**params, "data_normalization": "adjusted"}, data)
    assert "A" in adjusted_run.holdings


def test_split_adjusted_and_raw_agree():
    # A 2-for-1 split on day 2: raw price halves, adjusted history is scaled by 0.5 before it.
    raw = np.array([[100.0], [104.0], [53.0], [55.0]])
    adjusted = np.array([[50.0], [52.0], [53.0], [55.0]])
    split = np.ones((4, 1))
    split[2, 0] = 2.0
    data = make_market(
        {"A": adjusted[:, 0].tolist()}, raw_close=raw, raw_open=raw, split_factor=split
    )
    common = {
        "strategy": "set_holdings",
        "holdings": {"A": 1.0},
        "initial_cash": 10000,
        "fill_model": "close",
        "fee_model": "none",
        "fractional_shares": True,
        "benchmark": "",
    }
    adjusted_run = run_backtest(common, data)
    raw_run = run_backtest({**common, "data_normalization": "raw"}, data)
    # Adjusted: 9975 / 50 = 199.5 shares held throughout; raw: 99.75 shares, 199.5 after the split.
    assert adjusted_run.holdings["A"].tolist() == pytest.approx([199.5] * 4)
    assert raw_run.holdings["A"].tolist() == pytest.approx([99.75, 99.75, 199.5, 199.5])
    np.testing.assert_allclose(raw_run.equity.to_numpy(), adjusted_run.equity.to_numpy())
    # Whole shares: the split leaves no fraction for an even holding.
    whole = run_backtest({**common, "fractional_shares": False, "data_normalization": "raw"}, data)
    assert whole.holdings["A"].tolist() == [99, 99, 198, 198]


def test_sells_before_buys_and_buys_scaled_to_cash():
    # Day 0 decides 100 % A; day 1 switches to 100 % B (target_weights). B gaps up at day 2's
    # open so the planned buy no longer fits the cash and is scaled down.
    data = make_market(
        {"A": [10.0, 10.0, 10.0, 10.0], "B": [10.0, 10.0, 10.0, 10.0]},
        {"A": [10.0, 10.0, 10.0, 10.0], "B": [10.0, 10.0, 12.0, 10.0]},
    )
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.csv"
        path.write_text(
            f"date,symbol,weight\n{data.sessions[0].date()},A,1.0\n{data.sessions[1].date()},B,1.0\n"
        )
        result = run_backtest(
            {
                "strategy": "target_weights",
                "weights_path": str(path),
                "initial_cash": 1000,
                "fee_model": "none",
                "benchmark": "",
            },
            data,
        )
    day2 = result.orders[result.orders["fill_date"] == data.sessions[2]]
    assert day2["symbol"].tolist() == ["A", "B"]  # the sell comes first
    # Day 2 open: selling 99 A at 10 brings cash back to 1000; the planned B buy (sized on
    # day 1's close of 10) costs more at the 12 open, so it shrinks to floor(1000 / 12) = 83.
    cash_before_buy = 1000 - 99 * 10 + 99 * 10
    bought = day2.iloc[1]["quantity"]
    assert bought == np.floor(cash_before_buy / 12)
    assert (result.holdings.to_numpy() >= 0).all()
