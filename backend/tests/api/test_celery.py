"""worker_mode="celery": a real Celery worker (Redis broker and result backend) executes the
runs the server claims; only settings differ from the local pool."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

REDIS = ("127.0.0.1", 6379)
# Databases of their own, so the suite never touches anything else kept in this Redis.
BROKER = "redis://127.0.0.1:6379/13"
BACKEND = "redis://127.0.0.1:6379/14"


def redis_answers() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(
        not redis_answers() and not os.environ.get("STOCKLEAN_REQUIRE_SERVICES"),
        reason="no Redis at 127.0.0.1:6379",
    ),
]


@pytest.fixture
def celery_worker(market_settings):
    import redis

    for url in (BROKER, BACKEND):
        redis.Redis.from_url(url).flushdb()
    env = {
        **os.environ,
        "STOCKLEAN_CELERY_BROKER_URL": BROKER,
        "STOCKLEAN_CELERY_RESULT_BACKEND": BACKEND,
        "STOCKLEAN_DATA_DIR": str(market_settings.data_dir),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "app.workers.celery_app",
            "worker",
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
        ],
        env=env,
        start_new_session=True,
    )
    yield process
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


def test_runs_execute_on_celery_workers(engine, market_settings, seeded, celery_worker):
    from fastapi.testclient import TestClient

    from app.main import create_app

    market_settings.worker_mode = "celery"
    market_settings.celery_broker_url = BROKER
    market_settings.celery_result_backend = BACKEND
    with TestClient(create_app(market_settings)) as client:
        bad = client.post(
            "/api/backtests",
            json={"project_id": 18, "params": {"algorithm_parameters": {"strategy": "nope"}}},
        ).json()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            runs = {run["id"]: run for run in client.get("/api/backtests").json()["items"]}
            if all(run["status"] in {"completed", "failed"} for run in runs.values()):
                break
            time.sleep(0.2)
        baseline, failed = runs[615], runs[bad["id"]]
        assert baseline["status"] == "completed", baseline["error"]
        assert baseline["metrics"]["statistics"]["Total Orders"] != "0"
        assert failed["status"] == "failed" and "nope" in failed["error"]
