"""Planning a sweep: validate an optimization request and build every trial's exact backtest
request. Stores nothing; ``optimizations.create_optimization`` stores what this returns.

``plan_optimization`` reads as the list of its checks: the baseline run, the train job, the
project, the backtest window, the risk-off symbols, the search space; then the trial builder.
Each check raises a 404/409/422 naming the request field at fault.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import Conflict, InvalidRequest
from app.models import BacktestRun, RunStatus, TrainJob
from app.schemas.optimizations import (
    INTEGER_PARAMETERS,
    OptimizationCreate,
    PerturbationIn,
    SearchIn,
    check_parameter_value,
)
from app.services import backtests as backtest_service
from app.services.backtest_opt_train120 import GRID_AXES, PERTURBATION_COUNT, PERTURBATION_STEPS
from app.services.common import get_or_404
from app.services.market import load_market
from app.services.search_space import (
    ParamPoint,
    PerturbationSpec,
    SearchSpaceError,
    build_grid,
    build_perturbations,
    to_decimal,
)


@dataclass(frozen=True)
class PlannedTrial:
    trial_index: int
    source: str
    params: ParamPoint
    request: dict[str, Any]


@dataclass(frozen=True)
class SweepPlan:
    project_id: int
    baseline_run_id: int
    train_job_id: int
    spec: dict[str, Any]
    trials: list[PlannedTrial]


# -- the search space ------------------------------------------------------------------------
def default_search(baseline_algorithm: dict[str, Any]) -> SearchIn:
    """The seed's space: the 18-point grid plus 12 perturbations around the baseline run's
    own values of the three swept parameters."""
    missing = [name for name in PERTURBATION_STEPS if name not in baseline_algorithm]
    if missing:
        raise InvalidRequest(
            f"the baseline run has no {', '.join(missing)}; give search.perturbation.base",
            ("search",),
        )
    return SearchIn(
        grid={name: list(values) for name, values in GRID_AXES.items()},
        perturbation=PerturbationIn(
            base=None, steps=dict(PERTURBATION_STEPS), count=PERTURBATION_COUNT
        ),
    )


def _within_parameter_bounds(point: ParamPoint) -> bool:
    try:
        for name, value in point.items():
            check_parameter_value(name, value)
    except ValueError:
        return False
    return True


def _perturbation_base(
    perturbation: PerturbationIn, baseline_algorithm: dict[str, Any]
) -> dict[str, Any]:
    """The given base, or the baseline run's own values of the perturbed parameters."""
    if perturbation.base is not None:
        return perturbation.base
    missing = [name for name in perturbation.steps if name not in baseline_algorithm]
    if missing:
        raise InvalidRequest(
            f"the baseline run has no {', '.join(missing)} to perturb around; "
            "give search.perturbation.base",
            ("search", "perturbation", "base"),
        )
    try:
        return {name: to_decimal(baseline_algorithm[name]) for name in perturbation.steps}
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise InvalidRequest(
            f"the baseline run's parameters are not numbers: {exc}",
            ("search", "perturbation", "base"),
        ) from exc


def build_search_points(
    search: SearchIn, baseline_algorithm: dict[str, Any]
) -> list[tuple[str, ParamPoint]]:
    """The grid points (in grid order), then the perturbations (in lattice order)."""
    grid = build_grid(search.grid) if search.grid else []
    points: list[tuple[str, ParamPoint]] = [("grid", point) for point in grid]
    if search.perturbation is not None:
        perturbation = search.perturbation
        spec = PerturbationSpec(
            base=_perturbation_base(perturbation, baseline_algorithm),
            steps=perturbation.steps,
            count=perturbation.count,
            radius=perturbation.radius,
            exclude_base=perturbation.exclude_base,
        )
        try:
            nearby = build_perturbations(spec, exclude=grid, accept=_within_parameter_bounds)
        except SearchSpaceError as exc:
            raise InvalidRequest(str(exc), exc.field) from exc
        points.extend(("perturbation", point) for point in nearby)
    return points


# -- the checks ------------------------------------------------------------------------------
def _baseline_algorithm(baseline: BacktestRun) -> dict[str, Any]:
    algorithm = dict((baseline.params or {}).get("algorithm_parameters") or {})
    if not algorithm:
        raise InvalidRequest(
            f"baseline run {baseline.id} has no algorithm_parameters", ("baseline_run_id",)
        )
    return algorithm


def _completed_train_job(session: Session, train_job_id: int) -> tuple[TrainJob, Path]:
    """The train job and its scores file; it must be completed and the file readable."""
    train_job = get_or_404(session, TrainJob, train_job_id, label="train job")
    if train_job.status != RunStatus.completed:
        raise Conflict(
            f"train job {train_job.id} is {train_job.status.value}; an optimization needs a "
            "completed train job"
        )
    scores_path = Path(train_job.scores_path or "")
    if not train_job.scores_path or not scores_path.is_file():
        raise InvalidRequest(
            f"train job {train_job.id} has no readable scores file ({train_job.scores_path})",
            ("train_job_id",),
        )
    return train_job, scores_path


