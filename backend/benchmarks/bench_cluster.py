"""Benchmark: the 1,000-trial sweep on the local process pool and on Celery workers, and the
time from a Celery worker's death (SIGKILL of the whole worker) to its task's restart on
another worker. Prints numbers; asserts nothing.

    python backend/benchmarks/bench_cluster.py [--trials 1000] [--workers 2] [--inflight 8]
        [--brokers redis,rabbitmq] [--skip-sweeps] [--skip-death]

Setup (not timed): the 500-stock SYNTHETIC demo market and momentum proxy scores (as in
bench_optimization.py), one SQLite database per server in a temporary directory. Sweep: a
real ``stocklean serve`` with process workers × ``--workers``, then one with
``WORKER_MODE=celery`` and ``--workers`` ``stocklean worker --concurrency 1`` processes on
the same machine (Redis broker and results); each times POST -> completed -> top 3.
Death: two workers, a LightGBM train job; once a worker holds it (its lease names the
worker) that worker's process group is killed, and we time until the other worker holds
the job. With Redis this is the lease (``--lease`` s) plus at most a reconciliation tick;
with RabbitMQ the broker hands the unacknowledged task over as the connection drops.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "backend"))
sys.path.insert(0, str(HERE))

from bench_optimization import bench_market, free_port, machine, run_sweep  # noqa: E402

BROKERS = {
    "redis": ("redis://127.0.0.1:6379/11", ("127.0.0.1", 6379)),
    "rabbitmq": ("amqp://guest:guest@127.0.0.1:5672//", ("127.0.0.1", 5672)),
}
RESULT_BACKEND = "redis://127.0.0.1:6379/12"
BASELINE = {
    "strategy": "ml_score_vol_target",
    "backtest_start": "2020-01-01",
    "backtest_end": "2026-01-13",
    "top_n": 20,
    "max_exposure": 0.70,
    "vol_target": 0.050,
    "max_weight": 0.035,
    "risk_off_symbols": "SHY,IEF,GLD,TLT",
}
TRAIN_PARAMS = {"model": "lightgbm", "score_start": "2024-01-02", "retrain_interval": 21}


def answers(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=1):
            return True
    except OSError:
        return False


class Cluster:
    """A server (and optionally Celery workers) on a fresh SQLite database."""

    def __init__(self, workdir: Path, data_dir: Path, mode: str, args, broker: str = "") -> None:
        self.dir = workdir / f"{mode}-{uuid.uuid4().hex[:6]}"
        self.dir.mkdir()
        self.database_url = f"sqlite:///{self.dir / 'bench.db'}"
        self.env = {
            **os.environ,
            "STOCKLEAN_DATABASE_URL": self.database_url,
            "STOCKLEAN_DATA_DIR": str(data_dir),
            "STOCKLEAN_ARTIFACTS_DIR": str(self.dir / "artifacts"),
            "STOCKLEAN_REPORTS_DIR": str(self.dir / "reports"),
            "STOCKLEAN_MAX_TRIALS": str(max(2000, args.trials)),
            "STOCKLEAN_WORKER_MODE": mode,
            "STOCKLEAN_WORKER_CONCURRENCY": str(
                args.inflight if mode == "celery" else args.workers
            ),
            "STOCKLEAN_CELERY_BROKER_URL": broker,
            "STOCKLEAN_CELERY_RESULT_BACKEND": RESULT_BACKEND,
            "STOCKLEAN_CELERY_QUEUE": f"stocklean-bench-{uuid.uuid4().hex[:8]}",
            "STOCKLEAN_WORKER_LEASE_SECONDS": str(args.lease),
        }
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.processes: list[subprocess.Popen] = []
        self.server = self._spawn(["serve", "--port", str(self.port), "--log-level", "warning"])
        self.client = httpx.Client(timeout=60)
        self._wait(lambda: self.client.get(f"{self.base}/api/health").status_code == 200)

    def _spawn(self, command: list[str]) -> subprocess.Popen:
        log = (self.dir / f"{command[0]}-{len(self.processes)}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", *command],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes.append(process)
        return process

    def start_worker(self, name: str) -> subprocess.Popen:
        return self._spawn(
            ["worker", "--concurrency", "1", "--hostname", f"{name}@%h", "--loglevel", "WARNING"]
        )

    def wait_workers(self, count: int) -> None:
        self._wait(
            lambda: self.client.get(f"{self.base}/api/health").json().get("workers") == count
        )

    @staticmethod
    def _wait(condition, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if condition():
                    return
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.1)
        raise SystemExit("timed out waiting for the cluster")

    def seed(self, scores: Path) -> dict:
        project = self.client.post(f"{self.base}/api/projects", json={"name": "bench"}).json()
        with scores.open("rb") as handle:
            job = self.client.post(
                f"{self.base}/api/ml/train-jobs/import",
                data={"project_id": str(project["id"])},
                files={"file": ("scores.csv", handle, "text/csv")},
            ).json()
        algorithm = dict(BASELINE, score_csv_path=job["scores_path"])
        run = self.client.post(
            f"{self.base}/api/backtests",
            json={"project_id": project["id"], "params": {"algorithm_parameters": algorithm}},
        ).json()
        self._wait(
            lambda: (
                self.client.get(f"{self.base}/api/backtests/{run['id']}").json()["status"]
                == "completed"
            )
        )
        return {"project": project["id"], "train_job": job["id"], "baseline": run["id"]}

    def close(self) -> None:
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def big_sweep(cluster: Cluster, seed: dict, trials: int) -> dict:
    side = round(trials ** (1 / 3))
    grid = {
        "max_exposure": [round(0.40 + 0.05 * i, 2) for i in range(side)],
        "vol_target": [round(0.030 + 0.004 * i, 3) for i in range(side)],
        "max_weight": [round(0.020 + 0.003 * i, 3) for i in range(side)],
    }
    body = {
        "baseline_run_id": seed["baseline"],
        "train_job_id": seed["train_job"],
        "backtest_start": "2020-01-01",
        "backtest_end": "2026-01-13",
        "overrides": {"risk_off_symbols": "VGSH,IEF,GLD,TLT"},
        "search": {"grid": grid},
        "max_inflight": 64,
    }
    return run_sweep(cluster.client, cluster.base, body, cluster.server.pid)


def death_to_restart(cluster: Cluster, scores: Path) -> float:
    """Kill the worker that holds a train job; seconds until the other worker holds it."""
    from sqlalchemy import create_engine, text

    engine = create_engine(cluster.database_url)
    workers = {name: cluster.start_worker(name) for name in ("alpha", "beta")}
    cluster.wait_workers(2)
    seed = cluster.seed(scores)
    job = cluster.client.post(
        f"{cluster.base}/api/ml/train-jobs",
        json={"project_id": seed["project"], "params": TRAIN_PARAMS},
    ).json()

    def holder() -> str:
        with engine.connect() as conn:
            return (
                conn.execute(
                    text("SELECT worker FROM ml_train_jobs WHERE id = :id AND status = 'running'"),
                    {"id": job["id"]},
                ).scalar_one_or_none()
                or ""
            )

    cluster._wait(lambda: holder().split("@")[0] in workers)
    victim = holder().split("@")[0]
    os.killpg(workers[victim].pid, signal.SIGKILL)
    killed = time.monotonic()
    cluster._wait(lambda: holder() and not holder().startswith(victim), timeout=600)
    restart = time.monotonic() - killed
    cluster._wait(
        lambda: (
            cluster.client.get(f"{cluster.base}/api/ml/train-jobs/{job['id']}").json()["status"]
            == "completed"
        ),
        timeout=600,
    )
    engine.dispose()
    return restart


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--inflight", type=int, default=8, help="tasks the Celery server sends")
    parser.add_argument("--lease", type=float, default=30.0)
    parser.add_argument("--brokers", default="redis,rabbitmq")
    parser.add_argument("--skip-sweeps", action="store_true")
    parser.add_argument("--skip-death", action="store_true")
    args = parser.parse_args()

    workdir, data_dir, scores = bench_market("stocklean-bench-cluster-")

    rows: list[str] = []
    if not args.skip_sweeps:
        local = Cluster(workdir, data_dir, "process", args)
        try:
            result = big_sweep(local, local.seed(scores), args.trials)
            rows.append(
                f"| {result['trials']}-trial sweep, local process pool × {args.workers} "
                f"| {result['wall']:.1f} s |"
            )
        finally:
            local.close()
        celery = Cluster(workdir, data_dir, "celery", args, BROKERS["redis"][0])
        try:
            for index in range(args.workers):
                celery.start_worker(f"w{index}")
            celery.wait_workers(args.workers)
            result = big_sweep(celery, celery.seed(scores), args.trials)
            rows.append(
                f"| {result['trials']}-trial sweep, {args.workers} Celery workers (Redis), "
                f"{args.inflight} in flight | {result['wall']:.1f} s |"
            )
        finally:
            celery.close()
    if not args.skip_death:
        for broker in args.brokers.split(","):
            url, address = BROKERS[broker]
            if not answers(address):
                rows.append(f"| worker death -> task restarted ({broker}) | no {broker} |")
                continue
            cluster = Cluster(workdir, data_dir, "celery", args, url)
            try:
                seconds = death_to_restart(cluster, scores)
                rows.append(
                    f"| worker SIGKILL -> its task held by the other worker ({broker}, "
                    f"lease {args.lease:g} s) | {seconds:.1f} s |"
                )
            finally:
                cluster.close()

    print(f"machine: {machine()}")
    print("data: SYNTHETIC demo market, 500 stocks + 6 ETFs, momentum proxy scores; SQLite")
    print()
    print("| measurement | measured |")
    print("|---|---|")
    for row in rows:
        print(row)


if __name__ == "__main__":
    main()
