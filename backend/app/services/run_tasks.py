"""The task behind a running job: its id, whether it was sent, and its worker's heartbeat.

A job (backtest run or train job) that is ``running`` holds exactly one task id, the attempt
now executing. Every change here is a guarded UPDATE on ``(id, status='running', task_id)``,
so a late outcome or heartbeat of an attempt that was already given up on changes nothing,
and a result is stored once. The dispatcher (``app.workers.local``) and the Celery workers'
heartbeat (``app.workers.heartbeat``) are the only callers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import BacktestRun, RunStatus, TrainJob
from app.models.common import utcnow
from app.services.common import fail_running

Kind = Literal["backtest", "train"]
MODELS: dict[str, type[BacktestRun] | type[TrainJob]] = {"backtest": BacktestRun, "train": TrainJob}


def new_task_id() -> str:
    return uuid.uuid4().hex


def assign_tasks(session: Session, kind: Kind, job_ids: list[int]) -> dict[int, str]:
    """Give just-claimed jobs (in the claim's transaction) a fresh task id each; a train
    job's claim does not count attempts, so it is counted here."""
    model = MODELS[kind]
    task_ids: dict[int, str] = {}
    for job_id in job_ids:
        task_ids[job_id] = new_task_id()
        values: dict = {"task_id": task_ids[job_id], "sent_at": None, "heartbeat_at": None}
        if kind == "train":
            values["attempts"] = model.attempts + 1
        session.execute(update(model).where(model.id == job_id).values(**values))
    return task_ids


def _holding(model, job_id: int, task_id: str):
    return (model.id == job_id, model.status == RunStatus.running, model.task_id == task_id)


def mark_sent(session: Session, kind: Kind, job_id: int, task_id: str) -> None:
    """The task is in the broker: from now on the server waits for it instead of sending it
    again (after a restart too)."""
    model = MODELS[kind]
    session.execute(update(model).where(*_holding(model, job_id, task_id)).values(sent_at=utcnow()))


def holds_task(session: Session, kind: Kind, job_id: int, task_id: str) -> bool:
    """Lock the job's row and tell whether ``task_id`` is still its running attempt; the
    outcome of that task may then be stored in the same transaction."""
    model = MODELS[kind]
    found = session.execute(
        select(model.id).where(*_holding(model, job_id, task_id)).with_for_update()
    ).scalar_one_or_none()
    return found is not None


@dataclass(frozen=True)
class RunningTask:
    kind: Kind
    job_id: int
    task_id: str | None
    sent_at: datetime | None
    heartbeat_at: datetime | None


def running_tasks(session: Session, kind: Kind) -> list[RunningTask]:
    model = MODELS[kind]
    rows = session.execute(
        select(model.id, model.task_id, model.sent_at, model.heartbeat_at).where(
            model.status == RunStatus.running
        )
    ).all()
    return [RunningTask(kind, *row) for row in rows]


def requeue(session: Session, kind: Kind, job_id: int, task_id: str | None) -> bool:
    """Put a running job back in the queue (its task is gone): the next claim starts it
    again with a new task id. False if the job moved on meanwhile."""
    model = MODELS[kind]
    guard = (
        _holding(model, job_id, task_id)
        if task_id is not None
        else (model.id == job_id, model.status == RunStatus.running, model.task_id.is_(None))
    )
    result = session.execute(
        update(model)
        .where(*guard)
        .values(
            status=RunStatus.queued,
            task_id=None,
            sent_at=None,
            heartbeat_at=None,
            started_at=None,
            worker=None,
        )
    )
    return result.rowcount == 1


def retry_lost(
    session: Session,
    kind: Kind,
    job_id: int,
    task_id: str,
    reason: str,
    max_attempts: int | None,
) -> Literal["requeued", "failed", "moved on"]:
    """A task whose worker died: queue the job again, or, once it has been started
    ``max_attempts`` times, fail it with ``reason`` (a job that keeps killing its worker).
    ``max_attempts=None``: the job is not known to be the cause; always queue it again."""
    model = MODELS[kind]
    attempts = session.execute(
        select(model.attempts).where(*_holding(model, job_id, task_id)).with_for_update()
    ).scalar_one_or_none()
    if attempts is None:
        return "moved on"
    if max_attempts is not None and attempts >= max_attempts:
        fail_running(session, model, job_id, f"{reason} ({attempts} attempts)")
        return "failed"
    requeue(session, kind, job_id, task_id)
    return "requeued"


def claim_queued(session: Session, kind: Kind, job_id: int) -> bool:
    """Claim one queued job by id (the dispatcher runs a suspect job alone), counting the
    attempt as ``dispatch.claim_queued_runs`` does for runs (``assign_tasks`` for train jobs).
    False if the job is no longer queued."""
    model = MODELS[kind]
    values: dict = {"status": RunStatus.running, "started_at": utcnow()}
    if kind == "backtest":
        values["attempts"] = model.attempts + 1
    result = session.execute(
        update(model).where(model.id == job_id, model.status == RunStatus.queued).values(**values)
    )
    return result.rowcount == 1


def heartbeat(session: Session, kind: Kind, task_ids: list[str], worker: str) -> int:
    """A worker still holds these tasks: renew their lease. Returns how many jobs it holds."""
    if not task_ids:
        return 0
    model = MODELS[kind]
    result = session.execute(
        update(model)
        .where(model.task_id.in_(task_ids), model.status == RunStatus.running)
        .values(heartbeat_at=utcnow(), worker=worker)
    )
    return result.rowcount


def expired_leases(session: Session, kind: Kind, before: datetime) -> list[RunningTask]:
    """Running jobs whose worker last renewed their lease before ``before``. A task that no
    worker has received yet (still in the broker's queue) has no lease and never expires."""
    model = MODELS[kind]
    rows = session.execute(
        select(model.id, model.task_id, model.sent_at, model.heartbeat_at).where(
            model.status == RunStatus.running,
            model.heartbeat_at.is_not(None),
            model.heartbeat_at < before,
        )
    ).all()
    return [RunningTask(kind, *row) for row in rows]
