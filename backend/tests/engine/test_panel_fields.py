"""A backtest worker holds only the panel fields backtests read (``panel_fields``): a
backtest on those gives the same result as on the whole panel, in both normalizations, and
the per-process cache loads more only when a task asks for more."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app.engine import get_market_data, panel_fields, run_backtest
from app.engine.store import write_parquet_store

WINDOW = {"backtest_start": "2021-01-04", "backtest_end": "2022-12-30"}


def strategy_params(name: str, small_synth, small_scores_path, tmp_path) -> dict:
    if name == "ml_score_vol_target":
        return {"strategy": name, "score_csv_path": str(small_scores_path), "top_n": 5}
    if name == "set_holdings":
        return {"strategy": name, "holdings": {"SPY": 0.5, "TLT": 0.3, "S0036": 0.2}}
    path = tmp_path / "weights.csv"
    days = small_synth.sessions[(small_synth.sessions >= "2021-01-04")][::21][:20]
    rows = [
        f"{day.date()},{symbol},{weight}"
        for day in days
        for symbol, weight in (
            ("SPY", 0.6),
            ("S0036", 0.3),
        )
    ]
    path.write_text("date,symbol,weight\n" + "\n".join(rows) + "\n")
    return {"strategy": name, "weights_path": str(path)}


@pytest.mark.parametrize("normalization", ["adjusted", "raw"])
@pytest.mark.parametrize("strategy", ["ml_score_vol_target", "set_holdings", "target_weights"])
def test_a_backtest_on_its_fields_alone_matches_the_whole_panel(
    strategy, normalization, small_synth, small_scores_path, tmp_path
):
    params = strategy_params(strategy, small_synth, small_scores_path, tmp_path)
    params = {**params, **WINDOW, "data_normalization": normalization}
    panel = small_synth.only(panel_fields(params))
    assert panel.high is None and panel.low is None and panel.volume is None
    assert (panel.raw_close is None) == (normalization == "adjusted")

    whole, alone = run_backtest(params, small_synth), run_backtest(params, panel)
    pd.testing.assert_series_equal(alone.equity, whole.equity, check_exact=True)
    pd.testing.assert_frame_equal(alone.orders, whole.orders, check_exact=True)
    assert alone.statistics == whole.statistics
    assert len(whole.orders) > 0


def test_the_cache_serves_fewer_fields_from_its_panel_and_reloads_for_more(small_synth, tmp_path):
    write_parquet_store(small_synth, tmp_path)
    for_backtests = get_market_data("parquet", tmp_path, panel_fields({}))
    assert for_backtests.high is None and for_backtests.volume is None
    assert for_backtests.raw_open is None and for_backtests.raw_close is None
    np.testing.assert_array_equal(for_backtests.dividends, small_synth.dividends)
    np.testing.assert_array_equal(for_backtests.split_factor, small_synth.split_factor)
    assert get_market_data("parquet", tmp_path, panel_fields({})) is for_backtests

    everything = get_market_data("parquet", tmp_path)  # a train job's request
    assert everything is not for_backtests
    for name in ("high", "low", "volume", "raw_open", "raw_close"):
        np.testing.assert_array_equal(getattr(everything, name), getattr(small_synth, name))
    raw = panel_fields({"data_normalization": "raw"})
    assert get_market_data("parquet", tmp_path, raw) is everything


def test_any_normalization_but_adjusted_gets_the_raw_prices():
    assert "raw_close" not in panel_fields({"data_normalization": "ADJUSTED"})
    assert "raw_close" in panel_fields({"data_normalization": "raw"})
    assert "raw_close" in panel_fields({"data_normalization": "bogus"})  # refused later