def _project_id(body: OptimizationCreate, baseline: BacktestRun, train_job: TrainJob) -> int:
    """The sweep's project: the baseline run's, which the request and train job must share."""
    project_id = body.project_id or baseline.project_id
    if project_id != baseline.project_id:
        raise InvalidRequest(
            f"project {project_id} does not match baseline run {baseline.id}'s project "
            f"{baseline.project_id}",
            ("project_id",),
        )
    if train_job.project_id != project_id:
        raise InvalidRequest(
            f"train job {train_job.id} belongs to project {train_job.project_id}, not {project_id}",
            ("train_job_id",),
        )
    return project_id


def _window(
    body: OptimizationCreate, baseline_algorithm: dict[str, Any]
) -> tuple[dt.date, dt.date]:
    """The backtest window: the request's, else the baseline run's."""
    start = body.backtest_start or _as_date(baseline_algorithm.get("backtest_start"))
    end = body.backtest_end or _as_date(baseline_algorithm.get("backtest_end"))
    if start is None or end is None:
        raise InvalidRequest(
            "no backtest window: give backtest_start and backtest_end (the baseline run has none)",
            ("backtest_start",),
        )
    if start >= end:
        raise InvalidRequest(
            f"backtest_start ({start}) must be before backtest_end ({end})", ("backtest_start",)
        )
    return start, end


def _check_window_in_market(start: dt.date, end: dt.date, market) -> None:
    first, last = market.sessions[0].date(), market.sessions[-1].date()
    if start < first or end > last:
        field = "backtest_start" if start < first else "backtest_end"
        raise InvalidRequest(
            f"window {start}..{end} lies outside the market data ({first}..{last})", (field,)
        )


def _check_risk_off_symbols(
    body: OptimizationCreate, baseline_algorithm: dict[str, Any], market
) -> None:
    risk_off = body.overrides.get("risk_off_symbols", baseline_algorithm.get("risk_off_symbols"))
    if isinstance(risk_off, str):
        symbols = [s.strip() for s in risk_off.split(",") if s.strip()]
        unknown = [s for s in symbols if not market.has_symbol(s)]
        if not symbols or unknown:
            raise InvalidRequest(
                f"risk_off_symbols not in the data: {', '.join(unknown) or '(empty)'}",
                ("overrides", "risk_off_symbols"),
            )
    elif risk_off is not None:
        raise InvalidRequest(
            "risk_off_symbols must be a comma-separated string", ("overrides", "risk_off_symbols")
        )


def _search_points(
    search: SearchIn, baseline_algorithm: dict[str, Any], settings: Settings
) -> list[tuple[str, ParamPoint]]:
    points = build_search_points(search, baseline_algorithm)
    if not points:
        raise InvalidRequest("the search space is empty", ("search",))
    if len(points) > settings.max_trials:
        raise InvalidRequest(
            f"{len(points)} trials exceed the maximum of {settings.max_trials}", ("search",)
        )
    return points


# -- the plan --------------------------------------------------------------------------------
def plan_optimization(
    session: Session, body: OptimizationCreate, settings: Settings, market=None
) -> SweepPlan:
    """Validate a request and build every trial's exact backtest request. Stores nothing."""
    baseline = backtest_service.get_run(session, body.baseline_run_id)
    baseline_algorithm = _baseline_algorithm(baseline)
    train_job, scores_path = _completed_train_job(session, body.train_job_id)
    project_id = _project_id(body, baseline, train_job)
    start, end = _window(body, baseline_algorithm)
    market = market if market is not None else load_market(settings)
    _check_window_in_market(start, end, market)
    _check_risk_off_symbols(body, baseline_algorithm, market)
    search = body.search or default_search(baseline_algorithm)
    points = _search_points(search, baseline_algorithm, settings)

    common = {
        "backtest_start": start.isoformat(),
        "backtest_end": end.isoformat(),
        "score_csv_path": str(scores_path),
    }
    trials = [
        build_trial(
            index,
            source,
            point,
            baseline_algorithm=baseline_algorithm,
            overrides=body.overrides,
            fixed=common,
            project_id=project_id,
            train_job_id=train_job.id,
        )
        for index, (source, point) in enumerate(points)
    ]
    spec = body.model_dump(mode="json")
    spec.update(
        project_id=project_id,
        backtest_start=start.isoformat(),
        backtest_end=end.isoformat(),
        search=search.model_dump(mode="json"),
        scores_path=str(scores_path),
        data_provenance=dict(market.provenance),
    )
    return SweepPlan(project_id, baseline.id, train_job.id, spec, trials)


def build_trial(
    index: int,
    source: str,
    point: ParamPoint,
    *,
    baseline_algorithm: dict[str, Any],
    overrides: dict[str, Any],
    fixed: dict[str, Any],
    project_id: int,
    train_job_id: int,
) -> PlannedTrial:
    """One trial's backtest request: the baseline's parameters, then the point, then the
    request's overrides, then the sweep's window and scores file (later keys win)."""
    algorithm = {**baseline_algorithm, **params_as_json(point), **overrides, **fixed}
    request = {
        "project_id": project_id,
        "params": {"pipeline_train_job_id": train_job_id, "algorithm_parameters": algorithm},
    }
    return PlannedTrial(index, source, point, request)


def params_as_json(point: ParamPoint) -> dict[str, Any]:
    """Decimal lattice values leave the system here: ints stay ints, the rest floats."""
    return {
        name: int(value) if name in INTEGER_PARAMETERS else float(value)
        for name, value in point.items()
    }


def _as_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
