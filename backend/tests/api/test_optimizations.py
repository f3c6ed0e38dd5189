"""/api/optimizations end to end on a small synthetic market, with real backtests."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from factories import SEED_BODY
from polling import wait_until, wait_until_final


def wait_for(client, optimization_id: int) -> dict:
    return wait_until_final(client, f"/api/optimizations/{optimization_id}")


def test_seed_sweep_runs_to_completion_and_ranks(market_client, seeded, market_settings):
    created = market_client.post("/api/optimizations", json=SEED_BODY)
    assert created.status_code == 201, created.text
    sweep = created.json()
    assert sweep["trials_total"] == 30
    assert sweep["counts"]["pending"] + sweep["counts"]["queued"] == 30

    done = wait_for(market_client, sweep["id"])
    assert done["status"] == "completed"
    assert done["counts"]["completed"] == 30 and done["progress"] == 1.0

    trials = market_client.get(f"/api/optimizations/{sweep['id']}/trials").json()["items"]
    assert len(trials) == 30
    assert [t["source"] for t in trials] == ["grid"] * 18 + ["perturbation"] * 12
    run_ids = [t["run_id"] for t in trials]
    assert len(set(run_ids)) == 30 and None not in run_ids

    top = market_client.get(f"/api/optimizations/{sweep['id']}/top", params={"n": 3}).json()
    assert len(top["items"]) == 3
    ranked = [item["cagr"] for item in top["items"]]
    assert ranked == sorted(ranked, reverse=True)
    if top["constraint_met"]:
        assert all(item["max_drawdown"] <= 0.15 for item in top["items"])
        feasible = [t for t in trials if t["feasible"]]
        assert max(t["cagr"] for t in feasible) == ranked[0]
    for item in top["items"]:
        run = market_client.get(f"/api/backtests/{item['run_id']}").json()
        algorithm = run["params"]["algorithm_parameters"]
        assert algorithm["risk_off_symbols"].split(",")[0] == "VGSH"
        assert run["params"]["pipeline_train_job_id"] == 120
        assert algorithm["backtest_start"] == "2020-01-02"
        assert algorithm["score_csv_path"].endswith("scores.csv")
        assert algorithm["max_exposure"] == item["params"]["max_exposure"]
        assert run["metrics"]["statistics"]["Compounding Annual Return"].endswith("%")

    # The dispatcher writes the report after completing the sweep.
    path = f"/api/optimizations/{sweep['id']}"
    written = Path(wait_until(market_client, path, lambda s: s["report_path"], 30)["report_path"])
    written_at = written.stat().st_mtime_ns
    report = market_client.get(f"/api/optimizations/{sweep['id']}/report")
    assert report.status_code == 200
    assert written.stat().st_mtime_ns == written_at  # a finished sweep's report is not redrawn
    assert "# 项目18 训练120优化回测报告" in report.text
    assert "VGSH" in report.text and "SYNTHETIC" in report.text
    english = market_client.get(f"/api/optimizations/{sweep['id']}/report", params={"lang": "en"})
    assert "Top 3 by CAGR" in english.text
    chart = market_client.get(f"/api/optimizations/{sweep['id']}/report.png")
    assert chart.status_code == 200 and chart.content[:4] == b"\x89PNG"
    reports = sorted(p.name for p in market_settings.reports_dir.iterdir())
    assert any(name.endswith("-project18-train120-opt.md") for name in reports)

    again = market_client.post(f"/api/optimizations/{sweep['id']}/cancel")
    assert again.status_code == 409


def test_idempotency_key_returns_the_same_sweep(market_client, seeded):
    headers = {"Idempotency-Key": "sweep-abc"}
    body = dict(SEED_BODY, max_inflight=1)
    first = market_client.post("/api/optimizations", json=body, headers=headers)
    second = market_client.post("/api/optimizations", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert market_client.get("/api/optimizations").json()["total"] == 1
    different = market_client.post(
        "/api/optimizations", json=dict(body, max_inflight=2), headers=headers
    )
    assert different.status_code == 409
    market_client.post(f"/api/optimizations/{first.json()['id']}/cancel")


def test_cancel_stops_submission(market_client, seeded):
    created = market_client.post("/api/optimizations", json=dict(SEED_BODY, max_inflight=1))
    sweep_id = created.json()["id"]
    canceled = market_client.post(f"/api/optimizations/{sweep_id}/cancel")
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    submitted_at_cancel = 30 - canceled.json()["counts"]["pending"]
    assert canceled.json()["counts"]["queued"] == 0
    time.sleep(0.5)  # ten dispatcher ticks
    body = market_client.get(f"/api/optimizations/{sweep_id}").json()
    assert 30 - body["counts"]["pending"] == submitted_at_cancel < 30
    assert body["counts"]["queued"] == 0
    assert body["status"] == "canceled"


def test_preview_lists_exact_requests_without_storing(market_client, seeded):
    response = market_client.post("/api/optimizations/preview", json=SEED_BODY)
    assert response.status_code == 200
    body = response.json()
    assert body["trials_total"] == 30
    perturbation = body["items"][18]
    assert perturbation["source"] == "perturbation"
    assert perturbation["params"] == {"max_exposure": 0.65, "vol_target": 0.05, "max_weight": 0.035}
    algorithm = perturbation["request"]["params"]["algorithm_parameters"]
    assert algorithm["max_exposure"] == 0.65  # not 0.6499999999999999
    assert algorithm["top_n"] == 10  # the rest comes from the baseline run
    assert market_client.get("/api/optimizations").json()["total"] == 0


def test_custom_objective_direction_and_infeasible_constraints(market_client, seeded):
    body = dict(
        SEED_BODY,
        search={"grid": {"max_exposure": [0.5, 0.9]}},
        objective={"metric": "annual_volatility", "direction": "min"},
        constraints=[{"metric": "max_drawdown", "op": "<=", "value": 0.0001}],
    )
    sweep = market_client.post("/api/optimizations", json=body).json()
    assert sweep["trials_total"] == 2
    wait_for(market_client, sweep["id"])
    top = market_client.get(f"/api/optimizations/{sweep['id']}/top").json()
    assert top["constraint_met"] is False
    assert all(item["feasible"] is False and item["violation"] > 0 for item in top["items"])
    violations = [item["violation"] for item in top["items"]]
    assert violations == sorted(violations)


def test_failing_backtest_marks_its_trial_failed_and_the_sweep_completes(
    market_client, seeded, engine, market_settings
):
    from sqlalchemy import text

    # A scores file every request check accepts (it exists, inside an allowed root) whose
    # symbol the market lacks: only the engine, running the trial, finds that out.
    market_settings.artifacts_dir.mkdir(parents=True, exist_ok=True)
    scores = market_settings.artifacts_dir / "unknown-symbol-scores.csv"
    scores.write_text("date,symbol,score\n2019-12-31,ZZZZ,1.0\n")
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE ml_train_jobs SET scores_path = :p WHERE id = 120"), {"p": str(scores)}
        )
    body = dict(SEED_BODY, search={"grid": {"max_exposure": [0.5]}})
    created = market_client.post("/api/optimizations", json=body)
    assert created.status_code == 201, created.text
    sweep = created.json()
    done = wait_for(market_client, sweep["id"])
    assert done["status"] == "completed"
    assert done["counts"]["failed"] == 1
    top = market_client.get(f"/api/optimizations/{sweep['id']}/top").json()
    assert top["items"] == []
    assert "ZZZZ" in top["failed"][0]["error"]


@pytest.mark.parametrize(
    ("change", "status", "needle"),
    [
        ({"baseline_run_id": 999}, 404, "backtest run 999"),
        ({"train_job_id": 999}, 404, "train job 999"),
        ({"baseline_run_id": "x"}, 422, "baseline_run_id"),
        ({"baseline_run_id": -1}, 422, "baseline_run_id"),
        ({"train_job_id": None}, 422, "train_job_id"),
        ({"project_id": 3}, 422, "project_id"),
        ({"backtest_start": "2021-12-31", "backtest_end": "2020-01-02"}, 422, "backtest_start"),
        ({"backtest_start": "not-a-date"}, 422, "backtest_start"),
        ({"backtest_start": "1990-01-01"}, 422, "outside the market data"),
        ({"backtest_end": "2030-01-01"}, 422, "outside the market data"),
        ({"overrides": {"risk_off_symbols": "VGSH,NOPE"}}, 422, "NOPE"),
        ({"overrides": {"risk_off_symbols": 5}}, 422, "risk_off_symbols"),
        ({"overrides": {"score_csv_path": "/etc/passwd"}}, 422, "score_csv_path"),
        ({"max_inflight": 0}, 422, "max_inflight"),
        ({"max_inflight": 65}, 422, "max_inflight"),
        ({"top_n": 0}, 422, "top_n"),
        ({"objective": {"metric": "luck"}}, 422, "metric"),
        ({"objective": {"metric": "cagr", "direction": "up"}}, 422, "direction"),
        ({"constraints": [{"metric": "max_drawdown", "op": "<<", "value": 0.1}]}, 422, "op"),
        ({"constraints": [{"metric": "max_drawdown", "op": "<=", "value": "NaN"}]}, 422, "value"),
        ({"search": {}}, 422, "search"),
        ({"search": {"grid": {"leverage": [2]}}}, 422, "leverage"),
        ({"search": {"grid": {"max_exposure": []}}}, 422, "max_exposure"),
        ({"search": {"grid": {"max_exposure": [1.5]}}}, 422, "max_exposure"),
        ({"search": {"grid": {"max_exposure": [0.1234567]}}}, 422, "max_exposure"),
        (
            {"search": {"perturbation": {"steps": {"max_exposure": 0.05}, "count": 3}}},
            422,
            "only 2 perturbation points",
        ),
        (
            {"search": {"perturbation": {"steps": {"max_exposure": -0.05}, "count": 1}}},
            422,
            "positive",
        ),
        (
            {
                "search": {
                    "grid": {
                        "max_exposure": [round(0.01 * i, 2) for i in range(1, 100)],
                        "vol_target": [round(0.001 * i, 3) for i in range(1, 200)],
                    }
                }
            },
            422,
            "exceed the maximum",
        ),
        ({"unknown_field": 1}, 422, "unknown_field"),
        # The engine's own parameter rules, checked before anything is stored (a sweep over
        # a misspelled override used to "complete" with every trial failed).
        ({"overrides": {"foo": 1}}, 422, "unknown parameter(s) for ml_score_vol_target: foo"),
        ({"overrides": {"strategy": "nope"}}, 422, "unknown strategy 'nope'"),
        ({"overrides": {"fill_model": "teleport"}}, 422, "fill_model"),
    ],
)
def test_invalid_requests_are_refused_and_store_nothing(
    market_client, seeded, change, status, needle
):
    body = {**SEED_BODY, **change}
    body = {key: value for key, value in body.items() if value is not None}
    if change.get("train_job_id", 0) is None:
        body.pop("train_job_id", None)
    response = market_client.post("/api/optimizations", json=body)
    assert response.status_code == status, response.text
    assert needle in str(response.json()["detail"])
    assert market_client.get("/api/optimizations").json()["total"] == 0
    assert market_client.get("/api/backtests").json()["total"] == 1  # only the baseline


@pytest.mark.parametrize("status", ["failed", "canceled"])
def test_train_job_not_completed_is_409(market_client, seeded, engine, status):
    from sqlalchemy import text

    # Final states only: a train job set to 'running' (or 'queued') by hand has no live task
    # behind it, so the server's dispatcher queues it again and runs it, racing this request.
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE ml_train_jobs SET status = :status WHERE id = 120"), {"status": status}
        )
    response = market_client.post("/api/optimizations", json=SEED_BODY)
    assert response.status_code == 409
    assert f"train job 120 is {status}" in response.json()["detail"]


def test_unknown_optimization_ids(market_client):
    for path in (
        "/api/optimizations/77",
        "/api/optimizations/77/trials",
        "/api/optimizations/77/top",
        "/api/optimizations/77/report",
    ):
        assert market_client.get(path).status_code == 404
    assert market_client.post("/api/optimizations/77/cancel").status_code == 404
    assert market_client.get("/api/optimizations/0").status_code == 422
    assert market_client.get("/api/optimizations/1/top?n=0").status_code == 422
