"""The dispatcher's executor for ``worker_mode="celery"``: tasks go to Celery workers.

``submit`` sends the task under the task id stored on the run, so a restarted server can
``adopt`` it (wait for its result by id) instead of sending it again. A poller thread turns
results into ``concurrent.futures.Future`` outcomes: success, a task failure, or
:class:`WorkerLost` when the worker's pool process died mid-task (Celery stores a
``WorkerLostError`` failure: ``task_acks_late`` without ``task_reject_on_worker_lost``). A
broker or result backend that does not answer is waited for, never turned into a failed run.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from typing import Any

from celery.result import AsyncResult
from celery.states import READY_STATES

from app.config import Settings
from app.workers.executors import WorkerLost

log = logging.getLogger(__name__)

TASK_NAMES = {"backtest": "stocklean.execute_backtest", "train": "stocklean.execute_train_job"}
LOST_ERROR_NAMES = {"WorkerLostError", "WorkerLost"}


class CeleryExecutor:
    adopts_running = True

    def __init__(self, settings: Settings, poll_seconds: float = 0.05) -> None:
        from app.workers.celery_app import make_celery

        self._celery = make_celery(settings)
        self._queue = settings.celery_queue
        self._pending: dict[str, tuple[Future, AsyncResult]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._poll_seconds = poll_seconds
        self._workers_cache: tuple[float, int] | None = None
        self._poller = threading.Thread(target=self._poll, name="celery-results", daemon=True)
        self._poller.start()

    def submit(self, kind: str, payload: dict[str, Any], task_id: str) -> Future:
        result = self._celery.send_task(
            TASK_NAMES[kind], args=(payload,), task_id=task_id, queue=self._queue
        )
        return self._track(task_id, result)

    def adopt(self, kind: str, task_id: str) -> Future:
        """Wait for a task that an earlier server sent."""
        return self._track(task_id, AsyncResult(task_id, app=self._celery))

    def _track(self, task_id: str, result: AsyncResult) -> Future:
        future: Future = Future()
        future.set_running_or_notify_cancel()
        with self._lock:
            self._pending[task_id] = (future, result)
        return future

    def finished(self, task_id: str) -> bool:
        """The task's result is in the backend (it must not be re-sent)."""
        try:
            return AsyncResult(task_id, app=self._celery).state in READY_STATES
        except Exception:
            log.warning("result backend unreachable checking task %s", task_id, exc_info=True)
            return True  # unknown: do not re-send on a guess; the lease is checked again

    def seen(self, task_id: str) -> bool:
        """A worker has received the task (it started or finished)."""
        return AsyncResult(task_id, app=self._celery).state != "PENDING"

    def release(self, task_id: str) -> None:
        """The outcome is stored in the database: the backend's copy can go."""
        try:
            AsyncResult(task_id, app=self._celery).forget()
        except Exception:  # it expires by itself (result_expires)
            log.debug("could not forget task %s", task_id, exc_info=True)

    def abandon(self, task_id: str) -> None:
        """The task is given up (its worker died): stop waiting, and tell the workers to
        drop it should the broker deliver it again (Redis after its visibility timeout)."""
        with self._lock:
            self._pending.pop(task_id, None)
        try:
            self._celery.control.revoke(task_id)
        except Exception:
            log.warning("could not revoke task %s", task_id, exc_info=True)

    def workers_answering(self) -> int | None:
        """How many workers consume this server's queue and answer within a second (cached
        for a few seconds so that health checks stay cheap)."""
        now = time.monotonic()
        if self._workers_cache is not None and now - self._workers_cache[0] < 3:
            return self._workers_cache[1]
        try:
            replies = self._celery.control.inspect(timeout=1.0).active_queues() or {}
        except Exception:
            log.warning("broker unreachable asking workers", exc_info=True)
            replies = {}
        count = sum(
            1 for queues in replies.values() if any(q.get("name") == self._queue for q in queues)
        )
        self._workers_cache = (now, count)
        return count

    def _poll(self) -> None:
        failures = 0
        while not self._stop.wait(self._poll_seconds):
            with self._lock:
                pending = list(self._pending.items())
            try:
                for task_id, (future, result) in pending:
                    if self._settle(future, result):
                        with self._lock:
                            self._pending.pop(task_id, None)
                failures = 0
            except Exception:
                # The result backend is down or restarting: the tasks still run; keep asking.
                failures += 1
                if failures in (1, 100) or failures % 1000 == 0:
                    log.warning("result backend unreachable; retrying", exc_info=True)

    @staticmethod
    def _settle(future: Future, result: AsyncResult) -> bool:
        meta = result._get_task_meta()  # one backend read for state and value together
        state = meta.get("status")
        if state not in READY_STATES:
            return False
        value = meta.get("result")
        if state == "SUCCESS":
            future.set_result(value)
        elif type(value).__name__ in LOST_ERROR_NAMES or (
            isinstance(value, dict) and value.get("exc_type") in LOST_ERROR_NAMES
        ):
            future.set_exception(WorkerLost(f"worker lost: {value}"))
        else:
            future.set_exception(RuntimeError(f"celery task {state.lower()}: {value}"))
        return True

    def shutdown(self) -> None:
        self._stop.set()
        self._poller.join(timeout=5)
