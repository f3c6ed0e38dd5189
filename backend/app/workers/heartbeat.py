"""A Celery worker's lease heartbeat: every ``worker_lease_seconds / 3`` seconds (and as
soon as a task arrives) the worker's main process writes ``heartbeat_at`` on every job whose
task it holds, reserved or executing.

Why the database and not the broker: the server must notice a worker that vanished (kill -9
of the whole worker, a lost machine) within a lease on every broker. RabbitMQ hands such a
worker's unacknowledged task to another worker at once (same task id: the heartbeat simply
moves); Redis only after its visibility timeout, an hour. A lease the server can read next to
the run works the same on both, and the server re-sends a run whose lease ran out
(``app.workers.local``). A task still waiting in the broker's queue has no lease yet and is
never re-sent: it is not lost.
"""

from __future__ import annotations

import logging
import os
import threading

from celery import Celery, bootsteps, signals
from celery.worker import state as worker_state

from app.config import Settings
from app.db import make_engine, make_session_factory, session_scope
from app.services import run_tasks

log = logging.getLogger(__name__)

KIND_OF_TASK = {"stocklean.execute_backtest": "backtest", "stocklean.execute_train_job": "train"}


def held_tasks() -> dict[str, str]:
    """Task id -> task name of every request this worker holds."""
    for _ in range(5):
        try:
            requests = [*worker_state.reserved_requests, *worker_state.active_requests]
            return {request.id: request.name for request in requests}
        except RuntimeError:  # the set changed while we read it: read again
            continue
    return {}


def install(app: Celery, settings: Settings) -> None:
    interval = settings.worker_lease_seconds / 3

    class LeaseHeartbeat(bootsteps.StartStopStep):
        label = "lease heartbeat"

        def __init__(self, worker, **kwargs):
            super().__init__(worker, **kwargs)
            self._stop = threading.Event()
            self._wake = threading.Event()
            self._arrived: dict[str, str] = {}
            self._thread: threading.Thread | None = None
            self._worker_id = f"{getattr(worker, 'hostname', 'celery')}:{os.getpid()}"

        def start(self, worker):
            signals.task_received.connect(self._on_received, weak=False)
            self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)
            self._thread.start()

        def stop(self, worker):
            self._stop.set()
            self._wake.set()

        def _on_received(self, sender=None, request=None, **_kwargs):
            if request is not None:
                self._arrived[request.id] = request.name
                self._wake.set()

        def _run(self):
            engine = make_engine(settings.database_url)
            factory = make_session_factory(engine)
            while not self._stop.is_set():
                self._wake.clear()
                held = {**held_tasks(), **self._arrived}
                self._arrived = {}
                by_kind: dict[str, list[str]] = {}
                for task_id, name in held.items():
                    if name in KIND_OF_TASK:
                        by_kind.setdefault(KIND_OF_TASK[name], []).append(task_id)
                try:
                    with session_scope(factory) as session:
                        for kind, task_ids in by_kind.items():
                            run_tasks.heartbeat(session, kind, task_ids, self._worker_id)
                except Exception:
                    # The database is restarting: the lease is longer than the interval, and
                    # the server does not expire leases while it cannot read them either.
                    log.warning("lease heartbeat failed; retrying", exc_info=True)
                self._wake.wait(interval)
            engine.dispose()

    app.steps["worker"].add(LeaseHeartbeat)
