"""LEAN's execution rules at the run level, every expected number worked out by hand in the
comments (DESIGN §5): shorts, splits and dividends for shorts, delisting, the set_holdings
contract (rebalance, schedule, leverage) and target_weights dates off the calendar."""

from __future__ import annotations

import numpy as np
import pytest
from engine_testkit import make_market

from app.engine import BacktestInputError, run_backtest

NO_BENCHMARK = {"benchmark": "", "fee_model": "none"}


def test_a_short_at_a_flat_price_realizes_nothing_and_covering_books_the_move():
    # Short 50 % of $10000 at $100: target -0.5 * 9975 = -4987.5 -> -49 shares (fills at the
    # next open, $100). Flat prices: equity stays $10000 and no P&L is realized.
    flat = make_market({"A": [100.0] * 4})
    result = run_backtest(
        {
            "strategy": "set_holdings",
            "holdings": {"A": -0.5},
            "initial_cash": 10000,
            **NO_BENCHMARK,
        },
        flat,
    )
    assert result.orders["quantity"].tolist() == [-49.0]
    assert result.equity.tolist() == pytest.approx([10000.0] * 4)
    assert result.statistics["Win Rate"] == "0%" and result.statistics["Loss Rate"] == "0%"
    # Short 49 at 100, then A falls to 90 and a target of 0 covers at the next open (90):
    # realized (90 - 100) * -49 = +$490, a win of 490 / 10000 = 4.90 % of capital.
    falling = make_market({"A": [100.0, 100.0, 90.0, 90.0, 90.0]})
    path_rows = [(0, -0.5), (2, 0.0)]
    result = run_weights(falling, path_rows, initial_cash=10000)
    assert result.orders["quantity"].tolist() == [-49.0, 49.0]
    assert result.equity.iloc[-1] == pytest.approx(10490.0)
    assert result.statistics["Win Rate"] == "100%"
    assert result.statistics["Average Win"] == "4.90%"


def run_weights(data, rows_and_weights, tmp_path=None, **extra):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.csv"
        lines = ["date,symbol,weight"] + [
            f"{data.sessions[row].date()},{data.symbols[0]},{weight}"
            for row, weight in rows_and_weights
        ]
        path.write_text("\n".join(lines) + "\n")
        return run_backtest(
            {
                "strategy": "target_weights",
                "weights_path": str(path),
                "allow_leverage": True,  # target_weights asks for it before shorting
                **NO_BENCHMARK,
                **extra,
            },
            data,
        )


def test_split_and_dividend_for_a_short_in_raw_mode():
    # Short -0.5 of $10000 at $100 (fills day 1 at 100): -49 shares, cash 10000 + 4900.
    # Day 2: a $1 dividend is owed by the short: cash -49. Day 3: 2-for-1 split, -98 shares at
    # $50 (raw). Equity day 3 = 14900 - 49 - 98 * 50 = 9951.
    raw = np.array([[100.0], [100.0], [100.0], [50.0]])
    dividends = np.zeros((4, 1))
    dividends[2, 0] = 1.0
    split = np.ones((4, 1))
    split[3, 0] = 2.0
    data = make_market(
        {"A": [50.0, 50.0, 50.0, 50.0]},
        raw_close=raw,
        raw_open=raw,
        dividends=dividends,
        split_factor=split,
    )
    result = run_backtest(
        {
            "strategy": "set_holdings",
            "holdings": {"A": -0.5},
            "initial_cash": 10000,
            "data_normalization": "raw",
            **NO_BENCHMARK,
        },
        data,
    )
    assert result.holdings["A"].tolist() == [0, -49, -49, -98]
    assert result.equity.tolist() == pytest.approx([10000, 10000, 9951, 9951])


def test_a_held_symbol_whose_data_ends_is_closed_at_its_last_close():
    # A trades until day 2 (close 11), then its data ends; B goes on. 100 % A at day 0's close
    # 10: floor(997.5 / 10) = 99 shares at day 1's open 10. Day 2: delisted, sold at 11:
    # cash 10 + 1089 = 1099, kept to the end. The order count includes the close-out.
    nan = np.nan
    data = make_market(
        {"A": [10.0, 10.0, 11.0, nan, nan], "B": [5.0, 5.0, 5.0, 5.0, 5.0]},
        {"A": [10.0, 10.0, 11.0, nan, nan], "B": [5.0, 5.0, 5.0, 5.0, 5.0]},
    )
    result = run_backtest(
        {"strategy": "set_holdings", "holdings": {"A": 1.0}, "initial_cash": 1000, **NO_BENCHMARK},
        data,
    )
    assert result.orders["quantity"].tolist() == [99.0, -99.0]
    assert result.orders["price"].tolist() == [10.0, 11.0]
    assert result.equity.tolist() == pytest.approx([1000, 1000, 1099, 1099, 1099])
    assert result.statistics["Total Orders"] == "2"


