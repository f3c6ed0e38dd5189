"""Results of a real LEAN run imported through the API and ranked like ours."""

from __future__ import annotations

import pytest

from app.engine import run_backtest
from app.engine.lean_result import metrics_from_lean_statistics
from app.models import BacktestRun, RunStatus
from app.services.ranking import Constraint, Objective, rank_runs

# Shaped exactly like a LEAN backtest result's statistics (keys and string formats of LEAN's
# StatisticsBuilder); the values are made up for the test.
LEAN_STATISTICS = {
    "Total Orders": "12",
    "Compounding Annual Return": "9.875%",
    "Drawdown": "12.300%",
    "Start Equity": "100000",
    "End Equity": "131250.55",
    "Net Profit": "31.251%",
    "Sharpe Ratio": "1.021",
    "Sortino Ratio": "1.4",
    "Annual Standard Deviation": "0.081",
    "Total Fees": "$41.20",
    "Portfolio Turnover": "3.21%",
    "Win Rate": "58%",
}


def test_parsed_statistics_are_fractions():
    metrics = metrics_from_lean_statistics(LEAN_STATISTICS)
    assert metrics["cagr"] == pytest.approx(0.09875)
    assert metrics["max_drawdown"] == pytest.approx(0.123)
    assert metrics["total_fees"] == pytest.approx(41.20)
    assert metrics["net_profit"] == pytest.approx(31250.55)
    assert metrics["total_orders"] == 12


def test_our_statistics_read_back_to_our_metrics(small_market_dir):
    from app.engine.store import read_parquet_store

    data = read_parquet_store(small_market_dir)
    result = run_backtest(
        {
            "strategy": "set_holdings",
            "holdings": {"SPY": 0.6, "TLT": 0.4},
            "backtest_start": "2019-01-02",
            "backtest_end": "2021-12-31",
        },
        data,
    )
    parsed = metrics_from_lean_statistics(result.statistics)
    assert parsed["cagr"] == pytest.approx(result.metrics["cagr"], abs=5e-6)  # 0.001 % rounding
    assert parsed["max_drawdown"] == pytest.approx(result.metrics["max_drawdown"], abs=5e-4)
    # Cents, half away from zero: at most half a cent off (plus float noise).
    assert parsed["total_fees"] == pytest.approx(result.metrics["total_fees"], abs=0.005 + 1e-9)


def test_import_then_rank_with_our_runs(market_client, seeded, session):
    response = market_client.post(
        "/api/backtests/import",
        json={
            "project_id": 18,
            "result": {"statistics": LEAN_STATISTICS},
            "params": {"algorithm_parameters": {"strategy": "lean-algorithm"}},
        },
    )
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["status"] == "completed"
    assert run["metrics"]["cagr"] == pytest.approx(0.09875)
    assert run["metrics"]["statistics"]["Drawdown"] == "12.300%"
    worse = dict(LEAN_STATISTICS, **{"Compounding Annual Return": "5%"})
    other = market_client.post(
        "/api/backtests/import", json={"project_id": 18, "result": {"statistics": worse}}
    ).json()
    ranking = rank_runs(
        session,
        BacktestRun.id.in_([run["id"], other["id"]]),
        Objective(),
        [Constraint("max_drawdown", "<=", 0.15)],
        3,
    )
    assert [item.run_id for item in ranking.items] == [run["id"], other["id"]]


@pytest.mark.parametrize(
    ("result", "needle"),
    [
        ({}, "no statistics"),
        ({"statistics": {"Drawdown": "1%"}}, "Compounding Annual Return"),
        ({"statistics": dict(LEAN_STATISTICS, Drawdown="12.3")}, "Drawdown"),
        ({"statistics": dict(LEAN_STATISTICS, **{"Sharpe Ratio": "fast"})}, "Sharpe Ratio"),
        ({"statistics": dict(LEAN_STATISTICS, **{"Total Fees": "$NaN"})}, "Total Fees"),
    ],
)
def test_bad_lean_results_are_422_and_store_nothing(market_client, seeded, result, needle):
    response = market_client.post(
        "/api/backtests/import", json={"project_id": 18, "result": result}
    )
    assert response.status_code == 422, response.text
    assert needle in str(response.json()["detail"])
    assert market_client.get("/api/backtests").json()["total"] == 1  # only run 615


def test_imported_and_native_results_rank_on_leans_printed_precision(
    market_client, seeded, session
):
    """One footing: LEAN's printed precision. LEAN prints a CAGR of 0.1234549 as "12.345%" and a
    drawdown of 0.1504 as "15.000%" (Drawdown is rounded to 0.1 %), so a native run with those
    full-precision values and an imported LEAN result printing those strings are the same
    result for ranking: both meet ``max_drawdown <= 0.15``, they tie on CAGR and on drawdown,
    and the lower run id goes first. Compared as stored, the native run would fail the
    constraint that the imported one passes."""
    printed = dict(
        LEAN_STATISTICS, **{"Compounding Annual Return": "12.345%", "Drawdown": "15.000%"}
    )
    imported = market_client.post(
        "/api/backtests/import", json={"project_id": 18, "result": {"statistics": printed}}
    ).json()["id"]
    native = BacktestRun(
        project_id=18,
        status=RunStatus.completed,
        params={},
        metrics={},
        cagr=0.1234549,
        max_drawdown=0.1504,
    )
    better = BacktestRun(  # prints "12.346%": better on LEAN's footing too
        project_id=18,
        status=RunStatus.completed,
        params={},
        metrics={},
        cagr=0.123456,
        max_drawdown=0.1504,
    )
    session.add_all([native, better])
    session.flush()
    ranking = rank_runs(
        session,
        BacktestRun.id.in_([imported, native.id, better.id]),
        Objective(),
        [Constraint("max_drawdown", "<=", 0.15)],
        3,
    )
    assert ranking.constraint_met
    assert [item.run_id for item in ranking.items] == [better.id, imported, native.id]
    # What the API shows stays what was stored.
    assert [item.cagr for item in ranking.items] == [0.123456, pytest.approx(0.12345), 0.1234549]
    assert ranking.items[2].max_drawdown == 0.1504
