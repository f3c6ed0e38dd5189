"""Dispatch: which queued backtest runs the workers take next, and which trials of the active
sweeps become runs.

The dispatcher calls ``advance_sweeps`` on every tick: it keeps at most ``max_inflight`` of a
sweep's runs queued or running, creating a trial's run in the same transaction that links it
to the trial (a unique ``run_id``), so after any crash each trial ends with exactly one run.
``claim_queued_runs`` then hands queued runs to the workers, sweeps sharing them fairly
(``fair_claim_order``).
"""

from __future__ import annotations

import heapq
import os
import socket
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import BacktestRun, Optimization, OptimizationTrial, RunStatus
from app.models.common import utcnow
from app.services import backtests as backtest_service

WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
ACTIVE = (RunStatus.queued, RunStatus.running)


@dataclass(frozen=True)
class ClaimedRun:
    run_id: int
    algorithm_parameters: dict[str, Any]
    pipeline_train_job_id: int | None


def claim_queued_runs(session: Session, limit: int, *, worker: str = WORKER_ID) -> list[ClaimedRun]:
    """Move up to ``limit`` queued runs to running and return them.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` so concurrent workers never take the same run.
    SQLite: the transaction began with BEGIN IMMEDIATE, so it is the only writer.
    Runs of the sweep with the fewest runs already running go first (fair sharing between
    sweeps), then the oldest.
    """
    if limit <= 0:
        return []
    candidate_ids = list(
        session.execute(
            select(BacktestRun.id)
            .where(BacktestRun.status == RunStatus.queued)
            .order_by(BacktestRun.id)
            .limit(max(limit * 8, 64))
            .with_for_update(skip_locked=True)
        ).scalars()
    )
    chosen_ids = fair_claim_order(session, candidate_ids)[:limit]
    if not chosen_ids:
        return []
    runs = {
        run.id: run
        for run in session.execute(
            select(BacktestRun).where(BacktestRun.id.in_(chosen_ids))
        ).scalars()
    }
    now = utcnow()
    claimed = []
    for run_id in chosen_ids:
        run = runs[run_id]
        run.status = RunStatus.running
        run.started_at = now
        run.worker = worker
        run.attempts = (run.attempts or 0) + 1
        claimed.append(
            ClaimedRun(
                run_id=run.id,
                algorithm_parameters=dict(run.params.get("algorithm_parameters") or {}),
                pipeline_train_job_id=run.pipeline_train_job_id,
            )
        )
    session.flush()
    return claimed


def fair_claim_order(session: Session, candidate_ids: list[int]) -> list[int]:
    """Order queued run ids so that sweeps share the workers: a run whose sweep has the
    fewest runs already running goes first (counting the ones ordered before it); ties (and
    runs outside any sweep) by age.

    The least (running, id) pair is always the head of some sweep's queue, so a heap over
    the sweeps' heads gives the order in n log n."""
    if not candidate_ids:
        return []
    sweep_of = dict(
        session.execute(
            select(OptimizationTrial.run_id, OptimizationTrial.optimization_id).where(
                OptimizationTrial.run_id.in_(candidate_ids)
            )
        ).all()
    )
    if not sweep_of:
        return sorted(candidate_ids)
    running = Counter(
        session.execute(
            select(OptimizationTrial.optimization_id)
            .join(BacktestRun, BacktestRun.id == OptimizationTrial.run_id)
            .where(BacktestRun.status == RunStatus.running)
        ).scalars()
    )
    queues: dict[int | None, list[int]] = {}
    for run_id in sorted(candidate_ids):
        queues.setdefault(sweep_of.get(run_id), []).append(run_id)
    heads = [
        (running[sweep], queue[0], index) for index, (sweep, queue) in enumerate(queues.items())
    ]
    heapq.heapify(heads)
    sweeps = list(queues)
    positions = [0] * len(sweeps)
    ordered: list[int] = []
    while heads:
        count, run_id, index = heapq.heappop(heads)
        ordered.append(run_id)
        positions[index] += 1
        queue = queues[sweeps[index]]
        if positions[index] < len(queue):
            heapq.heappush(heads, (count + 1, queue[positions[index]], index))
    return ordered


def advance_sweeps(session: Session) -> list[int]:
    """Submit trials of active sweeps up to each one's ``max_inflight`` and finish the sweeps
    whose trials all ended. Returns the ids of sweeps that finished in this call."""
    finished: list[int] = []
    sweeps = session.execute(
        select(Optimization)
        .where(Optimization.status.in_(ACTIVE))
        .order_by(Optimization.id)
        .with_for_update(skip_locked=True)
    ).scalars()
    now = utcnow()
    for sweep in list(sweeps):
        if sweep.status == RunStatus.queued:
            sweep.status = RunStatus.running
            sweep.started_at = now
        inflight = session.execute(
            select(func.count()).where(
                BacktestRun.optimization_id == sweep.id, BacktestRun.status.in_(ACTIVE)
            )
        ).scalar_one()
        room = sweep.max_inflight - inflight
        pending = list(
            session.execute(
                select(OptimizationTrial)
                .where(
                    OptimizationTrial.optimization_id == sweep.id,
                    OptimizationTrial.run_id.is_(None),
                )
                .order_by(OptimizationTrial.trial_index)
                .limit(max(room, 0) + 1)
            ).scalars()
        )
        for trial in pending[: max(room, 0)]:
            params = trial.request["params"]
            run = backtest_service.create_run(
                session,
                project_id=trial.request["project_id"],
                algorithm_parameters=params["algorithm_parameters"],
                pipeline_train_job_id=params.get("pipeline_train_job_id"),
                optimization_id=sweep.id,
            )
            trial.run_id = run.id
            trial.submitted_at = now
            inflight += 1
        if inflight == 0 and not pending:
            sweep.status = RunStatus.completed
            sweep.finished_at = now
            finished.append(sweep.id)
    session.flush()
    return finished
