"""Celery: the same tasks as the local pool, executed by workers on other machines.

Start workers with ``stocklean worker`` (or ``celery -A app.workers.celery_app worker``) and
the server with ``STOCKLEAN_WORKER_MODE=celery``. The server's dispatcher owns the
database: it claims queued runs, schedules sweeps and records outcomes; Celery carries the
work (``app.workers.tasks``, plain data in and out) to the workers and the outcome back.
Each worker renews, in the database, the lease of the tasks it holds
(``app.workers.heartbeat``), so the server sees a dead worker within a lease on any broker.
Workers must see the same data, artifacts and scores paths (a shared filesystem).
"""

from __future__ import annotations

from celery import Celery

from app.config import Settings, get_settings
from app.workers import tasks


def make_celery(settings: Settings) -> Celery:
    app = Celery(
        "stocklean", broker=settings.celery_broker_url, backend=settings.celery_result_backend
    )
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_default_queue=settings.celery_queue,
        # A backtest is CPU-bound: one at a time per worker process, acknowledged when done.
        # With RabbitMQ a worker that vanishes hands its unacknowledged task to another at
        # once; with Redis the task comes back only after the visibility timeout (an hour),
        # which is why the server also watches leases (app.workers.heartbeat) and re-sends.
        worker_prefetch_multiplier=1,
        task_acks_late=True,
        # A pool process that dies mid-task (the OOM killer) is recorded as a WorkerLostError
        # failure and acknowledged, not requeued by the broker: the server then retries the
        # run a bounded number of times (settings.max_attempts), so a task that kills its
        # worker every time fails instead of looping forever.
        task_reject_on_worker_lost=False,
        # Results stay until the server stored them (it forgets them then); an hour covers a
        # server restart.
        result_expires=3600,
        # STARTED in the backend tells a restarted server that a task it cannot prove it
        # sent did reach a worker (see LocalWorkerPool._reconcile).
        task_track_started=True,
        broker_connection_retry_on_startup=True,
    )
    app.task(name="stocklean.execute_backtest")(tasks.execute_backtest)
    app.task(name="stocklean.execute_train_job")(tasks.execute_train_job)
    return app


def make_worker_app(settings: Settings) -> Celery:
    """The app a worker runs: the tasks plus the heartbeat that renews their leases."""
    from app.workers.heartbeat import install

    worker_app = make_celery(settings)
    install(worker_app, settings)
    return worker_app


app = make_worker_app(get_settings())
