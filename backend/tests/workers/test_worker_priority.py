"""A local process pool's workers run at a lower priority than the server (WORKER_NICE), so
the API answers first while a sweep takes the idle cores."""

from __future__ import annotations

import os

import pytest

from app.workers.executors import LocalExecutor


@pytest.mark.parametrize("nice", [0, 7])
def test_pool_workers_run_at_the_configured_niceness(settings, nice):
    settings.worker_mode = "process"
    settings.worker_concurrency = 1
    settings.worker_nice = nice
    executor = LocalExecutor(settings)
    try:
        server_niceness = os.nice(0)
        worker_niceness = executor._pool.submit(os.nice, 0).result(timeout=60)
        assert worker_niceness == min(server_niceness + nice, 19)
        assert os.nice(0) == server_niceness  # the server itself is untouched
    finally:
        executor.shutdown()


@pytest.mark.parametrize("nice", [-1, 20])
def test_a_niceness_outside_0_to_19_is_refused(nice):
    from pydantic import ValidationError

    from app.config import Settings

    with pytest.raises(ValidationError, match="worker_nice"):
        Settings(worker_nice=nice)
