"""Optimizations: creating, reading, listing and canceling sweeps.

``create_optimization`` stores a sweep planned by ``services.sweep_plan`` with all its trials
(each with its exact backtest request) in one transaction. What happens next is
``services.dispatch`` (trials become runs, runs go to the workers); what a sweep shows is
``services.sweep_results``.
"""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import Conflict
from app.models import BacktestRun, Optimization, OptimizationTrial, RunStatus
from app.models.common import utcnow
from app.schemas.optimizations import OptimizationCreate
from app.services.common import get_for_update, get_or_404, paginate
from app.services.dispatch import ACTIVE
from app.services.sweep_plan import plan_optimization
from app.services.sweep_results import runs_of


def _request_hash(body: OptimizationCreate) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def create_optimization(
    session: Session,
    body: OptimizationCreate,
    settings: Settings,
    *,
    idempotency_key: str | None = None,
    market=None,
) -> tuple[Optimization, bool]:
    """Store a sweep and all its trials in one transaction. Returns (sweep, created); a
    retried request with the same ``Idempotency-Key`` returns the stored sweep."""
    request_hash = _request_hash(body)
    if idempotency_key:
        existing = _by_idempotency_key(session, idempotency_key, request_hash)
        if existing is not None:
            return existing, False
    plan = plan_optimization(session, body, settings, market=market)
    optimization = Optimization(
        project_id=plan.project_id,
        baseline_run_id=plan.baseline_run_id,
        train_job_id=plan.train_job_id,
        status=RunStatus.queued,
        spec={**plan.spec, "request_hash": request_hash},
        max_inflight=body.max_inflight,
        trials_total=len(plan.trials),
        idempotency_key=idempotency_key,
    )
    try:
        # A savepoint: the caller's session scope owns the transaction; only this insert
        # is undone when it collides.
        with session.begin_nested():
            session.add(optimization)
            session.flush()
    except IntegrityError:
        # A concurrent request with the same key won the race: answer with its sweep.
        existing = _by_idempotency_key(session, idempotency_key or "", request_hash)
        if existing is None:
            raise
        return existing, False
    session.add_all(
        OptimizationTrial(
            optimization_id=optimization.id,
            trial_index=trial.trial_index,
            source=trial.source,
            params={name: str(value) for name, value in trial.params.items()},
            request=trial.request,
        )
        for trial in plan.trials
    )
    session.flush()
    return optimization, True


def _by_idempotency_key(session: Session, key: str, request_hash: str) -> Optimization | None:
    existing = session.execute(
        select(Optimization).where(Optimization.idempotency_key == key)
    ).scalar_one_or_none()
    if existing is not None and existing.spec.get("request_hash") != request_hash:
        raise Conflict(
            f"Idempotency-Key {key!r} was already used for optimization {existing.id} "
            "with a different request"
        )
    return existing


def get_optimization(session: Session, optimization_id: int) -> Optimization:
    return get_or_404(session, Optimization, optimization_id, label="optimization")


def list_optimizations(
    session: Session, *, project_id: int | None, limit: int, offset: int
) -> tuple[list[Optimization], int]:
    stmt = select(Optimization).order_by(Optimization.id.desc())
    if project_id is not None:
        stmt = stmt.where(Optimization.project_id == project_id)
    return paginate(session, stmt, limit=limit, offset=offset)


def cancel_optimization(session: Session, optimization_id: int) -> Optimization:
    """Stop submitting trials and cancel the sweep's queued runs. Runs already running
    finish and are recorded."""
    sweep = get_for_update(session, Optimization, optimization_id, label="optimization")
    if sweep.status not in ACTIVE:
        raise Conflict(
            f"optimization {optimization_id} is {sweep.status.value} and cannot be canceled"
        )
    now = utcnow()
    sweep.status = RunStatus.canceled
    sweep.finished_at = now
    session.execute(
        update(BacktestRun)
        .where(runs_of(optimization_id), BacktestRun.status == RunStatus.queued)
        .values(status=RunStatus.canceled, finished_at=now, error="optimization canceled")
        .execution_options(synchronize_session=False)
    )
    return sweep
