"""The LEAN reader and a LEAN-like run over the LEAN sample data copied to tests/fixtures/lean."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from engine_testkit import LEAN_FIXTURE

from app.engine import load_market_data, run_backtest

SHARED_LEAN = Path(__file__).resolve().parents[4] / "shared" / "lean-data"


@pytest.fixture(scope="module")
def lean():
    return load_market_data("lean", LEAN_FIXTURE)


def test_reader_scales_prices_and_applies_factor_rows(lean):
    column = lean.column("SPY")
    row = lean.sessions.get_loc(pd.Timestamp("1998-01-02"))
    # First CSV line: 19980102 00:00,973100,975300,965300,973600 -> raw close $97.36; the first
    # factor row dated >= 1998-01-02 is 19980102 (price factor 0.6566606, split 1).
    assert lean.raw_close[row, column] == pytest.approx(97.36)
    assert lean.close[row, column] == pytest.approx(97.36 * 0.6566606)


def test_aapl_split_and_dividend_from_factor_file(lean):
    column = lean.column("AAPL")
    ex_split = lean.sessions.get_loc(pd.Timestamp("2020-08-31"))
    # Row 20200828 has split factor 0.25, the next row 1: 4 new shares per old from 08-31.
    assert lean.split_factor[ex_split, column] == 4.0
    assert lean.split_factor[ex_split - 1, column] == 1.0
    # Row 20200806 (price factor 0.9949942, reference 455.61) then 0.9967882:
    # 455.61 * (1 - 0.9949942 / 0.9967882) = 0.8197 -> $0.82 on 2020-08-07.
    ex_div = lean.sessions.get_loc(pd.Timestamp("2020-08-07"))
    assert lean.dividends[ex_div, column] == pytest.approx(0.82)
    # The adjusted series has no jump at the split.
    jump = lean.close[ex_split, column] / lean.close[ex_split - 1, column]
    assert 0.9 < jump < 1.1


def test_spy_set_holdings_like_lean_basic_template_daily(lean):
    """LEAN's BasicTemplateDailyAlgorithm (SPY 100 %, daily, 2013-10-08 .. 2013-10-17, $100000)
    reports Total Orders 1, Total Fees $3.45, End Equity 103463.69, CAGR 246.546 %, Drawdown
    1.200 % (Algorithm.CSharp/BasicTemplateDailyAlgorithm.cs). Our run agrees on the order
    count and the fee model but not on the fill: we fill at 2013-10-09's open (decision on
    10-08's close) on today's factor file, so we buy 697 shares ($3.485 fee) where LEAN's run
    bought 690 ($3.45); the equity path therefore differs. The numbers below are ours,
    checked by hand against the fixture bars."""
    result = run_backtest(
        {
            "strategy": "set_holdings",
            "holdings": {"SPY": 1.0},
            "backtest_start": "2013-10-08",
            "backtest_end": "2013-10-17",
            "initial_cash": 100000,
        },
        lean,
    )
    column = lean.column("SPY")
    decision = lean.sessions.get_loc(pd.Timestamp("2013-10-08"))
    expected_quantity = np.floor(100000 * 0.9975 / lean.close[decision, column])
    order = result.orders.iloc[0]
    assert result.statistics["Total Orders"] == "1"
    assert order["quantity"] == expected_quantity == 697
    assert order["price"] == pytest.approx(lean.open[decision + 1, column])
    assert order["fee"] == pytest.approx(697 * 0.005)
    assert result.statistics["Total Fees"] == "$3.48"
    assert result.statistics["Start Equity"] == "100000"
    assert result.statistics["End Equity"] == "104486.22"
    assert len(result.equity) == 8
    assert result.metrics["synthetic"] is False


@pytest.mark.shared
@pytest.mark.skipif(not SHARED_LEAN.is_dir(), reason="../shared/lean-data is absent")
def test_whole_shared_lean_folder_loads():
    data = load_market_data("lean", SHARED_LEAN)
    assert {"SPY", "AAPL", "IBM"} <= set(data.symbols)
    assert data.sessions[0] == pd.Timestamp("1998-01-02")
