"""Helpers shared by the domain services."""

from __future__ import annotations

import math
from typing import Any, TypeVar

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from app.db import Base
from app.errors import NotFound

ModelT = TypeVar("ModelT", bound=Base)
# A failure's reason is for people; a pathological one (a huge traceback) is cut here.
MAX_ERROR_CHARS = 4000


def get_or_404(session: Session, model: type[ModelT], object_id: int, *, label: str) -> ModelT:
    obj = session.get(model, object_id)
    if obj is None:
        raise NotFound(f"{label} {object_id} not found")
    return obj


def get_for_update(session: Session, model: type[ModelT], object_id: int, *, label: str) -> ModelT:
    """Load a row with a row lock (PostgreSQL); SQLite's BEGIN IMMEDIATE already serializes."""
    obj = session.execute(
        select(model).where(model.id == object_id).with_for_update()  # type: ignore[attr-defined]
    ).scalar_one_or_none()
    if obj is None:
        raise NotFound(f"{label} {object_id} not found")
    return obj


def paginate(session: Session, stmt, *, limit: int, offset: int) -> tuple[list, int]:
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    items = list(session.execute(stmt.limit(limit).offset(offset)).scalars())
    return items, total


def advance_id_sequence(session: Session, model: type[Base]) -> None:
    """After inserting explicit ids on PostgreSQL, move the table's id sequence past them so
    that later inserts without an id still work. SQLite needs nothing (max(rowid) + 1)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    table = model.__tablename__
    session.execute(
        text(
            "SELECT setval(pg_get_serial_sequence(:table, 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        ),
        {"table": table},
    )


def json_safe(value: Any) -> Any:
    """JSON columns cannot hold NaN/inf (PostgreSQL rejects them): store null instead."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def insert(session: Session, obj: ModelT, explicit_id: int | None = None) -> ModelT:
    """Add ``obj`` (with ``explicit_id`` if given, e.g. the seed's run 615) and flush, so its
    id is known; explicit ids move the PostgreSQL sequence past them."""
    if explicit_id is not None:
        obj.id = explicit_id  # type: ignore[attr-defined]
    session.add(obj)
    session.flush()
    if explicit_id is not None:
        advance_id_sequence(session, type(obj))
    return obj


def finish_running(session: Session, model: type[Base], object_id: int, **values: Any) -> bool:
    """``UPDATE ... SET values WHERE id = :id AND status = 'running'``: a worker's outcome is
    stored only if the job is still running (not canceled or re-queued meanwhile). True if
    it was stored."""
    from app.models import RunStatus

    result = session.execute(
        update(model)
        .where(model.id == object_id, model.status == RunStatus.running)  # type: ignore[attr-defined]
        .values(**values)
    )
    return result.rowcount == 1


def fail_running(session: Session, model: type[Base], object_id: int, reason: str) -> bool:
    """Mark a running job failed with a readable ``reason`` (see :func:`finish_running`)."""
    from app.models import RunStatus
    from app.models.common import utcnow

    return finish_running(
        session,
        model,
        object_id,
        status=RunStatus.failed,
        error=reason[:MAX_ERROR_CHARS],
        finished_at=utcnow(),
    )


def requeue_running(session: Session, model: type[Base], **reset: Any) -> int:
    """Jobs left ``running`` by a server that stopped were never finished: queue them again.
    Called once at start-up by the process that owns the workers."""
    from app.models import RunStatus

    result = session.execute(
        update(model)
        .where(model.status == RunStatus.running)  # type: ignore[attr-defined]
        .values(status=RunStatus.queued, started_at=None, **reset)
    )
    return result.rowcount
