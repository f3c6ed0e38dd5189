from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from app import __version__
from app.deps import ReadSessionDep, SettingsDep, WorkerDep

router = APIRouter(tags=["health"])


@router.get("/api/health")
def health(session: ReadSessionDep, settings: SettingsDep, worker: WorkerDep) -> dict:
    session.execute(text("SELECT 1"))
    body = {
        "status": "ok",
        "version": __version__,
        "database": session.get_bind().dialect.name,
        "data_source": settings.data_source,
        "worker_mode": settings.worker_mode,
    }
    if settings.worker_mode == "celery":
        # Workers that consume this server's queue and answer a broadcast within a second.
        body["celery_queue"] = settings.celery_queue
        body["workers"] = worker.workers_answering()
    return body
