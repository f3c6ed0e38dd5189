"""Celery: the same tasks as the local pool, executed by workers on other machines.

Run workers with ``celery -A app.workers.celery_app worker`` and the server with
``STOCKLEAN_WORKER_MODE=celery``. The server's dispatcher still owns the database: it claims
queued runs, schedules sweeps and records outcomes; Celery only carries the work
(``app.workers.tasks``, plain data in and out) to the workers and the outcome back. Workers
must see the same data, artifacts and scores paths (a shared filesystem).
"""

from __future__ import annotations

from celery import Celery

from app.config import get_settings
from app.workers import tasks


def make_celery(broker_url: str, result_backend: str) -> Celery:
    app = Celery("stocklean", broker=broker_url, backend=result_backend)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        # A backtest is CPU-bound: one at a time per worker process, acknowledged when done,
        # so a worker that dies hands its task to another.
        worker_prefetch_multiplier=1,
        task_acks_late=True,
        result_expires=3600,
    )
    app.task(name="stocklean.execute_backtest")(tasks.execute_backtest)
    app.task(name="stocklean.execute_train_job")(tasks.execute_train_job)
    return app


_settings = get_settings()
app = make_celery(_settings.celery_broker_url, _settings.celery_result_backend)