def test_every_bar_trades_only_past_the_minimum_order_margin():
    # 100 % A at $1000 cash, fees off: day 0 buys floor(997.5 / 10) = 99. A then rises 10 %
    # a day. Day 1 (close 11): value 10 + 99 * 11 = 1099, target 1096.25, held 1089: change
    # $7.25, margin $3.63 >= 0.1 % of 1099 = $1.10 -> floor(7.25 / 11) = 0 shares: no order.
    # Day 2 (12.1): value 1207.9, target 1204.88, held 1197.9: change 6.98 < 12.1: no order.
    data = make_market({"A": [10.0, 11.0, 12.1, 13.31]})
    result = run_backtest(
        {
            "strategy": "set_holdings",
            "holdings": {"A": 1.0},
            "rebalance": "every_bar",
            "initial_cash": 1000,
            "fill_model": "close",
            **NO_BENCHMARK,
        },
        data,
    )
    assert result.orders["quantity"].tolist() == [99.0]


def test_schedule_adds_symbols_not_held_and_leverage_one_blocks_the_overdraft():
    # A 60 % from the start; B 60 % from day 2 (not held then); fills at the close, no fees.
    # A: floor(0.6 * 997.5 / 10) = 59 shares ($590). Day 2, value $1000: B also 59 ($590).
    # Leverage 2: A uses $295 of margin, $705 is left >= B's $295: B fills (118 % invested).
    # Leverage 1: A uses $590, $410 is left < B's $590: the B order is invalid.
    data = make_market({"A": [10.0] * 5, "B": [10.0] * 5})
    params = {
        "strategy": "set_holdings",
        "holdings": {"A": 0.6},
        "schedule": [{"from": str(data.sessions[2].date()), "holdings": {"B": 0.6}}],
        "initial_cash": 1000,
        "fill_model": "close",
        **NO_BENCHMARK,
    }
    levered = run_backtest(params, data)
    assert levered.orders["symbol"].tolist() == ["A", "B"]
    assert levered.orders["quantity"].tolist() == [59.0, 59.0]
    assert levered.holdings.iloc[-1].tolist() == [59, 59]
    strict = run_backtest({**params, "leverage": 1}, data)
    assert strict.orders["symbol"].tolist() == ["A"]
    assert strict.statistics["Total Orders"] == "2"  # the invalid B order counts


def test_target_weights_date_off_the_calendar_is_an_error(tmp_path):
    data = make_market({"A": [10.0, 11.0, 12.0]})  # 2021-01-04 .. 2021-01-06
    path = tmp_path / "w.csv"
    path.write_text("date,symbol,weight\n2021-01-02,A,1.0\n")  # a Saturday
    with pytest.raises(BacktestInputError, match="2021-01-02 is not a trading session"):
        run_backtest({"strategy": "target_weights", "weights_path": str(path)}, data)


def test_parquet_store_runs_use_the_project_interest_rates_and_its_spy(small_market_dir):
    """The parquet store has no interest-rate file: the project's copy of LEAN's is used.
    Window 2020-03-02 .. 2020-03-20: samples dated 03-02 and 03-03 at 2.25 % (row 2019-10-31),
    03-04 .. 03-15 at 1.75 % (row 2020-03-04, 12 days), 03-16 .. 03-20 plus the final close
    at 0.25 % (row 2020-03-16, 6 samples): (2 * 2.25 + 12 * 1.75 + 6 * 0.25) / 20 = 1.35 %."""
    from app.engine.store import read_parquet_store

    data = read_parquet_store(small_market_dir)
    params = {
        "strategy": "set_holdings",
        "holdings": {"TLT": 1.0},
        "backtest_start": "2020-03-02",
        "backtest_end": "2020-03-20",
    }
    result = run_backtest(params, data)
    assert result.metrics["risk_free_rate"] == pytest.approx(0.0135, abs=1e-15)
    # SPY is in the store, so the benchmark statistics are computed from its daily closes.
    assert result.statistics["Beta"] != "0"
    # Without the benchmark symbol they take LEAN's neutral 0.
    no_benchmark = run_backtest({**params, "benchmark": "NOPE"}, data)
    assert [no_benchmark.statistics[k] for k in ("Alpha", "Beta", "Tracking Error")] == [
        "0",
        "0",
        "0",
    ]
    # An explicit risk_free_rate overrides the file.
    fixed = run_backtest({**params, "risk_free_rate": 0.0}, data)
    assert fixed.metrics["risk_free_rate"] == 0.0
