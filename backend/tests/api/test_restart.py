"""Kill a real `stocklean serve` (SIGKILL, process workers) mid-sweep and start it again:
the sweep ends with one run per trial, none lost, none duplicated."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest
from factories import SEED_BODY
from sqlalchemy import text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(env: dict[str, str], port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        start_new_session=True,  # its own process group: SIGKILL takes the workers too
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError("server did not start")


def kill_hard(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


@pytest.mark.timeout(240)
def test_sigkill_mid_sweep_then_restart_loses_and_duplicates_nothing(
    engine, seeded, market_settings, database_url
):
    env = {
        **os.environ,
        "STOCKLEAN_DATABASE_URL": database_url,
        "STOCKLEAN_DATA_DIR": str(market_settings.data_dir),
        "STOCKLEAN_ARTIFACTS_DIR": str(market_settings.artifacts_dir),
        "STOCKLEAN_REPORTS_DIR": str(market_settings.reports_dir),
        "STOCKLEAN_WORKER_MODE": "process",
        "STOCKLEAN_WORKER_CONCURRENCY": "2",
        "PYTHONPATH": os.pathsep.join([str(market_settings.data_dir), *sys.path]),
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(env, port)
    try:
        sweep = httpx.post(f"{base}/api/optimizations", json=dict(SEED_BODY, max_inflight=2))
        assert sweep.status_code == 201, sweep.text
        sweep_id = sweep.json()["id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            counts = httpx.get(f"{base}/api/optimizations/{sweep_id}").json()["counts"]
            if counts["completed"] >= 3:
                break
            time.sleep(0.05)
        assert counts["completed"] >= 3
    finally:
        kill_hard(server)
    with engine.connect() as conn:
        submitted = conn.execute(
            text("SELECT count(*) FROM optimization_trials WHERE run_id IS NOT NULL")
        ).scalar_one()
    assert submitted < 30, "the kill came too late to test a restart"

    server = start_server(env, port)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            body = httpx.get(f"{base}/api/optimizations/{sweep_id}").json()
            if body["status"] == "completed":
                break
            time.sleep(0.1)
        assert body["status"] == "completed", body
        assert body["counts"]["completed"] == 30
    finally:
        kill_hard(server)

    with engine.connect() as conn:
        trials = conn.execute(
            text("SELECT count(*), count(DISTINCT run_id) FROM optimization_trials")
        ).one()
        runs = conn.execute(text("SELECT count(*) FROM backtest_runs WHERE id <> 615")).scalar_one()
        statuses = set(
            conn.execute(text("SELECT status FROM backtest_runs WHERE id <> 615")).scalars()
        )
    assert tuple(trials) == (30, 30)
    assert runs == 30
    assert statuses == {"completed"}
