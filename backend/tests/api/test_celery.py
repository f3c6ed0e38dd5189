"""worker_mode="celery" with real Celery workers (`stocklean worker` subprocesses) on both
brokers the README documents, Redis and RabbitMQ (results in Redis for both): the runs
execute on the workers, and a worker killed with SIGKILL mid-task costs a retry on the other
worker, not a stalled sweep."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest
from cluster import (
    BROKERS,
    REDIS,
    RESULT_BACKEND,
    cluster_env,
    need,
    start_worker,
    stop_worker,
    unique_queue,
    wait_for,
)
from polling import wait_until_final
from sqlalchemy import text

pytestmark = pytest.mark.timeout(240)

# A LightGBM walk-forward refitted every 10 sessions: seconds of real work on the small
# market, long enough to kill its worker while it computes.
SLOW_TRAIN_PARAMS = {
    "model": "lightgbm",
    "score_start": "2019-09-03",
    "label_horizon": 10,
    "min_train_sessions": 60,
    "retrain_interval": 10,
}
SWEEP = {
    "baseline_run_id": 615,
    "train_job_id": 120,
    "backtest_start": "2020-01-02",
    "backtest_end": "2021-12-31",
    "overrides": {"risk_off_symbols": "VGSH,IEF,GLD,TLT"},
    "max_inflight": 3,
}


@pytest.fixture(params=sorted(BROKERS))
def broker(request) -> str:
    url, address = BROKERS[request.param]
    need(request.param, address)
    need("Redis (result backend)", REDIS)
    return url


@pytest.fixture
def celery_settings(market_settings, broker):
    market_settings.worker_mode = "celery"
    market_settings.worker_concurrency = 4
    market_settings.celery_broker_url = broker
    market_settings.celery_result_backend = RESULT_BACKEND
    market_settings.celery_queue = unique_queue()
    market_settings.worker_lease_seconds = 3.0
    return market_settings


@pytest.fixture
def start_workers(celery_settings, database_url, tmp_path):
    started = []
    env = cluster_env(
        celery_settings,
        database_url,
        celery_settings.celery_broker_url,
        celery_settings.celery_queue,
    )

    def start(*names: str, concurrency: int = 1):
        workers = [start_worker(env, name, tmp_path, concurrency) for name in names]
        started.extend(workers)
        return workers

    yield start
    for worker in started:
        stop_worker(worker)


def celery_client(settings):
    from fastapi.testclient import TestClient

    from app.main import create_app

    return TestClient(create_app(settings))


def test_runs_execute_on_celery_workers(engine, celery_settings, seeded, start_workers):
    start_workers("solo", concurrency=2)
    with celery_client(celery_settings) as client:
        wait_for(lambda: client.get("/api/health").json()["workers"] == 1, 60, "the worker")
        health = client.get("/api/health").json()
        assert health["status"] == "ok" and health["worker_mode"] == "celery"
        bad = client.post(
            "/api/backtests",
            json={"project_id": 18, "params": {"algorithm_parameters": {"strategy": "nope"}}},
        ).json()
        baseline = wait_until_final(client, "/api/backtests/615")
        failed = wait_until_final(client, f"/api/backtests/{bad['id']}")
    assert baseline["status"] == "completed", baseline["error"]
    assert baseline["metrics"]["statistics"]["Total Orders"] != "0"
    assert failed["status"] == "failed" and "nope" in failed["error"]


def test_worker_killed_mid_task_is_run_again_on_the_other(
    engine, celery_settings, seeded, start_workers
):
    """Two workers; a train job (seconds of work) and a 30-trial sweep run together; the
    worker holding the train job is killed with SIGKILL (main and pool process). The job is
    run again by the other worker within the lease, and the sweep completes with every trial
    owning exactly one completed run. No server restart."""
    workers = {worker.name: worker for worker in start_workers("alpha", "beta")}
    with celery_client(celery_settings) as client:
        wait_for(lambda: client.get("/api/health").json()["workers"] == 2, 60, "two workers")
        job = client.post(
            "/api/ml/train-jobs", json={"project_id": 18, "params": SLOW_TRAIN_PARAMS}
        ).json()
        sweep = client.post("/api/optimizations", json=SWEEP).json()

        def holder() -> str | None:
            with engine.connect() as conn:
                return conn.execute(
                    text("SELECT worker FROM ml_train_jobs WHERE id = :id AND status = 'running'"),
                    {"id": job["id"]},
                ).scalar_one_or_none()

        victim_name = wait_for(holder, 60, "a worker holding the train job").split("@")[0]
        victim = workers[victim_name]
        survivor = workers[({"alpha", "beta"} - {victim_name}).pop()]
        victim.kill()
        killed_at = time.monotonic()
        wait_for(lambda: (holder() or "").startswith(survivor.name), 60, "the job's restart")
        restart_seconds = time.monotonic() - killed_at
        job = wait_until_final(client, f"/api/ml/train-jobs/{job['id']}", timeout=120)
        sweep = wait_until_final(client, f"/api/optimizations/{sweep['id']}", timeout=120)
    print(f"worker death -> task restarted on the other worker: {restart_seconds:.1f} s")
    assert restart_seconds < 60
    assert job["status"] == "completed", job["error"]
    assert sweep["status"] == "completed" and sweep["counts"]["completed"] == 30
    with engine.connect() as conn:
        trials = conn.execute(
            text(
                "SELECT count(*), count(DISTINCT t.run_id) FROM optimization_trials t "
                "JOIN backtest_runs r ON r.id = t.run_id WHERE r.status = 'completed'"
            )
        ).one()
        attempts = conn.execute(
            text("SELECT attempts FROM ml_train_jobs WHERE id = :id"), {"id": job["id"]}
        ).scalar_one()
        running = conn.execute(
            text("SELECT count(*) FROM backtest_runs WHERE status = 'running'")
        ).scalar_one()
    assert tuple(trials) == (30, 30)
    assert running == 0
    # Redis keeps the dead worker's message for an hour: the lease ran out and the server
    # sent the job again (2 attempts). RabbitMQ hands the unacknowledged message to the
    # survivor itself as the connection drops (1 attempt), unless the lease ran out first.
    if celery_settings.celery_broker_url.startswith("redis"):
        assert attempts == 2
    else:
        assert attempts in (1, 2)


# The pool side of a worker does not depend on the broker: Redis only.
@pytest.mark.parametrize("broker", ["redis"], indirect=True)
def test_pool_process_killed_mid_task_is_retried_by_the_server(
    engine, celery_settings, seeded, start_workers
):
    """Only the worker's pool process dies (the OOM killer), its main process lives on:
    Celery records a WorkerLostError, the server starts the job again (2 attempts), and it
    completes."""
    (worker,) = start_workers("solo")
    with celery_client(celery_settings) as client:
        wait_for(lambda: client.get("/api/health").json()["workers"] == 1, 60, "the worker")
        job = client.post(
            "/api/ml/train-jobs", json={"project_id": 18, "params": SLOW_TRAIN_PARAMS}
        ).json()

        def held() -> bool:
            with engine.connect() as conn:
                return bool(
                    conn.execute(
                        text("SELECT worker FROM ml_train_jobs WHERE id = :id"), {"id": job["id"]}
                    ).scalar_one_or_none()
                )

        wait_for(held, 60, "the worker to hold the train job")
        time.sleep(0.5)
        listing = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(worker.process.pid)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        os.kill(int(listing[0]), signal.SIGKILL)
        job = wait_until_final(client, f"/api/ml/train-jobs/{job['id']}", timeout=120)
    assert job["status"] == "completed", job["error"]
    assert worker.process.poll() is None  # the worker itself lived on
    with engine.connect() as conn:
        attempts = conn.execute(
            text("SELECT attempts FROM ml_train_jobs WHERE id = :id"), {"id": job["id"]}
        ).scalar_one()
    assert attempts == 2
