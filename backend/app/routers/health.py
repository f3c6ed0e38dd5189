from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from app import __version__
from app.deps import ReadSessionDep, SettingsDep

router = APIRouter(tags=["health"])


@router.get("/api/health")
def health(session: ReadSessionDep, settings: SettingsDep) -> dict:
    session.execute(text("SELECT 1"))
    return {
        "status": "ok",
        "version": __version__,
        "database": session.get_bind().dialect.name,
        "data_source": settings.data_source,
        "worker_mode": settings.worker_mode,
    }
