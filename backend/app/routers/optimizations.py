from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Header, Query, Response, status
from fastapi.responses import FileResponse, PlainTextResponse

from app.deps import ReadSessionDep, SessionDep, SettingsDep, WorkerDep
from app.models import METRIC_COLUMNS
from app.routers.common import Limit, Offset, OptionalId, PathId
from app.schemas.common import Page
from app.schemas.optimizations import (
    AnalysisOut,
    OptimizationCreate,
    OptimizationOut,
    PreviewOut,
    TopOut,
    TrialOut,
)
from app.schemas.sweep_aggregates import AggregatesOut, ScatterOut
from app.services import optimizations as service
from app.services import (
    reports,
    sweep_aggregates,
    sweep_analysis,
    sweep_plan,
    sweep_results,
    sweep_trials,
)

router = APIRouter(prefix="/api/optimizations", tags=["optimizations"])

MAX_TRIALS_PAGE = 1000
MAX_SCATTER_POINTS = 5000
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OptimizationOut)
def create_optimization(
    body: OptimizationCreate,
    session: SessionDep,
    settings: SettingsDep,
    worker: WorkerDep,
    background: BackgroundTasks,
    response: Response,
    idempotency_key: IdempotencyKey = None,
):
    sweep, created = service.create_optimization(
        session, body, settings, idempotency_key=idempotency_key
    )
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    # Background tasks run after the session dependency has committed.
    background.add_task(worker.wake)
    return sweep_results.describe(session, sweep)


@router.post("/preview", response_model=PreviewOut)
def preview_optimization(body: OptimizationCreate, session: ReadSessionDep, settings: SettingsDep):
    """The trials a POST would create, with their exact requests; nothing is stored."""
    plan = sweep_plan.plan_optimization(session, body, settings)
    return {
        "trials_total": len(plan.trials),
        "items": [
            {
                "trial_index": trial.trial_index,
                "source": trial.source,
                "params": {name: float(value) for name, value in trial.params.items()},
                "request": trial.request,
            }
            for trial in plan.trials
        ],
    }


@router.get("", response_model=Page[OptimizationOut])
def list_optimizations(
    session: ReadSessionDep, project_id: OptionalId = None, limit: Limit = 50, offset: Offset = 0
):
    items, total = service.list_optimizations(
        session, project_id=project_id, limit=limit, offset=offset
    )
    return {"items": [sweep_results.describe(session, item) for item in items], "total": total}


@router.get("/{optimization_id}", response_model=OptimizationOut)
def get_optimization(optimization_id: PathId, session: ReadSessionDep):
    return sweep_results.describe(session, service.get_optimization(session, optimization_id))


TrialSort = Literal[sweep_trials.TRIAL_SORT_KEYS]  # type: ignore[valid-type]


@router.get("/{optimization_id}/trials", response_model=Page[TrialOut])
def list_trials(
    optimization_id: PathId,
    session: ReadSessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_TRIALS_PAGE)] = MAX_TRIALS_PAGE,
    offset: Offset = 0,
    sort: TrialSort = "trial_index",
    order: Literal["asc", "desc"] = "asc",
    feasible: bool | None = None,
):
    """A page of the sweep's trials (``total``: how many match), sorted by the trial index,
    the objective or any metric; ``feasible`` keeps only the completed trials that meet (or
    miss) the constraints. A page holds at most 1,000 trials."""
    items, total = sweep_trials.list_trials(
        session,
        service.get_optimization(session, optimization_id),
        limit=limit,
        offset=offset,
        sort=sort,
        descending=order == "desc",
        feasible=feasible,
    )
    return {"items": items, "total": total}


ParamName = Annotated[str, Query(min_length=1, max_length=64)]
MetricName = Literal[METRIC_COLUMNS]  # type: ignore[valid-type]


@router.get("/{optimization_id}/aggregates", response_model=AggregatesOut)
def aggregates(
    optimization_id: PathId,
    session: ReadSessionDep,
    x: ParamName,
    y: ParamName | None = None,
    panel: ParamName | None = None,
    metric: MetricName = "cagr",
    stat: Literal[sweep_aggregates.AGGREGATE_STATS] = "max",  # type: ignore[valid-type]
    source: Literal[sweep_aggregates.AGGREGATE_SOURCES] = "grid",  # type: ignore[valid-type]
    feasible: bool | None = None,
):
    """Heatmap cells: the sweep's trials grouped by the values of the swept parameters ``x``,
    ``y`` and ``panel`` (one heatmap per value), each cell with its trials, completed and
    feasible counts and the ``stat`` of ``metric`` over its completed trials (with the run
    holding the max or min). ``feasible`` keeps only the completed trials that meet (or miss)
    the constraints; ``source`` the grid's trials (default), the perturbations' or all."""
    return sweep_aggregates.heatmap_cells(
        session,
        service.get_optimization(session, optimization_id),
        x=x,
        y=y,
        panel=panel,
        metric=metric,
        stat=stat,
        source=source,
        feasible=feasible,
    )


@router.get("/{optimization_id}/scatter", response_model=ScatterOut)
def scatter(
    optimization_id: PathId,
    session: ReadSessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_SCATTER_POINTS)] = 1000,
    top: Annotated[int, Query(ge=0, le=100)] = 3,
):
    """At most ``limit`` completed trials as (max drawdown, CAGR) points: the Top ``top``
    (with their rank), the Pareto front, then a fixed sample of the rest; ``total`` counts
    every completed trial."""
    sweep = service.get_optimization(session, optimization_id)
    return sweep_aggregates.scatter_points(session, sweep, limit=limit, top=top)


@router.get("/{optimization_id}/top", response_model=TopOut)
def top(
    optimization_id: PathId, session: ReadSessionDep, n: Annotated[int, Query(ge=1, le=100)] = 3
):
    return sweep_results.top_trials(session, service.get_optimization(session, optimization_id), n)


@router.post("/{optimization_id}/cancel", response_model=OptimizationOut)
def cancel(optimization_id: PathId, session: SessionDep):
    return sweep_results.describe(session, service.cancel_optimization(session, optimization_id))


@router.get("/{optimization_id}/analysis", response_model=AnalysisOut)
def analysis(optimization_id: PathId, session: SessionDep):
    """The selection-validity analysis of a finished sweep (DESIGN §7); 409 while it runs.
    Stored when the sweep finishes; computed and stored here for sweeps finished before."""
    sweep = service.get_optimization(session, optimization_id)
    return sweep_analysis.ensure_analysis(session, sweep)


@router.get("/{optimization_id}/report", response_class=PlainTextResponse)
def report(
    optimization_id: PathId,
    session: SessionDep,
    settings: SettingsDep,
    lang: Literal["zh", "en"] = "zh",
):
    """The Markdown report (Chinese like the seed's, ``?lang=en`` for English)."""
    sweep = service.get_optimization(session, optimization_id)
    written = reports.ensure_report(session, sweep, settings, lang=lang)
    return PlainTextResponse(
        written.markdown_path.read_text(encoding="utf-8"), media_type="text/markdown"
    )


@router.get("/{optimization_id}/report.png", response_class=FileResponse)
def report_chart(optimization_id: PathId, session: SessionDep, settings: SettingsDep):
    sweep = service.get_optimization(session, optimization_id)
    written = reports.ensure_report(session, sweep, settings, lang="zh")
    return FileResponse(written.chart_path, media_type="image/png")
