"""ml_score_vol_target look-ahead, and every BacktestInputError case."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from engine_testkit import FIXTURES, make_market

from app.engine import BacktestInputError, run_backtest
from app.engine.market import MarketData
from app.engine.strategies import STRATEGIES

ML = {
    "strategy": "ml_score_vol_target",
    "backtest_start": "2020-01-01",
    "backtest_end": "2021-06-30",
    "top_n": 10,
    "max_weight": 0.08,
    "max_exposure": 0.8,
    "vol_target": 0.05,
    "risk_off_symbols": "VGSH,IEF,GLD,TLT",
}


def perturbed_after(data: MarketData, last_day: pd.Timestamp, seed: int) -> MarketData:
    rng = np.random.default_rng(seed)
    later = data.sessions > last_day
    arrays = {}
    for name in ("open", "high", "low", "close", "raw_open", "raw_close"):
        values = getattr(data, name).copy()
        values[later] *= rng.uniform(0.5, 1.5, values[later].shape)
        arrays[name] = values
    return MarketData(
        sessions=data.sessions,
        symbols=data.symbols,
        volume=data.volume,
        dividends=data.dividends,
        split_factor=data.split_factor,
        provenance=data.provenance,
        **arrays,
    )


@pytest.mark.parametrize("fill_model", ["close", "next_open"])
def test_no_look_ahead(small_synth, small_scores_path, tmp_path, fill_model):
    params = {**ML, "score_csv_path": str(small_scores_path), "fill_model": fill_model}
    base = run_backtest(params, small_synth)
    cut = pd.Timestamp("2020-09-16")
    changed = perturbed_after(small_synth, cut, seed=1)
    scores = pd.read_csv(small_scores_path)
    late = pd.to_datetime(scores["date"]) > cut
    scores.loc[late, "score"] = np.random.default_rng(2).permutation(
        scores.loc[late, "score"].to_numpy()
    )
    changed_scores = tmp_path / "scores.csv"
    scores.to_csv(changed_scores, index=False)
    other = run_backtest({**params, "score_csv_path": str(changed_scores)}, changed)
    assert not base.orders.equals(other.orders)  # the perturbation did change later decisions
    # Every order whose outcome is fixed by data up to the cut is identical.
    known = "decision_date" if fill_model == "close" else "fill_date"
    before = base.orders[base.orders[known] <= cut].reset_index(drop=True)
    before_other = other.orders[other.orders[known] <= cut].reset_index(drop=True)
    assert len(before) > 0
    pd.testing.assert_frame_equal(before, before_other)
    # The target schedule decided on or before the cut is identical too.
    normalized = {**params, "score_csv_path": small_scores_path}
    from app.engine.backtest import normalize_params, window_rows

    p1 = normalize_params(normalized)
    p2 = normalize_params({**normalized, "score_csv_path": changed_scores})
    first, last = window_rows(small_synth, p1["backtest_start"], p1["backtest_end"])
    s1 = STRATEGIES["ml_score_vol_target"](small_synth, first, last, p1)
    s2 = STRATEGIES["ml_score_vol_target"](changed, first, last, p2)
    decided = small_synth.sessions[s1.decision_rows] <= cut
    np.testing.assert_array_equal(s1.weights[decided], s2.weights[decided])


def test_ml_weights_respect_caps(small_synth, small_scores_path):
    params = {
        **ML,
        "score_csv_path": str(small_scores_path),
        "max_weight": 0.05,
        "max_exposure": 0.6,
        "vol_target": 0.5,
    }
    from app.engine.backtest import normalize_params, window_rows

    p = normalize_params(params)
    first, last = window_rows(small_synth, p["backtest_start"], p["backtest_end"])
    schedule = STRATEGIES["ml_score_vol_target"](small_synth, first, last, p)
    equity_sleeve = schedule.weights[:, :-4]
    assert equity_sleeve.max() <= 0.05 + 1e-12
    assert (equity_sleeve.sum(axis=1) <= 0.6 + 1e-12).all()
    np.testing.assert_allclose(schedule.weights.sum(axis=1), 1.0)
    result = run_backtest(params, small_synth)
    assert result.metrics["synthetic"] is True
    assert 0 < result.metrics["max_drawdown"] < 1
    document = result.to_lean_result()
    import json

    assert json.loads(json.dumps(document))["statistics"] == result.statistics
    # The statistic names are LEAN's: those its regression algorithms print (fixture copy).
    case = json.loads((FIXTURES / "lean-regressions.json").read_text())["cases"]
    lean_case = next(iter(case.values()))
    assert set(result.statistics) == set(lean_case["expected"]) | set(lean_case["capacity"])


def expect_error(params, data, match, **kwargs):
    with pytest.raises(BacktestInputError, match=match):
        run_backtest(params, data, **kwargs)


def test_input_errors(small_synth, small_scores_path, tmp_path):
    scores = str(small_scores_path)
    expect_error({"strategy": "nope"}, small_synth, "unknown strategy 'nope'")
    expect_error(
        {**ML, "score_csv_path": scores, "colour": 1}, small_synth, "unknown parameter.*colour"
    )
    expect_error(
        {"strategy": "set_holdings", "holdings": {"FOO": 0.5, "BAR": 0.5}},
        small_synth,
        "symbols not in the data: FOO, BAR",
    )
    expect_error(
        {**ML, "score_csv_path": scores, "risk_off_symbols": "ZZZ"},
        small_synth,
        "symbols not in the data: ZZZ",
    )
    expect_error({**ML, "score_csv_path": str(tmp_path / "missing.csv")}, small_synth, "not found")
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("day,ticker,value\n2020-01-02,S0001,1\n")
    expect_error(
        {**ML, "score_csv_path": str(wrong)}, small_synth, "lacks columns: date, symbol, score"
    )
    early = tmp_path / "early.csv"
    early.write_text("date,symbol,score\n2030-01-02,S0001,1\n")
    expect_error({**ML, "score_csv_path": str(early)}, small_synth, "no rows in the window")
    expect_error(
        {
            **ML,
            "score_csv_path": scores,
            "backtest_start": "2021-01-01",
            "backtest_end": "2020-01-01",
        },
        small_synth,
        "is after backtest_end",
    )
    expect_error(
        {**ML, "score_csv_path": scores, "backtest_start": "2010-01-01"},
        small_synth,
        "outside the data",
    )
    expect_error(
        {**ML, "score_csv_path": scores, "backtest_end": "2030-01-01"},
        small_synth,
        "outside the data",
    )
    # set_holdings: weights above 100 % are leverage, which LEAN's margin check allows (2x).
    for bad, message in (
        ({"holdings": {"SPY": "lots"}}, "holdings.SPY must be a number"),
        ({"holdings": {}}, "holdings must be a non-empty mapping"),
        ({"rebalance": "hourly"}, "rebalance must be one of if_not_invested, every_bar"),
        ({"schedule": {"from": "2020-01-02"}}, "schedule must be a list"),
        ({"schedule": [{"from": "2020-01-02"}]}, r"schedule\[0\] needs both from and holdings"),
        ({"schedule": [{"from": "soon", "holdings": {"SPY": 1}}]}, r"schedule\[0\].from"),
        ({"leverage": -1}, "leverage must be a number > 0"),
        ({"leverage": {"TLT": 1}}, "leverage.TLT: TLT is not among the strategy's symbols"),
    ):
        expect_error(
            {"strategy": "set_holdings", "holdings": {"SPY": 0.7}, **bad}, small_synth, message
        )
    expect_error(
        {"strategy": "set_holdings", "holdings": {"SPY": 1.0}, "initial_cash": -5},
        small_synth,
        "initial_cash must be > 0",
    )
    expect_error(
        {**ML, "score_csv_path": scores, "top_n": 2.5}, small_synth, "top_n must be a whole"
    )
    expect_error({**ML, "score_csv_path": scores, "rebalance": "hourly"}, small_synth, "rebalance")
    expect_error(
        {"strategy": "set_holdings", "holdings": {"SPY": 1.0}, "fill_model": "vwap"},
        small_synth,
        "fill_model must be one of",
    )
    expect_error(
        {"strategy": "ml_score_vol_target"}, small_synth, "needs the parameter score_csv_path"
    )


def test_weights_file_errors_and_leverage(tmp_path):
    data = make_market({"A": [10.0, 11.0, 12.0], "B": [5.0, 5.0, 5.0]})
    path = tmp_path / "w.csv"
    path.write_text(
        f"date,symbol,weight\n{data.sessions[0].date()},A,0.8\n{data.sessions[0].date()},B,0.4\n"
    )
    params = {"strategy": "target_weights", "weights_path": str(path), "benchmark": ""}
    expect_error(params, data, "sum to 1.2 > 1")
    result = run_backtest({**params, "allow_leverage": True, "fee_model": "none"}, data)
    assert len(result.orders) == 2


def test_nan_price_for_traded_symbol():
    data = make_market({"A": [10.0, np.nan, 12.0]}, {"A": [10.0, np.nan, 12.0]})
    expect_error(
        {"strategy": "set_holdings", "holdings": {"A": 1.0}, "benchmark": ""},
        data,
        "no valid fill price for A on 2021-01-05",
    )
    zero = make_market({"A": [0.0, 10.0, 12.0]})
    expect_error(
        {"strategy": "set_holdings", "holdings": {"A": 1.0}, "benchmark": ""},
        zero,
        "non-positive price for A on 2021-01-04",
    )


def test_file_roots_confine_paths(small_synth, small_scores_path, tmp_path):
    params = {**ML, "score_csv_path": str(small_scores_path)}
    expect_error(params, small_synth, "outside the allowed file roots", file_roots=[tmp_path])
    expect_error(
        {**ML, "score_csv_path": "../../etc/passwd"},
        small_synth,
        "outside the allowed file roots",
        file_roots=[tmp_path],
    )
    inside = run_backtest(
        {**ML, "score_csv_path": small_scores_path.name},
        small_synth,
        file_roots=[small_scores_path.parent],
    )
    assert inside.metrics["total_orders"] > 0
