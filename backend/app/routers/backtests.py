from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, status

from app.deps import ReadSessionDep, SessionDep, SettingsDep, WorkerDep
from app.models import RunStatus
from app.routers.common import Limit, Offset, OptionalId, PathId
from app.schemas.backtests import BacktestCreate, BacktestOut, LeanResultImport
from app.schemas.common import Page
from app.services import backtests as service

router = APIRouter(prefix="/api/backtests", tags=["backtests"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=BacktestOut)
def create_backtest(
    body: BacktestCreate,
    session: SessionDep,
    settings: SettingsDep,
    worker: WorkerDep,
    background: BackgroundTasks,
):
    run = service.create_run(
        session,
        project_id=body.project_id,
        algorithm_parameters=body.params.algorithm_parameters,
        pipeline_train_job_id=body.params.pipeline_train_job_id,
        file_roots=settings.allowed_file_roots(),
    )
    # Background tasks run after the session dependency has committed.
    background.add_task(worker.wake)
    return run


@router.post("/import", status_code=status.HTTP_201_CREATED, response_model=BacktestOut)
def import_lean_result(body: LeanResultImport, session: SessionDep):
    """Store a result produced by a real LEAN run; it ranks like the runs executed here."""
    return service.import_lean_result(
        session,
        project_id=body.project_id,
        result=body.result,
        algorithm_parameters=body.params.algorithm_parameters if body.params else {},
        pipeline_train_job_id=body.params.pipeline_train_job_id if body.params else None,
    )


@router.get("", response_model=Page[BacktestOut])
def list_backtests(
    session: ReadSessionDep,
    project_id: OptionalId = None,
    status: RunStatus | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
):
    items, total = service.list_runs(
        session, project_id=project_id, status=status, limit=limit, offset=offset
    )
    return {"items": items, "total": total}


@router.get("/{run_id}", response_model=BacktestOut)
def get_backtest(run_id: PathId, session: ReadSessionDep):
    return service.get_run(session, run_id)


@router.post("/{run_id}/cancel", response_model=BacktestOut)
def cancel_backtest(run_id: PathId, session: SessionDep):
    return service.cancel_run(session, run_id)


@router.get("/{run_id}/equity")
def backtest_equity(run_id: PathId, session: ReadSessionDep):
    """Daily equity and drawdown (positive fraction) of a completed run."""
    return {"items": service.equity_curve(session, run_id)}
