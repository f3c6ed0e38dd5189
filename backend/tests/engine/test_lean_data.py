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
    """LEAN's BasicTemplateDailyAlgorithm (every printed statistic is checked by
    test_lean_regressions.py). The order by hand from the fixture bars: decided on
    2013-10-08's close, floor(100000 * 0.9975 / close) = 697 shares; filled at 2013-10-09's
    open; fee 697 * $0.005 = $3.485 (above the $1 minimum), printed "$3.49" (half away from
    zero)."""
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
    assert len(result.orders) == 1
    assert order["quantity"] == expected_quantity == 697
    assert order["price"] == pytest.approx(lean.open[decision + 1, column])
    assert order["fee"] == pytest.approx(3.485)
    assert result.statistics["Total Fees"] == "$3.49"
    assert len(result.equity) == 8
    assert result.metrics["synthetic"] is False


def test_map_file_renames_goocv_to_goog(lean):
    """map_files/goog.csv: the class C share traded as GOOCV up to 2014-04-02 (no goocv.zip in
    the sample), then as GOOG, so GOOG's history starts on 2014-04-03 and the class A bars
    that goog.zip holds before that date belong to GOOGL, not to GOOG."""
    column = lean.column("GOOG")
    first = lean.sessions[np.isfinite(lean.raw_close[:, column])][0]
    assert first == pd.Timestamp("2014-04-03")
    # 20140403 00:00,5698500,... -> $569.85 open.
    assert lean.raw_open[lean.sessions.get_loc(first), column] == pytest.approx(569.85)


def test_hourly_benchmark_and_interest_rates_are_read(lean):
    ends, closes = lean.hourly_close["SPY"]
    # First hourly bar "19980102 09:00,...,970300" ends 10:00, close $97.03 x price factor.
    assert ends[0] == np.datetime64("1998-01-02T10:00:00")
    assert closes[0] == pytest.approx(97.03 * 0.6566606)
    dates, rates = lean.interest_rates
    # First row of interest-rate.csv: 2003-01-09, 2.25 (percent).
    assert dates[0] == np.datetime64("2003-01-09") and rates[0] == pytest.approx(0.0225)


@pytest.mark.shared
@pytest.mark.skipif(not SHARED_LEAN.is_dir(), reason="../shared/lean-data is absent")
def test_whole_shared_lean_folder_loads():
    data = load_market_data("lean", SHARED_LEAN)
    assert {"SPY", "AAPL", "IBM"} <= set(data.symbols)
    assert data.sessions[0] == pd.Timestamp("1998-01-02")
