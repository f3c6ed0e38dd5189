"""ML train jobs: creation, listing, the worker-facing state changes, and imports of
scores files produced elsewhere."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import RunStatus, TrainJob
from app.models.common import utcnow
from app.services.common import advance_id_sequence, get_or_404, json_safe, paginate
from app.services.projects import get_project


def create_train_job(
    session: Session,
    *,
    project_id: int,
    params: dict[str, Any],
    job_id: int | None = None,
    status: RunStatus = RunStatus.queued,
) -> TrainJob:
    get_project(session, project_id)
    job = TrainJob(project_id=project_id, params=params, status=status, metrics={})
    if job_id is not None:
        job.id = job_id
    session.add(job)
    session.flush()
    if job_id is not None:
        advance_id_sequence(session, TrainJob)
    return job


def get_train_job(session: Session, job_id: int) -> TrainJob:
    return get_or_404(session, TrainJob, job_id, label="train job")


def list_train_jobs(
    session: Session, *, project_id: int | None, limit: int, offset: int
) -> tuple[list[TrainJob], int]:
    stmt = select(TrainJob).order_by(TrainJob.id.desc())
    if project_id is not None:
        stmt = stmt.where(TrainJob.project_id == project_id)
    return paginate(session, stmt, limit=limit, offset=offset)


@dataclass(frozen=True)
class ClaimedTrainJob:
    job_id: int
    params: dict[str, Any]


def claim_queued_train_jobs(session: Session, limit: int) -> list[ClaimedTrainJob]:
    if limit <= 0:
        return []
    jobs = list(
        session.execute(
            select(TrainJob)
            .where(TrainJob.status == RunStatus.queued)
            .order_by(TrainJob.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    now = utcnow()
    for job in jobs:
        job.status = RunStatus.running
        job.started_at = now
    session.flush()
    return [ClaimedTrainJob(job_id=job.id, params=dict(job.params or {})) for job in jobs]


def record_train_success(
    session: Session,
    job_id: int,
    *,
    scores_path: str,
    metrics: dict[str, Any],
    artifact_dir: str | None,
) -> bool:
    ic_mean = metrics.get("ic_mean")
    result = session.execute(
        update(TrainJob)
        .where(TrainJob.id == job_id, TrainJob.status == RunStatus.running)
        .values(
            status=RunStatus.completed,
            scores_path=scores_path,
            metrics=json_safe(metrics),
            ic_mean=json_safe(float(ic_mean)) if ic_mean is not None else None,
            artifact_dir=artifact_dir,
            finished_at=utcnow(),
            error=None,
        )
    )
    return result.rowcount == 1


def record_train_failure(session: Session, job_id: int, *, reason: str) -> bool:
    result = session.execute(
        update(TrainJob)
        .where(TrainJob.id == job_id, TrainJob.status == RunStatus.running)
        .values(status=RunStatus.failed, error=reason[:4000], finished_at=utcnow())
    )
    return result.rowcount == 1


def requeue_interrupted_train_jobs(session: Session) -> int:
    result = session.execute(
        update(TrainJob)
        .where(TrainJob.status == RunStatus.running)
        .values(status=RunStatus.queued, started_at=None)
    )
    return result.rowcount
