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
    index), only the feasible (or infeasible) completed ones with ``feasible``.

    Two steps: the page's ids by a narrow query, then the columns of those trials. With
    ``feasible`` only the sweep's runs are read (``BacktestRun.optimization_id``, indexed with
    the status and the main metrics), since only completed runs can match; their ties go by
    run id, which is the trial index's order: a sweep's runs are created in trial-index order
    (``dispatch.advance_sweeps`` submits the pending trials by index)."""
    objective_column = getattr(BacktestRun, objective_of(optimization).metric)
    feasibility = feasible_flag(constraints_of(optimization))
    column = (
        None
        if sort == "trial_index"
        else objective_column
        if sort == "objective"
        else getattr(BacktestRun, sort)
    )
    if feasible is None:
        total = session.execute(
            select(func.count()).where(OptimizationTrial.optimization_id == optimization.id)
        ).scalar_one()
        page = select(OptimizationTrial.id).where(
            OptimizationTrial.optimization_id == optimization.id
        )
        index = OptimizationTrial.trial_index
        if column is None:
            page = page.order_by(index.desc() if descending else index.asc())
        else:
            page = page.outerjoin(BacktestRun, BacktestRun.id == OptimizationTrial.run_id)
            direction = column.desc() if descending else column.asc()
            page = page.order_by(column.is_(None), direction, index)
    else:
        matches = (
            BacktestRun.optimization_id == optimization.id,
            BacktestRun.status == RunStatus.completed,
            feasibility.is_(True) if feasible else feasibility.is_(False),
        )
        total = session.execute(select(func.count()).where(*matches)).scalar_one()
        page = select(BacktestRun.id).where(*matches)
        run_order = BacktestRun.id.desc() if descending else BacktestRun.id.asc()
        if column is None:
            page = page.order_by(run_order)
        else:
            direction = column.desc() if descending else column.asc()
            page = page.order_by(column.is_(None), direction, BacktestRun.id)
    page = page.offset(offset)
    if limit is not None:
        page = page.limit(limit)
    # Trial ids, or run ids with ``feasible``, in the page's order.
    keys = session.execute(page).scalars().all()
    if not keys:
        return [], total
    key_column = OptimizationTrial.id if feasible is None else OptimizationTrial.run_id
    position = {key: place for place, key in enumerate(keys)}
    rows = session.execute(
        select(
            OptimizationTrial.id,
            OptimizationTrial.trial_index,
            OptimizationTrial.params,
            OptimizationTrial.source,
            OptimizationTrial.run_id,
            BacktestRun.status,
            BacktestRun.cagr,
            BacktestRun.max_drawdown,
            BacktestRun.sharpe,
            objective_column,
            BacktestRun.error,
            feasibility,
        )
        .outerjoin(BacktestRun, BacktestRun.id == OptimizationTrial.run_id)
        .where(key_column.in_(keys))
        .order_by(OptimizationTrial.id)
    ).all()
    rows = sorted(rows, key=lambda row: position[row[0] if feasible is None else row[4]])
    items = [
        TrialRow(
            id=row[0],
            trial_index=row[1],
            params=stored_params(row[2]),
            source=row[3],
            run_id=row[4],
            status="pending" if row[5] is None else RunStatus(row[5]).value,
            cagr=row[6],
            max_drawdown=row[7],
            sharpe=row[8],
            objective=row[9],
            error=row[10],
            feasible=row[11],
        )
        for row in rows
    ]
    return items, total
