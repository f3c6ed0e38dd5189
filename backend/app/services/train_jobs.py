"""ML train jobs: creation, listing, the worker-facing state changes, and imports of
scores files produced elsewhere."""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import InvalidRequest
from app.memory import release_free_memory
from app.models import RunStatus, TrainJob
from app.models.common import utcnow
from app.services.common import (
    fail_running,
    finish_running,
    get_or_404,
    insert,
    json_safe,
    paginate,
    requeue_running,
)
from app.services.projects import get_project


def create_train_job(
    session: Session,
    *,
    project_id: int,
    params: dict[str, Any],
    job_id: int | None = None,
    status: RunStatus = RunStatus.queued,
) -> TrainJob:
    """Store a train job as given (imports and tests); new trainings go through
    :func:`submit_train_job`, which validates them first."""
    get_project(session, project_id)
    job = TrainJob(project_id=project_id, params=params, status=status, metrics={})
    return insert(session, job, job_id)


def submit_train_job(
    session: Session,
    settings: Settings,
    *,
    project_id: int,
    params: dict[str, Any],
    job_id: int | None = None,
) -> TrainJob:
    """Queue a walk-forward training: its parameters are checked against the market data
    first (:func:`validate_train_params`), so a job that cannot train is never stored."""
    validate_train_params(params, settings)
    return create_train_job(session, project_id=project_id, params=params, job_id=job_id)


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
    return finish_running(
        session,
        TrainJob,
        job_id,
        status=RunStatus.completed,
        scores_path=scores_path,
        metrics=json_safe(metrics),
        ic_mean=json_safe(float(ic_mean)) if ic_mean is not None else None,
        artifact_dir=artifact_dir,
        finished_at=utcnow(),
        error=None,
    )


def record_train_failure(session: Session, job_id: int, *, reason: str) -> bool:
    return fail_running(session, TrainJob, job_id, reason)


def requeue_interrupted_train_jobs(session: Session) -> int:
    return requeue_running(session, TrainJob)


def validate_train_params(params: dict[str, Any], settings: Settings) -> None:
    """Refuse, before anything is stored, parameters the trainer would refuse: their types
    and ranges, and what depends on the data (dates, universe, enough history)."""
    from app.ml.train_plan import TrainInputError, TrainParams, plan_walk_forward
    from app.services.market import load_market_index

    try:
        plan_walk_forward(load_market_index(settings), TrainParams.from_mapping(params))
    except TrainInputError as exc:
        raise InvalidRequest(str(exc), ("params",)) from exc


def import_scores(
    session: Session,
    settings: Settings,
    *,
    project_id: int,
    source_path: Path,
    original_name: str,
    job_id: int | None = None,
) -> TrainJob:
    """Register a scores file produced elsewhere as a completed train job.

    The file is validated against the market data first (columns, types, duplicates,
    unknown symbols, dates outside the data); on any problem nothing is stored. The
    normalised copy is written atomically under the artifacts directory, and removed again
    if the database insert fails, so nothing half-imported stays behind."""
    from app.ml.scores_import import ScoresValidationError, import_scores_file
    from app.services.market import load_market_index

    get_project(session, project_id)
    market = load_market_index(settings)
    staging = settings.artifacts_dir / "train_jobs" / f"import-{uuid.uuid4().hex}"
    try:
        written = import_scores_file(source_path, staging, market)
    except ScoresValidationError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise InvalidRequest(str(exc), ("file",)) from exc
    finally:
        release_free_memory()  # the parsed file can be hundreds of MB of temporaries
    try:
        job = create_train_job(
            session,
            project_id=project_id,
            params={"source": "import", "original_name": original_name},
            job_id=job_id,
            status=RunStatus.completed,
        )
        final_dir = settings.artifacts_dir / "train_jobs" / str(job.id)
        if final_dir.exists():
            shutil.rmtree(final_dir)
        staging.rename(final_dir)
        job.scores_path = str(final_dir / written.name)
        job.artifact_dir = str(final_dir)
        job.started_at = job.finished_at = utcnow()
        session.flush()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return job
