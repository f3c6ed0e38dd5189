"""Where the dispatcher's tasks execute: a local process (or thread) pool here, Celery
workers in ``celery_executor``. Both take ``submit(kind, payload, task_id)`` and answer with
a ``concurrent.futures.Future`` of the task's outcome; a future that fails with
:class:`WorkerLost` (or the pool's ``BrokenProcessPool``) means the process running the
task died, which the dispatcher answers with a retry, not a failed run."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from app.config import Settings
from app.workers import tasks

FUNCTIONS = {"backtest": tasks.execute_backtest, "train": tasks.execute_train_job}
LOST_ERRORS: tuple[type[BaseException], ...]


class WorkerLost(Exception):
    """The process executing a task died before it answered (kill -9, the OOM killer)."""


LOST_ERRORS = (WorkerLost, BrokenProcessPool)


class LocalExecutor:
    """A process pool (``worker_mode="process"``) or a thread pool (``"thread"``) in the
    server process. A pool broken by a dead child is replaced on the next submit."""

    # Local work dies with the server: nothing to adopt after a restart, no leases.
    adopts_running = False

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._pool = self._make_pool()
        self.generation = 0  # counts pools: the jobs of a broken one died together

    def _make_pool(self) -> Executor:
        concurrency = self._settings.worker_concurrency
        if self._settings.worker_mode == "thread":
            return ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="worker")
        # spawn, not fork: the server process has threads, and forking those is unsafe.
        return ProcessPoolExecutor(
            max_workers=concurrency,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=tasks.warm_up,
            initargs=(
                self._settings.data_source,
                str(self._settings.data_dir),
                self._settings.worker_nice,
            ),
        )

    def submit(self, kind: str, payload: dict[str, Any], task_id: str) -> Future:
        try:
            return self._pool.submit(FUNCTIONS[kind], payload)
        except BrokenProcessPool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._make_pool()
            self.generation += 1
            return self._pool.submit(FUNCTIONS[kind], payload)

    def release_idle(self) -> None:
        """Let an idle process pool's workers go (each holds the market panel and its own
        imports, ~300 MB); the next submit starts new ones. The caller knows that no task
        is in flight. A thread pool holds nothing of its own and is kept."""
        if self._settings.worker_mode == "thread":
            return
        self._pool.shutdown(wait=True)
        self._pool = self._make_pool()

    def adopt(self, kind: str, task_id: str) -> Future:
        raise NotImplementedError("a local pool has no tasks outside this process")

    def finished(self, task_id: str) -> bool:
        return False

    def seen(self, task_id: str) -> bool:
        return False

    def release(self, task_id: str) -> None: ...

    def abandon(self, task_id: str) -> None: ...

    def workers_answering(self) -> int | None:
        return None

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
