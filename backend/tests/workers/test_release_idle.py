"""An idle local process pool lets its workers go before a big sweep's analysis; the next
task starts new ones."""

from __future__ import annotations

import os

from app.workers.executors import LocalExecutor


def test_release_idle_ends_the_workers_and_the_next_task_starts_new_ones(settings):
    settings.worker_mode = "process"
    settings.worker_concurrency = 1
    executor = LocalExecutor(settings)
    try:
        first = executor._pool.submit(os.getpid).result(timeout=60)
        executor.release_idle()
        second = executor._pool.submit(os.getpid).result(timeout=60)
        assert first != second and os.getpid() not in (first, second)
        assert executor.generation == 0  # released, not broken: no job counts as lost
        try:
            os.kill(first, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        assert not alive
    finally:
        executor.shutdown()


def test_a_thread_pool_is_kept(settings):
    settings.worker_mode = "thread"
    executor = LocalExecutor(settings)
    pool = executor._pool
    executor.release_idle()
    assert executor._pool is pool
    executor.shutdown()
