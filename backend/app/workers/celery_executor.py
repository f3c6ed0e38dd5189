"""An Executor that sends the local pool's work to Celery workers instead.

``submit(fn, payload)`` sends the task named after ``fn`` and returns a
``concurrent.futures.Future`` that a poller thread completes from the Celery result, so the
dispatcher treats it exactly like a process-pool future.
"""

from __future__ import annotations

import threading
from concurrent.futures import Executor, Future
from typing import Any

from app.workers import tasks

TASK_NAMES = {
    tasks.execute_backtest: "stocklean.execute_backtest",
    tasks.execute_train_job: "stocklean.execute_train_job",
}


class CeleryExecutor(Executor):
    def __init__(self, broker_url: str, result_backend: str, poll_seconds: float = 0.05) -> None:
        from app.workers.celery_app import make_celery

        self._celery = make_celery(broker_url, result_backend)
        self._pending: list[tuple[Future, Any]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._poll_seconds = poll_seconds
        self._poller = threading.Thread(target=self._poll, name="celery-results", daemon=True)
        self._poller.start()

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        result = self._celery.send_task(TASK_NAMES[fn], args=args, kwargs=kwargs)
        future.set_running_or_notify_cancel()
        with self._lock:
            self._pending.append((future, result))
        return future

    def _poll(self) -> None:
        while not self._stop.wait(self._poll_seconds):
            with self._lock:
                pending = list(self._pending)
            for future, result in pending:
                try:
                    if not result.ready():
                        continue
                    if result.successful():
                        future.set_result(result.get(disable_sync_subtasks=False))
                    else:
                        future.set_exception(RuntimeError(f"celery task failed: {result.result}"))
                    result.forget()
                except Exception as exc:  # broker or backend unreachable: report, keep polling
                    if not future.done():
                        future.set_exception(exc)
                with self._lock:
                    self._pending.remove((future, result))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._stop.set()
        if wait:
            self._poller.join(timeout=5)
