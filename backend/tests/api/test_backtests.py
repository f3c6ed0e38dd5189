"""Backtests posted to the API execute on the workers: completed with metrics and artifacts,
or failed with a reason that names the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from polling import wait_until_final

WINDOW = {"backtest_start": "2020-01-02", "backtest_end": "2021-06-30"}


def run_to_end(client, algorithm: dict, timeout: float = 60) -> dict:
    created = client.post(
        "/api/backtests", json={"project_id": 18, "params": {"algorithm_parameters": algorithm}}
    )
    assert created.status_code == 201, created.text
    return wait_until_final(client, f"/api/backtests/{created.json()['id']}", timeout)


def test_completed_run_has_metrics_statistics_and_artifacts(market_client, seeded):
    run = run_to_end(
        market_client, {"strategy": "set_holdings", "holdings": {"SPY": 1.0}, **WINDOW}
    )
    assert run["status"] == "completed", run["error"]
    metrics = run["metrics"]
    assert {"cagr", "max_drawdown", "sharpe", "total_orders", "total_fees"} <= set(metrics)
    assert metrics["synthetic"] is True
    assert metrics["statistics"]["Total Orders"] == "1"
    listed = market_client.get("/api/backtests", params={"status": "completed"}).json()
    assert run["id"] in [item["id"] for item in listed["items"]]
    equity = market_client.get(f"/api/backtests/{run['id']}/equity").json()["items"]
    assert equity[0]["date"] >= WINDOW["backtest_start"]


@pytest.mark.parametrize(
    ("algorithm", "needle"),
    [
        ({"strategy": "moonshot"}, "unknown strategy"),
        ({"strategy": "set_holdings", "holdings": {"SPY": 1.0}, "lever": 3}, "lever"),
        ({"strategy": "set_holdings", "holdings": {"NOPE": 1.0}, **WINDOW}, "NOPE"),
        (
            {"strategy": "set_holdings", "holdings": {"SPY": 1.0}, "leverage": 0, **WINDOW},
            "leverage",
        ),
        ({"strategy": "set_holdings", "holdings": {"SPY": 1.0}, "rebalance": "x"}, "rebalance"),
        (
            {
                "strategy": "set_holdings",
                "holdings": {"SPY": 1.0},
                "backtest_start": "2021-06-30",
                "backtest_end": "2020-01-02",
            },
            "backtest_start",
        ),
        (
            {
                "strategy": "set_holdings",
                "holdings": {"SPY": 1.0},
                "backtest_start": "1990-01-02",
                "backtest_end": "1991-01-02",
            },
            "outside",
        ),
        (
            {"strategy": "ml_score_vol_target", "score_csv_path": "missing.csv", **WINDOW},
            "missing.csv",
        ),
        (
            {"strategy": "set_holdings", "holdings": {"SPY": 1.0}, "initial_cash": -5, **WINDOW},
            "initial_cash",
        ),
    ],
)
def test_bad_backtests_fail_with_a_reason(market_client, seeded, algorithm, needle):
    run = run_to_end(market_client, algorithm)
    assert run["status"] == "failed"
    assert needle in run["error"], run["error"]
    assert "Traceback" not in run["error"]


@pytest.mark.parametrize(
    ("algorithm", "field"),
    [
        ({"strategy": "ml_score_vol_target", "score_csv_path": "/etc/passwd"}, "score_csv_path"),
        (
            {"strategy": "ml_score_vol_target", "score_csv_path": "../../../etc/passwd"},
            "score_csv_path",
        ),
        ({"strategy": "ml_score_vol_target", "weights_path": "/etc/passwd"}, "weights_path"),
        ({"strategy": "set_holdings", "weights_path": "/etc/shadow"}, "weights_path"),
        ({"strategy": "set_holdings", "weights_path": ""}, "weights_path"),
        # A NUL byte makes the path unresolvable: the field's 422, not a 500.
        ({"strategy": "set_holdings", "weights_path": "w\x00.csv"}, "weights_path"),
        ({"strategy": "ml_score_vol_target", "score_csv_path": "\x00"}, "score_csv_path"),
    ],
)
def test_file_paths_outside_the_roots_are_422_at_post_and_store_nothing(
    market_client, seeded, algorithm, field
):
    before = market_client.get("/api/backtests").json()["total"]
    response = market_client.post(
        "/api/backtests",
        json={"project_id": 18, "params": {"algorithm_parameters": {**algorithm, **WINDOW}}},
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "params", "algorithm_parameters", field]
    assert field in error["msg"]
    assert market_client.get("/api/backtests").json()["total"] == before == 1  # run 615


def test_a_path_inside_the_roots_is_accepted(market_client, seeded, market_settings):
    inside = str(Path(market_settings.data_dir) / "scores.csv")
    relative = "scores.csv"  # resolved against the roots, like the engine does
    for path in (inside, relative):
        created = market_client.post(
            "/api/backtests",
            json={
                "project_id": 18,
                "params": {
                    "algorithm_parameters": {
                        "strategy": "ml_score_vol_target",
                        "score_csv_path": path,
                        **WINDOW,
                    }
                },
            },
        )
        assert created.status_code == 201, created.text
        assert (
            wait_until_final(market_client, f"/api/backtests/{created.json()['id']}")["status"]
            == "completed"
        )


def test_scores_file_problems_fail_with_a_reason(market_client, seeded, market_settings):
    bad = Path(market_settings.data_dir) / "bad-scores.csv"
    bad.write_text("day,ticker,value\n2020-01-02,S0001,1\n")
    try:
        run = run_to_end(
            market_client,
            {"strategy": "ml_score_vol_target", "score_csv_path": str(bad), **WINDOW},
        )
    finally:
        bad.unlink()
    assert run["status"] == "failed"
    assert "column" in run["error"]


def test_a_failed_run_does_not_stop_the_worker(market_client, seeded):
    failed = run_to_end(market_client, {"strategy": "moonshot"})
    ok = run_to_end(market_client, {"strategy": "set_holdings", "holdings": {"SPY": 1.0}, **WINDOW})
    assert failed["status"] == "failed" and ok["status"] == "completed"
    result = json.loads(
        (
            Path(market_client.app.state.settings.artifacts_dir)
            / "backtests"
            / str(ok["id"])
            / "result.json"
        ).read_text()
    )
    assert result["statistics"]["Total Orders"] == "1"


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (
            '{"strategy": "set_holdings", "holdings": {"SPY": 1.0}, "initial_cash": 1e400}',
            "initial_cash",
        ),
        ('{"strategy": "set_holdings", "holdings": {"SPY": -1e400}}', "holdings.SPY"),
        ('{"strategy": "set_holdings", "holdings": {"SPY": NaN}}', "holdings.SPY"),
    ],
)
def test_non_finite_numbers_are_422_not_stored_as_null(market_client, seeded, raw, key):
    # Python's JSON parser reads 1e400 as infinity (and NaN as NaN); a JSON column would
    # store it as null, so the stored run would not be the request that was sent.
    body = f'{{"project_id": 18, "params": {{"algorithm_parameters": {raw}}}}}'
    response = market_client.post(
        "/api/backtests", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "params", "algorithm_parameters"]
    assert f"{key} must be a finite number" in error["msg"]
    assert market_client.get("/api/backtests").json()["total"] == 1  # run 615
