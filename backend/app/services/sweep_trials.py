"""The sweep's trials as rows: one page at a time (``GET /api/optimizations/{id}/trials``) or
all of them (the report). Columns only: one query joins each trial to its run's status and
metric columns; no run object is loaded."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import METRIC_COLUMNS, BacktestRun, Optimization, OptimizationTrial, RunStatus
from app.services.ranking import feasible_flag
from app.services.sweep_results import constraints_of, objective_of, stored_params


@dataclass(frozen=True)
class TrialRow:
    id: int
    trial_index: int
    params: dict[str, float]
    source: str
    run_id: int | None
    status: str
    cagr: float | None
    max_drawdown: float | None
    sharpe: float | None
    objective: float | None
    feasible: bool | None
    error: str | None


TRIAL_SORT_KEYS = ("trial_index", "objective", *METRIC_COLUMNS)


def list_trials(
    session: Session,
    optimization: Optimization,
    *,
    limit: int | None = None,
    offset: int = 0,
    sort: str = "trial_index",
    descending: bool = False,
    feasible: bool | None = None,
) -> tuple[list[TrialRow], int]:
    """One page of the sweep's trials and how many match: sorted by ``sort`` (the trial
    index, the objective or a metric column; trials without the value last, then by trial
    index), only the feasible (or infeasible) completed ones with ``feasible``."""
    objective = objective_of(optimization)
    objective_column = getattr(BacktestRun, objective.metric)
    feasibility = feasible_flag(constraints_of(optimization))
    where = [OptimizationTrial.optimization_id == optimization.id]
    if feasible is not None:
        where.append(feasibility.is_(True) if feasible else feasibility.is_(False))
    sort_column = (
        OptimizationTrial.trial_index
        if sort == "trial_index"
        else objective_column
        if sort == "objective"
        else getattr(BacktestRun, sort)
    )
    order = sort_column.desc() if descending else sort_column.asc()
    total = session.execute(
        select(func.count())
        .select_from(OptimizationTrial)
        .outerjoin(BacktestRun, BacktestRun.id == OptimizationTrial.run_id)
        .where(*where)
    ).scalar_one()
    stmt = (
        select(
            OptimizationTrial,
            BacktestRun.status,
            BacktestRun.cagr,
            BacktestRun.max_drawdown,
            BacktestRun.sharpe,
            objective_column,
            BacktestRun.error,
            feasibility,
        )
        .outerjoin(BacktestRun, BacktestRun.id == OptimizationTrial.run_id)
        .where(*where)
        .order_by(sort_column.is_(None), order, OptimizationTrial.trial_index)
        .offset(offset)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = session.execute(stmt).all()
    items = [
        TrialRow(
            id=trial.id,
            trial_index=trial.trial_index,
            params=stored_params(trial.params),
            source=trial.source,
            run_id=trial.run_id,
            status="pending" if status is None else RunStatus(status).value,
            cagr=cagr,
            max_drawdown=max_drawdown,
            sharpe=sharpe,
            objective=objective_value,
            feasible=is_feasible,
            error=error,
        )
        for trial, status, cagr, max_drawdown, sharpe, objective_value, error, is_feasible in rows
    ]
    return items, total
