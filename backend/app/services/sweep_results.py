"""Read models of a sweep: its counts, its trials, its Top N and the best trial so far.

Every answer is a frozen dataclass, so a renamed field breaks at the reader (a type checker
or an AttributeError), never as a silently empty cell. The API schemas
(``app.schemas.optimizations``) read these by attribute.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from app.models import BacktestRun, Optimization, OptimizationTrial, RunStatus
from app.services.ranking import Constraint, Objective, Ranking, rank_runs


@dataclass(frozen=True)
class SweepCounts:
    """Trials by the status of their run; ``pending`` = not yet submitted."""

    pending: int = 0
    queued: int = 0
    running: int = 0
    completed: int = 0
    failed: int = 0
    canceled: int = 0

    @property
    def done(self) -> int:
        return self.completed + self.failed + self.canceled

    @property
    def unfinished(self) -> int:
        return self.pending + self.queued + self.running


@dataclass(frozen=True)
class BestSoFar:
    run_id: int
    cagr: float | None
    max_drawdown: float | None
    objective: float | None
    feasible: bool


@dataclass(frozen=True)
class TopEntry:
    rank: int
    run_id: int
    cagr: float | None
    max_drawdown: float | None
    sharpe: float | None
    objective: float | None
    feasible: bool
    violation: float
    trial_id: int | None
    params: dict[str, float]
    # The run of an earlier trial whose backtest this one duplicates (the same daily
    # returns), from the sweep's stored analysis; None when distinct or not analysed yet.
    equivalent_to: int | None = None


@dataclass(frozen=True)
class FailedTrial:
    run_id: int
    trial_id: int | None
    error: str | None


@dataclass(frozen=True)
class SweepTop:
    constraint_met: bool
    objective: dict[str, Any] | None
    constraints: list[dict[str, Any]]
    items: list[TopEntry]
    failed: list[FailedTrial]
    completed: int


@dataclass(frozen=True)
class SweepSummary:
    id: int
    project_id: int
    baseline_run_id: int
    train_job_id: int
    status: RunStatus
    trials_total: int
    counts: SweepCounts
    progress: float
    max_inflight: int
    spec: dict[str, Any]
    best: BestSoFar | None
    report_path: str | None
    error: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


def status_counts(session: Session, optimization_id: int) -> SweepCounts:
    """From the sweep's runs (an index over the sweep and the status answers it without
    reading a row); trials without a run yet are ``pending``."""
    rows = session.execute(
        select(BacktestRun.status, func.count())
        .where(BacktestRun.optimization_id == optimization_id)
        .group_by(BacktestRun.status)
    ).all()
    counts = {field.name: 0 for field in fields(SweepCounts)}
    for status, count in rows:
        counts[RunStatus(status).value] += count
    trials_total = session.execute(
        select(Optimization.trials_total).where(Optimization.id == optimization_id)
    ).scalar_one_or_none()
    counts["pending"] = max((trials_total or 0) - sum(counts.values()), 0)
    return SweepCounts(**counts)


def objective_of(optimization: Optimization) -> Objective:
    objective = optimization.spec.get("objective") or {}
    return Objective(objective.get("metric", "cagr"), objective.get("direction", "max"))


def constraints_of(optimization: Optimization) -> list[Constraint]:
    return [
        Constraint(c["metric"], c["op"], float(c["value"]))
        for c in optimization.spec.get("constraints") or []
    ]


def runs_of(optimization_id: int) -> ColumnElement[bool]:
    """A WHERE clause: the backtest run belongs to one of the sweep's trials."""
    return BacktestRun.optimization_id == optimization_id


def rank_sweep(
    session: Session, optimization: Optimization, limit: int, *, with_summary: bool = True
) -> Ranking:
    return rank_runs(
        session,
        runs_of(optimization.id),
        objective_of(optimization),
        constraints_of(optimization),
        limit,
        with_summary=with_summary,
    )


def stored_params(params: dict[str, str]) -> dict[str, float]:
    """A trial's stored decimal strings as the numbers the API shows."""
    return {name: float(Decimal(value)) for name, value in params.items()}


def trial_params_by_run(session: Session, optimization_id: int) -> dict[int, tuple[int, dict]]:
    rows = session.execute(
        select(OptimizationTrial.run_id, OptimizationTrial.id, OptimizationTrial.params).where(
            OptimizationTrial.optimization_id == optimization_id,
            OptimizationTrial.run_id.is_not(None),
        )
    ).all()
    return {run_id: (trial_id, params) for run_id, trial_id, params in rows}


