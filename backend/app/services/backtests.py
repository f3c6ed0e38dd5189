"""Backtest runs: creation, listing, cancellation, and the worker-facing state changes
(record result, requeue after a restart). Claiming queued runs is ``services.dispatch``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.errors import Conflict, InvalidRequest
from app.models import METRIC_COLUMNS, BacktestRun, RunStatus, TrainJob, can_transition
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
from app.services.file_paths import check_file_parameters
from app.services.projects import get_project


def create_run(
    session: Session,
    *,
    project_id: int,
    algorithm_parameters: dict[str, Any],
    pipeline_train_job_id: int | None = None,
    run_id: int | None = None,
    file_roots: list[Path] | None = None,
    optimization_id: int | None = None,
) -> BacktestRun:
    """Store a queued run. The strategy parameters are checked by the engine when the run
    executes; a run with bad parameters fails with the engine's reason. With ``file_roots``
    (a request from the HTTP API) a path parameter outside them is refused now, a 422 naming
    it, instead of a run that fails later."""
    get_project(session, project_id)
    if file_roots is not None:
        check_file_parameters(
            algorithm_parameters,
            file_roots,
            lambda name: ("params", "algorithm_parameters", name),
        )
    if pipeline_train_job_id is not None:
        get_or_404(session, TrainJob, pipeline_train_job_id, label="train job")
    run = BacktestRun(
        project_id=project_id,
        status=RunStatus.queued,
        params={
            "pipeline_train_job_id": pipeline_train_job_id,
            "algorithm_parameters": algorithm_parameters,
        },
        pipeline_train_job_id=pipeline_train_job_id,
        optimization_id=optimization_id,
        metrics={},
    )
    return insert(session, run, run_id)


def get_run(session: Session, run_id: int) -> BacktestRun:
    return get_or_404(session, BacktestRun, run_id, label="backtest run")


def list_runs(
    session: Session,
    *,
    project_id: int | None,
    status: RunStatus | None,
    limit: int,
    offset: int,
) -> tuple[list[BacktestRun], int]:
    stmt = select(BacktestRun).order_by(BacktestRun.id.desc())
    if project_id is not None:
        stmt = stmt.where(BacktestRun.project_id == project_id)
    if status is not None:
        stmt = stmt.where(BacktestRun.status == status)
    return paginate(session, stmt, limit=limit, offset=offset)


def cancel_run(session: Session, run_id: int) -> BacktestRun:
    run = get_run(session, run_id)
    if not can_transition(run.status, RunStatus.canceled):
        raise Conflict(f"backtest run {run_id} is {run.status.value} and cannot be canceled")
    run.status = RunStatus.canceled
    run.finished_at = utcnow()
    run.error = "canceled by request"
    return run


def _finite_or_none(value: Any) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def record_success(
    session: Session, run_id: int, *, metrics: dict[str, Any], artifact_dir: str | None
) -> bool:
    """Store a finished run's metrics. Returns False (and stores nothing) if the run is no
    longer running, e.g. it was canceled while the worker computed it."""
    values: dict[str, Any] = {
        column: _finite_or_none(metrics.get(column)) for column in METRIC_COLUMNS
    }
    total_orders = metrics.get("total_orders")
    values["total_orders"] = int(total_orders) if total_orders is not None else None
    return finish_running(
        session,
        BacktestRun,
        run_id,
        status=RunStatus.completed,
        metrics=json_safe(metrics),
        artifact_dir=artifact_dir,
        finished_at=utcnow(),
        error=None,
        **values,
    )


def record_failure(session: Session, run_id: int, *, reason: str) -> bool:
    return fail_running(session, BacktestRun, run_id, reason)


def requeue_interrupted_runs(session: Session) -> int:
    """Runs left ``running`` by a stopped server go back to the queue (see requeue_running)."""
    return requeue_running(session, BacktestRun, worker=None)


def equity_curve(session: Session, run_id: int) -> list[dict[str, Any]]:
    """A completed run's daily equity (account value, dollars) from its ``equity.csv``
    artifact, each point with its drawdown: the fall from the running peak as a positive
    fraction (:func:`app.engine.statistics.drawdown_series`, the same formula as the run's
    ``max_drawdown``)."""
    from app.engine.statistics import drawdown_series
    from app.errors import NotFound

    run = get_run(session, run_id)
    if run.status != RunStatus.completed:
        raise NotFound(f"backtest run {run_id} is {run.status.value}; it has no equity curve yet")
    equity = equity_artifact(run)
    if equity is None:
        raise NotFound(f"backtest run {run_id} has no equity curve artifact")
    drawdowns = drawdown_series(equity.to_numpy())
    return [
        {"date": day.strftime("%Y-%m-%d"), "equity": float(value), "drawdown": float(drawdown)}
        for day, value, drawdown in zip(equity.index, equity.to_numpy(), drawdowns, strict=True)
    ]


def equity_artifact(run: BacktestRun):
    """The run's daily equity (a pandas Series by date) from its ``equity.csv`` artifact, or
    None when the run has none."""
    import pandas as pd

    path = Path(run.artifact_dir) / "equity.csv" if run.artifact_dir else None
    if path is None or not path.is_file():
        return None
    return pd.read_csv(path, parse_dates=["date"], index_col="date").iloc[:, 0]


def import_lean_result(
    session: Session,
    *,
    project_id: int,
    result: dict[str, Any],
    algorithm_parameters: dict[str, Any],
    pipeline_train_job_id: int | None = None,
) -> BacktestRun:
    """Store a result produced by a real LEAN run as a completed run, its LEAN statistics
    read back into the numeric columns, so it ranks like the runs we execute."""
    from app.engine import BacktestInputError
    from app.engine.lean_result import metrics_from_lean_statistics

    statistics = result.get("statistics", result.get("Statistics"))
    try:
        metrics = metrics_from_lean_statistics(statistics)
    except BacktestInputError as exc:
        raise InvalidRequest(str(exc), ("result", "statistics")) from exc
    run = create_run(
        session,
        project_id=project_id,
        algorithm_parameters=algorithm_parameters or {"source": "lean-import"},
        pipeline_train_job_id=pipeline_train_job_id,
    )
    now = utcnow()
    run.status = RunStatus.running  # record_success only completes a running run
    run.started_at = now
    session.flush()
    record_success(
        session,
        run.id,
        metrics={**metrics, "statistics": statistics, "source": "lean-import"},
        artifact_dir=None,
    )
    session.refresh(run)
    return run
