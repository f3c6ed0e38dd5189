"""Hand-computed execution cases (every expected number is worked out in the comments)."""

from __future__ import annotations

import numpy as np
import pytest
from engine_testkit import make_market

from app.engine import run_backtest
from app.engine.orders import ExecutionSettings, interactive_brokers_fees, set_holdings_quantities


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


def test_interactive_brokers_fee_minimum_then_cap():
    """LEAN ``InteractiveBrokersFeeHelper.CalculateEquityFee``: fee = 0.005 * shares; if that
    is under $1 the fee is $1 (the cap does not apply), else if it is over 0.5 % of the
    order's value it is 0.5 % of the value."""
    quantity = np.array([10.0, 100.0, 1000.0, -2000.0, 0.0])
    price = np.array([50.0, 0.5, 100.0, 0.40, 10.0])
    fees = interactive_brokers_fees(quantity, price)
    # 10 sh: $0.05 < $1 -> $1.  100 sh at $0.50: $0.50 < $1 -> $1, although 0.5 % of the $50
    # order is $0.25 (the old rule charged $0.50 here).  1000 sh: $5 (cap $500 not binding).
    # A 2000-share sell at $0.40: $10 > 0.5 % of $800 = $4 -> $4.  No order: $0.
    assert fees.tolist() == [1.0, 1.0, 5.0, 4.0, 0.0]


def sized(weights, held, price, value=100000.0, leverage=2.0, **settings):
    n = len(weights)
    return set_holdings_quantities(
        np.asarray(weights, dtype=float),
        np.asarray(held, dtype=float),
        np.asarray(price, dtype=float),
        value,
        np.full(n, leverage),
        ExecutionSettings(**settings),
    ).tolist()


def test_set_holdings_sizing_with_buffer_and_fee():
    # A: target 0.5 * (100000 - 250) = 49875 -> floor(498.75) = 498 ($49800); fee $2.49 moves
    # the target to 0.5 * (100000 - 2.49 - 250) = 49873.755, still above $49800: 498.
    # B: 49875 / 30 -> 1662 ($49860); fee $8.31 -> target 49870.845 >= 49860: 1662.
    assert sized([0.5, 0.5], [0, 0], [100.0, 30.0]) == [498.0, 1662.0]
    # Without the buffer: A 500 sh = $50000, fee $2.50 -> target 0.5 * 99997.5 = 49998.75 <
    # 50000, one share less: 499. B 1666 sh = $49980, fee $8.33 -> 49995.835 >= 49980: 1666.
    assert sized([0.5, 0.5], [0, 0], [100.0, 30.0], free_portfolio_value_percentage=0) == [
        499.0,
        1666.0,
    ]
    assert sized([0.5, 0.5], [0, 0], [100.0, 30.0], fractional_shares=True) == pytest.approx(
        [498.75, 1662.5]
    )


def test_set_holdings_quantity_reduced_while_cost_plus_fee_exceeds_target():
    # 100 % at $1 of $100000: target 99750 -> 99750 shares; fee 0.005 * 99750 = $498.75 (= the
    # 0.5 % cap) -> target 100000 - 498.75 - 250 = 99251.25 < 99750: reduce by
    # ceil(99750 - 99251.25) = 499 to 99251; fee $496.255 -> target 99253.745 >= 99251. Done.
    assert sized([1.0], [0], [1.0]) == [99251.0]


def test_minimum_order_margin_and_sells():
    # Holding 100 sh at $100 of $100000: a target of 10.2 % is $10174.50, a change of $174.50,
    # margin $87.25 at leverage 2 < 0.1 % of $100000 = $100: no order.  10.3 %: $10274.25,
    # margin $137.13 >= $100: floor(274.25 / 100) = 2 shares (fee $1 leaves the target at
    # $10274.147 >= $10200).
    assert sized([0.102], [100], [100.0]) == [0.0]
    assert sized([0.103], [100], [100.0]) == [2.0]
    # At leverage 1 the same 10.2 % change is $174.50 of margin >= $100: 1 share.
    assert sized([0.102], [100], [100.0], leverage=1.0) == [1.0]
    # Down to 5 %: target $4987.50, floor(5012.5 / 100) = 50 leaves $5000 > target, so LEAN
    # sells one more (rounding away from the target): -51; fee $1 -> $4987.45 >= $4900.
    assert sized([0.05], [100], [100.0]) == [-51.0]
    # A zero weight closes the position; a negative weight is a short sized like a long.
    assert sized([0.0], [100], [100.0]) == [-100.0]
    assert sized([-0.5], [0], [100.0]) == [-498.0]


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


def rotation(tmp_path, **extra):
    # Day 0 decides 100 % A; day 1 switches to 100 % B. B gaps up to 12 at day 2's open.
    data = make_market(
        {"A": [10.0, 10.0, 10.0, 10.0], "B": [10.0, 10.0, 10.0, 10.0]},
        {"A": [10.0, 10.0, 10.0, 10.0], "B": [10.0, 10.0, 12.0, 10.0]},
    )
    path = tmp_path / "w.csv"
    path.write_text(
        f"date,symbol,weight\n{data.sessions[0].date()},A,1.0\n{data.sessions[1].date()},B,1.0\n"
    )
    params = {
        "strategy": "target_weights",
        "weights_path": str(path),
        "initial_cash": 1000,
        "fee_model": "none",
        "benchmark": "",
    }
    return data, run_backtest({**params, **extra}, data)


def test_sells_before_buys_and_margin_not_cash_limits_buys(tmp_path):
    data, result = rotation(tmp_path)
    day2 = result.orders[result.orders["fill_date"] == data.sessions[2]]
    assert day2["symbol"].tolist() == ["A", "B"]  # the sell comes first
    # Day 1 (value $1000): A to 0 sells 99; B: floor(997.5 / 10) = 99. At day 2's open the sale
    # brings cash to 10 + 990 = 1000 and the 99 B at 12 cost 1188: LEAN's margin account
    # (leverage 2) fills it in full and cash goes to -188.
    assert day2["quantity"].tolist() == [-99.0, 99.0]
    assert result.holdings["B"].iloc[-1] == 99
    assert result.equity.iloc[2] == pytest.approx(-188 + 99 * 10.0)


def test_leverage_one_makes_the_rotation_buy_invalid(tmp_path):
    _, result = rotation(tmp_path, leverage=1)
    # At day 1's close A still holds $990 of the $1000 (its sale only fills tomorrow), so the B
    # order needs $990 of margin with $10 left: invalid. It counts as an order, never fills.
    assert result.orders["symbol"].tolist() == ["A", "A"]
    assert result.statistics["Total Orders"] == "3"
    assert result.holdings.iloc[-1].tolist() == [0, 0]
    assert result.equity.iloc[-1] == pytest.approx(1000.0)
