"""Planning a sweep: validate an optimization request and build every trial's exact backtest
request. Stores nothing; ``optimizations.create_optimization`` stores what this returns.

``plan_optimization`` reads as the list of its checks (``services.sweep_checks``): the
baseline run, the train job, the project, the backtest window, the risk-off symbols, the file
paths, the overrides against the search space; then the points and the trial builder. Each
check raises a 404/409/422 naming the request field at fault. No two trials of a plan have the
same backtest request (``build_search_points``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import InvalidRequest
from app.schemas.optimizations import (
    INTEGER_PARAMETERS,
    OptimizationCreate,
    PerturbationIn,
    SearchIn,
    check_parameter_value,
)
from app.services import backtests as backtest_service
from app.services import sweep_checks as checks
from app.services.backtest_opt_train120 import GRID_AXES, PERTURBATION_COUNT, PERTURBATION_STEPS
from app.services.market import load_market_index
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
    search: SearchIn,
    baseline_algorithm: dict[str, Any],
    request_key: Callable[[ParamPoint], str] | None = None,
) -> list[tuple[str, ParamPoint]]:
    """The grid points (in grid order), then the perturbations (in lattice order).

    No two points give the same backtest request. A grid over one set of parameters and a
    perturbation over another give points with different keys (``{max_exposure}`` against
    ``{vol_target}``) whose full requests can still be equal once the baseline fills in the
    rest; so a perturbation candidate whose ``request_key`` equals a grid point's is skipped
    like a grid point would be, and the next lattice point in order takes its place: the
    perturbation still gives exactly ``count`` points, and the preview shows the same list.
    """
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
        grid_requests = {request_key(point) for point in grid} if request_key else set()

        def accept(point: ParamPoint) -> bool:
            if not _within_parameter_bounds(point):
                return False
            return request_key is None or request_key(point) not in grid_requests

        try:
            nearby = build_perturbations(spec, exclude=grid, accept=accept)
        except SearchSpaceError as exc:
            raise InvalidRequest(str(exc), exc.field) from exc
        points.extend(("perturbation", point) for point in nearby)
    return points


def _search_points(
    search: SearchIn,
    baseline_algorithm: dict[str, Any],
    settings: Settings,
    request_key: Callable[[ParamPoint], str],
) -> list[tuple[str, ParamPoint]]:
    points = build_search_points(search, baseline_algorithm, request_key)
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
    baseline_algorithm = checks.baseline_algorithm(baseline)
    train_job, scores_path = checks.completed_train_job(session, body.train_job_id)
    project_id = checks.project_id(body, baseline, train_job)
    start, end = checks.window(body, baseline_algorithm)
    market = market if market is not None else load_market_index(settings)
    checks.check_window_in_market(start, end, market)
    checks.check_risk_off_symbols(body, baseline_algorithm, market)
    checks.check_file_parameters(body, baseline_algorithm, settings)
    search = body.search or default_search(baseline_algorithm)
    checks.check_overrides_not_searched(body.overrides, search)

    builder = TrialBuilder(
        baseline_algorithm=baseline_algorithm,
        overrides=body.overrides,
        fixed={
            "backtest_start": start.isoformat(),
            "backtest_end": end.isoformat(),
            "score_csv_path": str(scores_path),
        },
        project_id=project_id,
        train_job_id=train_job.id,
    )
    points = _search_points(search, baseline_algorithm, settings, builder.request_key)
    trials = [builder.trial(index, source, point) for index, (source, point) in enumerate(points)]
    checks.check_trial_parameters(
        [(trial.params, trial.request["params"]["algorithm_parameters"]) for trial in trials],
        body.overrides,
    )
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


@dataclass(frozen=True)
class TrialBuilder:
    """One trial's backtest request: the baseline's parameters, then the point, then the
    request's overrides (which never name a searched parameter), then the sweep's window and
    scores file (later keys win)."""

    baseline_algorithm: dict[str, Any]
    overrides: dict[str, Any]
    fixed: dict[str, Any]
    project_id: int
    train_job_id: int

    def algorithm(self, point: ParamPoint) -> dict[str, Any]:
        return {**self.baseline_algorithm, **params_as_json(point), **self.overrides, **self.fixed}

    def request(self, point: ParamPoint) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "params": {
                "pipeline_train_job_id": self.train_job_id,
                "algorithm_parameters": self.algorithm(point),
            },
        }

    def request_key(self, point: ParamPoint) -> str:
        """Two points with the same key would run the same backtest: the request as canonical
        JSON, numbers written as normalised decimals (a baseline's ``1`` and a point's
        ``1.0`` are the same exposure)."""
        algorithm = {name: _number_key(value) for name, value in self.algorithm(point).items()}
        return json.dumps(
            [self.project_id, self.train_job_id, algorithm], sort_keys=True, default=str
        )

    def trial(self, index: int, source: str, point: ParamPoint) -> PlannedTrial:
        return PlannedTrial(index, source, point, self.request(point))


def _number_key(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return "#" + format(to_decimal(value).normalize(), "f")
        except (ArithmeticError, ValueError):
            return value
    return value


def params_as_json(point: ParamPoint) -> dict[str, Any]:
    """Decimal lattice values leave the system here: ints stay ints, the rest floats."""
    return {
        name: int(value) if name in INTEGER_PARAMETERS else float(value)
        for name, value in point.items()
    }
