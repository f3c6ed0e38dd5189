"""Train jobs through the API: real walk-forward training by the workers, and imports."""

from __future__ import annotations

import pytest
from polling import wait_until_final


@pytest.fixture
def project(market_client) -> int:
    return market_client.post("/api/projects", json={"name": "ml"}).json()["id"]


def wait_job(client, job_id: int) -> dict:
    return wait_until_final(client, f"/api/ml/train-jobs/{job_id}")


def test_train_job_runs_walk_forward_and_its_scores_drive_a_backtest(market_client, project):
    params = {
        "model": "ridge",
        "score_start": "2019-09-03",
        "label_horizon": 10,
        "min_train_sessions": 60,
    }
    created = market_client.post(
        "/api/ml/train-jobs", json={"project_id": project, "params": params}
    )
    assert created.status_code == 201, created.text
    job = wait_job(market_client, created.json()["id"])
    assert job["status"] == "completed", job["error"]
    assert job["scores_path"].endswith("scores.csv")
    assert {"ic_mean", "hit_rate", "coverage", "ic_by_year"} <= set(job["metrics"])
    algorithm = {
        "strategy": "ml_score_vol_target",
        "score_csv_path": job["scores_path"],
        "backtest_start": "2020-01-02",
        "backtest_end": "2021-06-30",
        "top_n": 10,
        "risk_off_symbols": "VGSH",
    }
    run = market_client.post(
        "/api/backtests",
        json={
            "project_id": project,
            "params": {"pipeline_train_job_id": job["id"], "algorithm_parameters": algorithm},
        },
    ).json()
    run = wait_until_final(market_client, f"/api/backtests/{run['id']}")
    assert run["status"] == "completed", run["error"]
    assert run["metrics"]["total_orders"] > 0


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"model": "xgboost"}, "model"),
        ({"label_horizon": 0}, "label_horizon"),
        ({"feature_set": "astrology"}, "astrology"),
        ({"train_start": "2020-01-01", "score_start": "2019-01-01"}, "score_start"),
        ({"unknown": 1}, "unknown"),
    ],
)
def test_bad_train_params_are_422_and_store_nothing(market_client, project, params, needle):
    response = market_client.post(
        "/api/ml/train-jobs", json={"project_id": project, "params": params}
    )
    assert response.status_code == 422, response.text
    assert needle in str(response.json()["detail"])
    assert market_client.get("/api/ml/train-jobs").json()["total"] == 0


def test_import_valid_scores_file(market_client, project, small_market_dir):
    content = (small_market_dir / "scores.csv").read_bytes()
    response = market_client.post(
        "/api/ml/train-jobs/import",
        data={"project_id": str(project)},
        files={"file": ("momentum.csv", content, "text/csv")},
    )
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["status"] == "completed"
    assert job["params"]["original_name"] == "momentum.csv"
    with open(job["scores_path"], encoding="utf-8") as handle:
        assert handle.readline().strip() == "date,symbol,score"


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"day,symbol,score\n2020-01-02,S0001,0.5\n", "missing column"),
        (b"date,symbol,score\n2020-01-02,S0001,abc\n", "line 2"),
        (b"date,symbol,score\n2020-13-45,S0001,0.5\n", "line 2"),
        (b"date,symbol,score\n2020-01-02,S0001,0.5\n2020-01-02,S0001,0.7\n", "line 3"),
        (b"date,symbol,score\n2020-01-02,NOSUCH,0.5\n", "NOSUCH"),
        (b"date,symbol,score\n1999-01-04,S0001,0.5\n", "1999-01-04"),
        (b"date,symbol,score\n2020-01-02,S0001,nan\n", "line 2"),
        (b"", "the file is empty"),
        (b"\xff\xfe\x00\x01", "UTF-8"),
    ],
)
def test_malformed_imports_name_the_row_and_leave_nothing(
    market_client, project, market_settings, content, needle
):
    response = market_client.post(
        "/api/ml/train-jobs/import",
        data={"project_id": str(project)},
        files={"file": ("bad.csv", content, "text/csv")},
    )
    assert response.status_code == 422, response.text
    assert needle in str(response.json()["detail"])
    assert market_client.get("/api/ml/train-jobs").json()["total"] == 0
    train_dir = market_settings.artifacts_dir / "train_jobs"
    assert not train_dir.exists() or not any(train_dir.iterdir())


def test_import_needs_a_known_project_and_a_file(market_client):
    response = market_client.post(
        "/api/ml/train-jobs/import",
        data={"project_id": "999"},
        files={"file": ("s.csv", b"date,symbol,score\n", "text/csv")},
    )
    assert response.status_code == 404
    missing_file = market_client.post("/api/ml/train-jobs/import", data={"project_id": "1"})
    assert missing_file.status_code == 422
    assert "file" in str(missing_file.json()["detail"])


def test_data_dependent_train_params_are_422_before_queueing(market_client, project):
    for params, needle in (
        ({"score_start": "2018-02-01"}, "too little training history"),
        ({"universe": ["S0001", "S0002", "S0003", "S0004", "S0005", "NOPE1"]}, "NOPE1"),
        ({"score_end": "2030-01-01"}, "2030"),
    ):
        response = market_client.post(
            "/api/ml/train-jobs", json={"project_id": project, "params": params}
        )
        assert response.status_code == 422, response.text
        assert needle in str(response.json()["detail"]), response.json()
    assert market_client.get("/api/ml/train-jobs").json()["total"] == 0
