"""A local pool's workers end when their server dies (a SIGKILL of the server, or a pool the
server rebuilt while it was being stopped): none runs on, orphaned, with the market panel."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SERVER = """
import os, sys, time
from app.config import Settings
from app.workers.executors import LocalExecutor

settings = Settings(worker_mode="process", worker_concurrency=1, data_dir=sys.argv[1])
executor = LocalExecutor(settings)
print(executor._pool.submit(os.getpid).result(timeout=60), flush=True)
time.sleep(600)
"""


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (an unreaped zombie counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_pool_workers_exit_when_their_server_is_killed(tmp_path):
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    worker = None
    try:
        worker = int(server.stdout.readline())
        assert running(worker)
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        deadline = time.monotonic() + 20
        while running(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not running(worker)
    finally:
        server.kill()
        server.wait(timeout=10)
        if worker is not None and running(worker):  # the failure's orphan
            os.kill(worker, signal.SIGKILL)
