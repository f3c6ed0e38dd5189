"""Health, projects, backtests and train jobs: the contract of DESIGN §4.1 and its errors."""

from __future__ import annotations

import pytest

from app.models import RunStatus
from app.services import backtests as backtest_service
from app.services import dispatch
from app.services import projects as project_service
from app.services import train_jobs as train_job_service

ALGO = {"strategy": "set_holdings", "holdings": {"SPY": 1.0}}


def make_project(client, name="research") -> int:
    response = client.post("/api/projects", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_health(client):
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["database"] in {"sqlite", "postgresql"}


def test_openapi_docs_served(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/backtests", "/api/projects", "/api/ml/train-jobs"} <= set(paths)


def test_projects_create_list_get(client):
    first = make_project(client, "alpha")
    make_project(client, "beta")
    listing = client.get("/api/projects", params={"limit": 1}).json()
    assert listing["total"] == 2 and len(listing["items"]) == 1
    assert client.get(f"/api/projects/{first}").json()["name"] == "alpha"
    assert client.get("/api/projects/424242").status_code == 404


def test_backtest_create_get_list_and_filters(client, settings):
    settings.worker_mode = "thread"
    project = make_project(client)
    other = make_project(client, "other")
    created = client.post(
        "/api/backtests", json={"project_id": project, "params": {"algorithm_parameters": ALGO}}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["status"] == "queued"
    assert body["params"] == {"pipeline_train_job_id": None, "algorithm_parameters": ALGO}
    client.post(
        "/api/backtests", json={"project_id": other, "params": {"algorithm_parameters": ALGO}}
    )
    got = client.get(f"/api/backtests/{body['id']}").json()
    assert set(got) >= {
        "id",
        "project_id",
        "status",
        "params",
        "metrics",
        "created_at",
        "started_at",
        "finished_at",
        "error",
    }
    only_project = client.get("/api/backtests", params={"project_id": project}).json()
    assert only_project["total"] == 1 and only_project["items"][0]["id"] == body["id"]
    assert client.get("/api/backtests", params={"limit": 1, "offset": 1}).json()["total"] == 2


def test_backtest_for_unknown_project_or_train_job_is_404(client):
    project = make_project(client)
    missing_project = client.post(
        "/api/backtests", json={"project_id": 999, "params": {"algorithm_parameters": ALGO}}
    )
    assert missing_project.status_code == 404
    assert "project 999" in missing_project.json()["detail"]
    missing_job = client.post(
        "/api/backtests",
        json={
            "project_id": project,
            "params": {"pipeline_train_job_id": 77, "algorithm_parameters": ALGO},
        },
    )
    assert missing_job.status_code == 404
    assert client.get("/api/backtests").json()["total"] == 0


@pytest.fixture
def idle_client(engine, settings):
    """A server whose workers are off: queued runs stay queued until the test moves them."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    settings.worker_mode = "off"
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def test_cancel_queued_or_running_then_conflict(session, idle_client):
    project = project_service.create_project(session, name="p")
    running = backtest_service.create_run(session, project_id=project.id, algorithm_parameters=ALGO)
    queued = backtest_service.create_run(session, project_id=project.id, algorithm_parameters=ALGO)
    session.commit()
    claimed = dispatch.claim_queued_runs(session, 1)  # the older one starts running
    session.commit()
    assert [c.run_id for c in claimed] == [running.id]
    for run_id in (queued.id, running.id):
        response = idle_client.post(f"/api/backtests/{run_id}/cancel")
        assert response.status_code == 200
        assert response.json()["status"] == "canceled"
    again = idle_client.post(f"/api/backtests/{queued.id}/cancel")
    assert again.status_code == 409
    assert "canceled" in again.json()["detail"]
    assert idle_client.post("/api/backtests/31337/cancel").status_code == 404
    # A worker that finishes a canceled run stores nothing over the cancellation.
    assert not backtest_service.record_success(session, running.id, metrics={}, artifact_dir=None)
    session.commit()
    assert idle_client.get(f"/api/backtests/{running.id}").json()["status"] == "canceled"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"params": {"algorithm_parameters": ALGO}}, "project_id"),
        ({"project_id": "seven", "params": {"algorithm_parameters": ALGO}}, "project_id"),
        ({"project_id": -1, "params": {"algorithm_parameters": ALGO}}, "project_id"),
        ({"project_id": 0, "params": {"algorithm_parameters": ALGO}}, "project_id"),
        ({"project_id": 2**63, "params": {"algorithm_parameters": ALGO}}, "project_id"),
        ({"project_id": 1}, "params"),
        ({"project_id": 1, "params": {}}, "algorithm_parameters"),
        ({"project_id": 1, "params": {"algorithm_parameters": []}}, "algorithm_parameters"),
        ({"project_id": 1, "params": {"algorithm_parameters": {}}}, "algorithm_parameters"),
        ({"project_id": 1, "params": {"algorithm_parameters": ALGO, "typo": 1}}, "typo"),
        (
            {
                "project_id": 1,
                "params": {"pipeline_train_job_id": -5, "algorithm_parameters": ALGO},
            },
            "pipeline_train_job_id",
        ),
        ([1, 2, 3], "body"),
        ("just a string", "body"),
    ],
)
def test_malformed_backtest_bodies_are_422_naming_the_field(client, body, field):
    response = client.post("/api/backtests", json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert any(field in [str(part) for part in error["loc"]] for error in detail), detail
    assert client.get("/api/backtests").json()["total"] == 0


@pytest.mark.parametrize(
    "raw",
    [b"{broken", b"", b"null", b'{"project_id": 1, "params": ', b"\xff\xfe\x00"],
)
def test_broken_json_is_422(client, raw):
    response = client.post(
        "/api/backtests", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "detail" in response.json()


def test_oversized_body_is_413(client, settings):
    big = (
        b'{"project_id": 1, "params": {"algorithm_parameters": {"x": "'
        + b"a" * (settings.max_body_bytes + 10)
        + b'"}}}'
    )
    response = client.post(
        "/api/backtests", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert "exceeds" in response.json()["detail"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/backtests/-1",
        "/api/backtests/0",
        "/api/backtests/abc",
        "/api/backtests/99999999999999999999",
        "/api/backtests?status=finished",
        "/api/backtests?limit=0",
        "/api/backtests?limit=100000",
        "/api/backtests?offset=-3",
        "/api/backtests?project_id=zero",
        "/api/ml/train-jobs/-4",
        "/api/projects/1.5",
    ],
)
def test_bad_ids_and_queries_are_422(client, path):
    response = client.get(path)
    assert response.status_code == 422, response.text
    assert "detail" in response.json()


def test_unknown_ids_are_404(client):
    for path in ("/api/backtests/999999", "/api/ml/train-jobs/999999", "/api/projects/999999"):
        response = client.get(path)
        assert response.status_code == 404
        assert "not found" in response.json()["detail"]


def test_train_jobs_list_and_get(session, client):
    project = project_service.create_project(session, name="p")
    job = train_job_service.create_train_job(
        session, project_id=project.id, params={"source": "import"}, status=RunStatus.completed
    )
    job.scores_path = "/tmp/scores.csv"
    job.metrics = {"ic_mean": 0.02}
    session.commit()
    listing = client.get("/api/ml/train-jobs").json()
    assert listing["total"] == 1
    got = client.get(f"/api/ml/train-jobs/{job.id}").json()
    assert got["scores_path"] == "/tmp/scores.csv"
    assert got["metrics"]["ic_mean"] == 0.02
    assert got["status"] == "completed"
