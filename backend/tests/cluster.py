"""Real parts for the cluster tests: Celery workers started with `stocklean worker` in
their own process groups (so SIGKILL takes a worker whole), the brokers, and a throwaway
PostgreSQL cluster that a test may restart without disturbing the shared server."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

REDIS = ("127.0.0.1", 6379)
RABBITMQ = ("127.0.0.1", 5672)
BROKERS = {
    "redis": ("redis://127.0.0.1:6379/13", REDIS),
    "rabbitmq": ("amqp://guest:guest@127.0.0.1:5672//", RABBITMQ),
}
# Results go to Redis with either broker (DB 14, apart from anything else kept there).
RESULT_BACKEND = "redis://127.0.0.1:6379/14"
REQUIRE_SERVICES = bool(os.environ.get("STOCKLEAN_REQUIRE_SERVICES"))


def answers(address: tuple[str, int]) -> bool:
    try:
        with socket.create_connection(address, timeout=1):
            return True
    except OSError:
        return False


def need(name: str, address: tuple[str, int]) -> None:
    """Skip without the service on a dev machine; fail where CI promised it."""
    if answers(address):
        return
    message = f"no {name} at {address[0]}:{address[1]}"
    if REQUIRE_SERVICES:
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def unique_queue() -> str:
    """A queue of this test's own: other suites may share the brokers on this machine."""
    return f"stocklean-test-{uuid.uuid4().hex[:12]}"


def cluster_env(settings, database_url: str, broker: str, queue: str) -> dict[str, str]:
    return {
        **os.environ,
        "STOCKLEAN_DATABASE_URL": database_url,
        "STOCKLEAN_DATA_DIR": str(settings.data_dir),
        "STOCKLEAN_ARTIFACTS_DIR": str(settings.artifacts_dir),
        "STOCKLEAN_REPORTS_DIR": str(settings.reports_dir),
        "STOCKLEAN_CELERY_BROKER_URL": broker,
        "STOCKLEAN_CELERY_RESULT_BACKEND": RESULT_BACKEND,
        "STOCKLEAN_CELERY_QUEUE": queue,
        "STOCKLEAN_WORKER_LEASE_SECONDS": str(settings.worker_lease_seconds),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }


@dataclass
class Worker:
    name: str
    process: subprocess.Popen
    log: Path

    def executions(self, task: str = "stocklean.execute_backtest") -> int:
        """Tasks this worker finished, from its log (Celery logs each one it ran)."""
        lines = self.log.read_text(errors="replace").splitlines()
        return sum(1 for line in lines if f"Task {task}[" in line and " succeeded in " in line)

    def kill(self) -> None:
        """SIGKILL the whole worker: its main process and its pool process."""
        kill_group(self.process)


def start_worker(env: dict[str, str], name: str, log_dir: Path, concurrency: int = 1) -> Worker:
    log = log_dir / f"{name}.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app.cli",
                "worker",
                "--concurrency",
                str(concurrency),
                "--hostname",
                f"{name}@%h",
                "--loglevel",
                "INFO",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Worker(name, process, log)


def stop_worker(worker: Worker) -> None:
    if worker.process.poll() is None:
        kill_group(worker.process)


def kill_group(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def wait_for(condition, timeout: float, what: str, poll: float = 0.05):
    """Call ``condition`` until it returns something truthy (errors count as not yet)."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # the server or database may be restarting
            last_error = exc
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} ({last_error!r})")


class ThrowawayPostgres:
    """A PostgreSQL cluster of its own in a temp dir (initdb + pg_ctl, as the ``postgres``
    user when the tests run as root), on a free port, that a test may restart."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not bins and not shutil.which("pg_ctl"):
            message = "no PostgreSQL server binaries (initdb, pg_ctl)"
            if REQUIRE_SERVICES:
                pytest.fail(message)
            pytest.skip(message)
        self.bindir = Path(bins[-1]).parent if bins else Path(shutil.which("pg_ctl")).parent
        self.root = Path(tempfile.mkdtemp(prefix="stocklean-pg-"))
        self.datadir = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.datadir), "-U", "postgres", "--auth=trust", "-N")
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def _ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            "pg_ctl",
            action,
            "-D",
            str(self.datadir),
            "-l",
            str(self.root / "log"),
            "-o",
            options,
            "-w",
            *extra,
        )

    def start(self) -> None:
        self._ctl("start")

    def restart(self) -> None:
        """As ``pg_ctlcluster ... restart -m fast``: every connection is cut."""
        self._ctl("restart", "-m", "fast")

    def close(self) -> None:
        try:
            self._run("pg_ctl", "stop", "-D", str(self.datadir), "-m", "immediate", "-w")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
