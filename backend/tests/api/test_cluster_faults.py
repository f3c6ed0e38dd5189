"""Faults of the parts around the workers, with the real parts: a `stocklean serve` killed
with SIGKILL mid-sweep while Celery workers compute (the new server adopts their tasks: no
task runs twice), a local pool process killed mid-task (the job runs again), and a
PostgreSQL server restarted five times mid-sweep (nothing is lost, nothing stays running)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from api.test_celery import SLOW_TRAIN_PARAMS, SWEEP
from cluster import (
    BROKERS,
    REDIS,
    ThrowawayPostgres,
    cluster_env,
    free_port,
    kill_group,
    need,
    start_worker,
    stop_worker,
    unique_queue,
    wait_for,
)
from factories import make_seed_world
from sqlalchemy import Engine, text

pytestmark = pytest.mark.timeout(240)


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL takes its pool too
        )
    url = f"http://127.0.0.1:{port}/api/health"
    wait_for(lambda: httpx.get(url, timeout=2).status_code == 200, 60, "the server")
    return process


def sweep_outcome(engine: Engine) -> tuple[tuple[int, int], int, int]:
    """(trials with a completed run, distinct runs), runs not final, highest attempts."""
    with engine.connect() as conn:
        trials = conn.execute(
            text(
                "SELECT count(*), count(DISTINCT t.run_id) FROM optimization_trials t "
                "JOIN backtest_runs r ON r.id = t.run_id WHERE r.status = 'completed'"
            )
        ).one()
        unfinished = conn.execute(
            text("SELECT count(*) FROM backtest_runs WHERE status IN ('queued', 'running')")
        ).scalar_one()
        attempts = conn.execute(text("SELECT max(attempts) FROM backtest_runs")).scalar_one()
    return tuple(trials), unfinished, attempts


def get_json(url: str) -> dict:
    response = httpx.get(url, timeout=5)
    response.raise_for_status()
    return response.json()


def wait_for_status(fetch, statuses: set[str], timeout: float, what: str) -> dict:
    """Call ``fetch()`` (one GET of a run, train job or sweep) until its ``status`` is in
    ``statuses`` and return that body; errors while a server or database restarts count as
    not yet (:func:`cluster.wait_for`)."""
    return wait_for(lambda: (body := fetch())["status"] in statuses and body, timeout, what)


@pytest.mark.parametrize("broker", sorted(BROKERS))
def test_server_killed_mid_sweep_adopts_the_tasks_on_celery_workers(
    engine, seeded, market_settings, database_url, tmp_path, broker
):
    """Celery workers keep computing while the server is dead; the new server finds their
    tasks by the ids stored on the runs and waits for them. Every task runs exactly once
    (counted in the workers' own logs), and every trial owns exactly one completed run."""
    need(broker, BROKERS[broker][1])
    need("Redis (result backend)", REDIS)
    market_settings.worker_lease_seconds = 3.0
    env = cluster_env(market_settings, database_url, BROKERS[broker][0], unique_queue())
    env.update(STOCKLEAN_WORKER_MODE="celery", STOCKLEAN_WORKER_CONCURRENCY="4")
    workers = [start_worker(env, name, tmp_path) for name in ("alpha", "beta")]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(env, port, tmp_path / "server.log")
    try:
        wait_for(lambda: get_json(f"{base}/api/health")["workers"] == 2, 60, "two workers")
        sweep_id = httpx.post(f"{base}/api/optimizations", json=dict(SWEEP, max_inflight=4)).json()[
            "id"
        ]
        wait_for(
            lambda: get_json(f"{base}/api/optimizations/{sweep_id}")["counts"]["completed"] >= 3,
            120,
            "three completed trials",
        )
        kill_group(server)
        with engine.connect() as conn:
            in_flight = conn.execute(
                text("SELECT count(*) FROM backtest_runs WHERE status = 'running'")
            ).scalar_one()
            submitted = conn.execute(
                text("SELECT count(*) FROM optimization_trials WHERE run_id IS NOT NULL")
            ).scalar_one()
        assert submitted < 30, "the kill came too late to test a restart"
        time.sleep(1.0)  # the workers finish what they hold while no server listens
        server = start_server(env, port, tmp_path / "server.log")
        body = wait_for_status(
            lambda: get_json(f"{base}/api/optimizations/{sweep_id}"),
            {"completed"},
            180,
            "the sweep",
        )
    finally:
        kill_group(server)
        for worker in workers:
            stop_worker(worker)
    assert body["counts"]["completed"] == 30
    trials, unfinished, attempts = sweep_outcome(engine)
    assert trials == (30, 30) and unfinished == 0
    print(f"runs in flight at the kill: {in_flight}")
    # Run 615 (the seed's baseline) and the 30 trials: 31 backtests, each executed once.
    assert sum(worker.executions() for worker in workers) == 31
    assert attempts == 1


def pool_processes(server_pid: int) -> list[int]:
    """The server's process-pool children (spawned: `multiprocessing.spawn` in their args)."""
    listing = subprocess.run(
        ["ps", "-ww", "-o", "pid=,args=", "--ppid", str(server_pid)],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return [
        int(line.split()[0])
        for line in listing.splitlines()
        if "spawn_main" in line.split(None, 1)[1]
    ]


def test_pool_process_killed_mid_task_runs_the_job_again(
    engine, seeded, market_settings, database_url, tmp_path
):
    """As the OOM killer would: one process of the local pool killed while a train job
    computes breaks the pool; the pool is rebuilt, the lost train job and any lost sweep
    runs are run again (counted in ``attempts``), and nothing is recorded as failed."""
    env = cluster_env(market_settings, database_url, BROKERS["redis"][0], unique_queue())
    env.update(STOCKLEAN_WORKER_MODE="process", STOCKLEAN_WORKER_CONCURRENCY="2")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(env, port, tmp_path / "server.log")
    try:
        job_id = httpx.post(
            f"{base}/api/ml/train-jobs", json={"project_id": 18, "params": SLOW_TRAIN_PARAMS}
        ).json()["id"]
        sweep_id = httpx.post(f"{base}/api/optimizations", json=SWEEP).json()["id"]
        wait_for(
            lambda: get_json(f"{base}/api/ml/train-jobs/{job_id}")["status"] == "running",
            60,
            "the train job to start",
        )
        time.sleep(0.5)  # inside its computation (it takes seconds)
        children = wait_for(lambda: pool_processes(server.pid), 10, "the pool processes")
        os.kill(children[0], signal.SIGKILL)
        job = wait_for_status(
            lambda: get_json(f"{base}/api/ml/train-jobs/{job_id}"),
            {"completed", "failed"},
            120,
            "the train job",
        )
        body = wait_for_status(
            lambda: get_json(f"{base}/api/optimizations/{sweep_id}"),
            {"completed"},
            120,
            "the sweep",
        )
    finally:
        kill_group(server)
    assert job["status"] == "completed", job["error"]
    with engine.connect() as conn:
        job_attempts = conn.execute(
            text("SELECT attempts FROM ml_train_jobs WHERE id = :id"), {"id": job_id}
        ).scalar_one()
    assert job_attempts == 2
    assert body["counts"]["completed"] == 30 and body["counts"]["failed"] == 0
    trials, unfinished, _ = sweep_outcome(engine)
    assert trials == (30, 30) and unfinished == 0


def test_a_job_that_keeps_killing_its_pool_process_fails_and_only_it(
    engine, seeded, market_settings, database_url, tmp_path
):
    """The pool process is killed every time the train job computes (as if the job itself
    made the OOM killer strike). The first time a sweep run is in the pool too: both are run
    again, each alone. The train job keeps dying, alone, and fails after
    ``max_attempts`` (3) with that reason; the sweep's runs all complete."""
    env = cluster_env(market_settings, database_url, BROKERS["redis"][0], unique_queue())
    env.update(
        STOCKLEAN_WORKER_MODE="process",
        STOCKLEAN_WORKER_CONCURRENCY="2",
        STOCKLEAN_MAX_ATTEMPTS="3",
    )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(env, port, tmp_path / "server.log")

    def train_attempt() -> int | None:
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT status, attempts FROM ml_train_jobs WHERE id = :id"), {"id": job_id}
            ).one()
        return row.attempts if row.status == "running" else None

    try:
        job_id = httpx.post(
            f"{base}/api/ml/train-jobs", json={"project_id": 18, "params": SLOW_TRAIN_PARAMS}
        ).json()["id"]
        sweep_id = httpx.post(f"{base}/api/optimizations", json=SWEEP).json()["id"]
        for attempt in (1, 2, 3):
            wait_for(lambda n=attempt: train_attempt() == n, 60, f"train attempt {attempt}")
            time.sleep(0.3)
            children = wait_for(lambda: pool_processes(server.pid), 10, "the pool processes")
            os.kill(children[0], signal.SIGKILL)
        job = wait_for_status(
            lambda: get_json(f"{base}/api/ml/train-jobs/{job_id}"),
            {"completed", "failed"},
            60,
            "the train job",
        )
        body = wait_for_status(
            lambda: get_json(f"{base}/api/optimizations/{sweep_id}"),
            {"completed"},
            120,
            "the sweep",
        )
    finally:
        kill_group(server)
    assert job["status"] == "failed"
    assert job["error"] == "the worker process died while running this job (3 attempts)"
    assert body["counts"]["completed"] == 30 and body["counts"]["failed"] == 0
    trials, unfinished, _ = sweep_outcome(engine)
    assert trials == (30, 30) and unfinished == 0


def test_postgres_restart_mid_sweep_loses_nothing(market_settings, small_market_dir):
    """A PostgreSQL server of the test's own, restarted (fast shutdown: every connection
    cut) five times while a sweep and a train job run. Outcomes that could not be stored are
    stored later, claims and sweep advancement resume: the sweep completes with one
    completed run per trial and no run is left running."""
    from fastapi.testclient import TestClient

    from app.db import make_engine, make_session_factory, session_scope
    from app.main import create_app
    from app.migrate import upgrade

    postgres = ThrowawayPostgres()
    engine = make_engine(postgres.url)
    try:
        upgrade(engine)
        with session_scope(make_session_factory(engine)) as session:
            make_seed_world(session, small_market_dir / "scores.csv")
        market_settings.database_url = postgres.url
        market_settings.worker_mode = "thread"
        market_settings.worker_concurrency = 2

        def completed(client, sweep_id: int) -> int:
            return client.get(f"/api/optimizations/{sweep_id}").json()["counts"]["completed"]

        with TestClient(create_app(market_settings), raise_server_exceptions=False) as client:
            job_id = client.post(
                "/api/ml/train-jobs", json={"project_id": 18, "params": SLOW_TRAIN_PARAMS}
            ).json()["id"]
            sweep_id = client.post("/api/optimizations", json=SWEEP).json()["id"]
            for at_least in (3, 8, 13, 18, 23):
                wait_for(
                    lambda n=at_least: completed(client, sweep_id) >= n, 120, f"{at_least} done"
                )
                postgres.restart()
            body = wait_for_status(
                lambda: client.get(f"/api/optimizations/{sweep_id}").json(),
                {"completed"},
                180,
                "the sweep",
            )
            job = wait_for_status(
                lambda: client.get(f"/api/ml/train-jobs/{job_id}").json(),
                {"completed", "failed"},
                120,
                "the train job",
            )
        assert body["counts"]["completed"] == 30
        assert job["status"] == "completed", job["error"]
        trials, unfinished, _ = sweep_outcome(engine)
        assert trials == (30, 30) and unfinished == 0
    finally:
        engine.dispose()
        postgres.close()