# The leader of each sweep as last ranked, by sweep id: (when, counts it was ranked at, leader).
_best_cache: dict[int, tuple[float, tuple, BestSoFar | None]] = {}
_best_lock = threading.Lock()
# How old a running sweep's leader may be on a status poll. Ranking every completed run of a
# 10,000-trial sweep on each poll would cost the poll tens of milliseconds; a finished sweep's
# leader is always exact (its counts no longer change).
BEST_SO_FAR_MAX_AGE = 0.5


def best_so_far_max_age(trials_total: int) -> float:
    """``BEST_SO_FAR_MAX_AGE``, growing to 2 s for a sweep of 4,000 trials or more: ranking
    it costs ~20 ms, and its leader changes rarely once thousands of trials are in."""
    return min(2.0, max(BEST_SO_FAR_MAX_AGE, trials_total / 2000))


def best_so_far(
    session: Session, optimization: Optimization, counts: SweepCounts | None = None
) -> BestSoFar | None:
    """The sweep's leader. With ``counts`` (a status poll), a leader ranked at the same
    counts is reused as is, and one ranked less than ``BEST_SO_FAR_MAX_AGE`` seconds ago is
    reused while the sweep runs (up to 2 s for a big sweep, ``best_so_far_max_age``)."""
    if counts is None:
        return _rank_best(session, optimization)
    # created_at too: a database emptied and filled again (the tests) reuses sweep ids.
    key = (optimization.created_at, optimization.status, counts.completed, counts.failed)
    key += (counts.canceled,)
    now = time.monotonic()
    with _best_lock:
        cached = _best_cache.get(optimization.id)
    if cached is not None:
        ranked_at, ranked_key, best = cached
        max_age = best_so_far_max_age(optimization.trials_total)
        fresh = optimization.status == RunStatus.running and now - ranked_at < max_age
        if ranked_key == key or fresh:
            return best
    best = _rank_best(session, optimization)
    with _best_lock:
        if len(_best_cache) > 256:
            _best_cache.clear()
        _best_cache[optimization.id] = (now, key, best)
    return best


def _rank_best(session: Session, optimization: Optimization) -> BestSoFar | None:
    ranking = rank_sweep(session, optimization, 1, with_summary=False)
    if not ranking.items:
        return None
    best = ranking.items[0]
    return BestSoFar(
        run_id=best.run_id,
        cagr=best.cagr,
        max_drawdown=best.max_drawdown,
        objective=best.objective,
        feasible=best.feasible,
    )


def describe(session: Session, optimization: Optimization) -> SweepSummary:
    counts = status_counts(session, optimization.id)
    total = optimization.trials_total
    return SweepSummary(
        id=optimization.id,
        project_id=optimization.project_id,
        baseline_run_id=optimization.baseline_run_id,
        train_job_id=optimization.train_job_id,
        status=optimization.status,
        trials_total=total,
        counts=counts,
        progress=counts.done / total if total else 1.0,
        max_inflight=optimization.max_inflight,
        spec={k: v for k, v in optimization.spec.items() if k != "request_hash"},
        best=best_so_far(session, optimization, counts),
        report_path=optimization.report_path,
        error=optimization.error,
        created_at=optimization.created_at,
        started_at=optimization.started_at,
        finished_at=optimization.finished_at,
    )


def top_trials(session: Session, optimization: Optimization, n: int) -> SweepTop:
    ranking = rank_sweep(session, optimization, n)
    by_run = trial_params_by_run(session, optimization.id)
    equivalent = (optimization.analysis or {}).get("equivalent") or {}
    items = []
    for item in ranking.items:
        trial_id, params = by_run.get(item.run_id, (None, {}))
        items.append(
            TopEntry(
                rank=item.rank,
                run_id=item.run_id,
                cagr=item.cagr,
                max_drawdown=item.max_drawdown,
                sharpe=item.sharpe,
                objective=item.objective,
                feasible=item.feasible,
                violation=item.violation,
                trial_id=trial_id,
                params=stored_params(params),
                equivalent_to=equivalent.get(str(item.run_id)),
            )
        )
    return SweepTop(
        constraint_met=ranking.constraint_met,
        objective=optimization.spec.get("objective"),
        constraints=optimization.spec.get("constraints") or [],
        items=items,
        failed=[
            FailedTrial(run_id=run_id, trial_id=by_run.get(run_id, (None,))[0], error=error)
            for run_id, error in ranking.failed
        ],
        completed=ranking.completed,
    )
