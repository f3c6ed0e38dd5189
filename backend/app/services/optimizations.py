"""Optimizations: sweeps of backtests derived from a baseline run and a train job.

Lifecycle: ``create_optimization`` validates everything and stores the sweep with all its
trials (each with its exact backtest request) in one transaction. The dispatcher calls
``advance_sweeps`` on every tick: it keeps at most ``max_inflight`` of a sweep's runs queued
or running, creating a trial's run in the same transaction that links it to the trial (a
unique ``run_id``), so after any crash each trial ends with exactly one run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.config import Settings
from app.errors import Conflict, InvalidRequest
from app.models import BacktestRun, Optimization, OptimizationTrial, RunStatus, TrainJob
from app.models.common import utcnow
from app.schemas.optimizations import (
    INTEGER_PARAMETERS,
    OptimizationCreate,
    PerturbationIn,
    SearchIn,
    check_parameter_value,
)
from app.services import backtests as backtest_service
from app.services.backtest_opt_train120 import (
    GRID_AXES,
    PERTURBATION_COUNT,
    PERTURBATION_STEPS,
    to_decimal,
)
from app.services.common import get_for_update, get_or_404, paginate
from app.services.ranking import Constraint, Objective, Ranking, feasible_flag, rank_runs
from app.services.search_space import (
    ParamPoint,
    PerturbationSpec,
    SearchSpaceError,
    build_grid,
    build_perturbations,
)

ACTIVE = (RunStatus.queued, RunStatus.running)


# -- building the sweep ----------------------------------------------------------------------
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


def build_search_points(
    search: SearchIn, baseline_algorithm: dict[str, Any]
) -> list[tuple[str, ParamPoint]]:
    grid = build_grid(search.grid) if search.grid else []
    points: list[tuple[str, ParamPoint]] = [("grid", point) for point in grid]
    if search.perturbation is not None:
        perturbation = search.perturbation
        base = perturbation.base
        if base is None:
            missing = [name for name in perturbation.steps if name not in baseline_algorithm]
            if missing:
                raise InvalidRequest(
                    f"the baseline run has no {', '.join(missing)} to perturb around; "
                    "give search.perturbation.base",
                    ("search", "perturbation", "base"),
                )
            try:
                base = {name: to_decimal(baseline_algorithm[name]) for name in perturbation.steps}
            except (ArithmeticError, ValueError, TypeError) as exc:
                raise InvalidRequest(
                    f"the baseline run's parameters are not numbers: {exc}",
                    ("search", "perturbation", "base"),
                ) from exc
        spec = PerturbationSpec(
            base=base,
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


def _params_as_json(point: ParamPoint) -> dict[str, Any]:
    """Decimal lattice values leave the system here: ints stay ints, the rest floats."""
    return {
        name: int(value) if name in INTEGER_PARAMETERS else float(value)
        for name, value in point.items()
    }


def _request_hash(body: OptimizationCreate) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def plan_optimization(
    session: Session, body: OptimizationCreate, settings: Settings, market=None
) -> SweepPlan:
    """Validate a request and build every trial's exact backtest request. Stores nothing."""
    baseline = backtest_service.get_run(session, body.baseline_run_id)
    baseline_algorithm = dict((baseline.params or {}).get("algorithm_parameters") or {})
    if not baseline_algorithm:
        raise InvalidRequest(
            f"baseline run {baseline.id} has no algorithm_parameters", ("baseline_run_id",)
        )
    train_job = get_or_404(session, TrainJob, body.train_job_id, label="train job")
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
    market = market if market is not None else load_market(settings)
    first, last = market.sessions[0].date(), market.sessions[-1].date()
    if start < first or end > last:
        field = "backtest_start" if start < first else "backtest_end"
        raise InvalidRequest(
            f"window {start}..{end} lies outside the market data ({first}..{last})", (field,)
        )
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

    search = body.search or default_search(baseline_algorithm)
    points = build_search_points(search, baseline_algorithm)
    if not points:
        raise InvalidRequest("the search space is empty", ("search",))
    if len(points) > settings.max_trials:
        raise InvalidRequest(
            f"{len(points)} trials exceed the maximum of {settings.max_trials}", ("search",)
        )

    trials = []
    for index, (source, point) in enumerate(points):
        algorithm = {
            **baseline_algorithm,
            **_params_as_json(point),
            **body.overrides,
            "backtest_start": start.isoformat(),
            "backtest_end": end.isoformat(),
            "score_csv_path": str(scores_path),
        }
        request = {
            "project_id": project_id,
            "params": {"pipeline_train_job_id": train_job.id, "algorithm_parameters": algorithm},
        }
        trials.append(PlannedTrial(index, source, point, request))

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


def load_market(settings: Settings):
    from app.engine import BacktestInputError, get_market_data

    try:
        return get_market_data(settings.data_source, settings.data_dir)
    except (BacktestInputError, OSError) as exc:
        raise Conflict(
            f"market data is not available ({settings.data_source} at {settings.data_dir}): "
            f"{exc}. Run `stocklean data synth` or point STOCKLEAN_DATA_DIR at a data store."
        ) from exc


def _as_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


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
    session.add(optimization)
    try:
        session.flush()
    except IntegrityError:
        # A concurrent request with the same key won the race: answer with its sweep.
        session.rollback()
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


# -- reading -----------------------------------------------------------------------------------
def get_optimization(session: Session, optimization_id: int) -> Optimization:
    return get_or_404(session, Optimization, optimization_id, label="optimization")


def list_optimizations(
    session: Session, *, project_id: int | None, limit: int, offset: int
) -> tuple[list[Optimization], int]:
    stmt = select(Optimization).order_by(Optimization.id.desc())
    if project_id is not None:
        stmt = stmt.where(Optimization.project_id == project_id)
    return paginate(session, stmt, limit=limit, offset=offset)


def status_counts(session: Session, optimization_id: int) -> dict[str, int]:
    """Trials by the status of their run; ``pending`` = not yet submitted."""
    rows = session.execute(
        select(BacktestRun.status, func.count())
        .select_from(OptimizationTrial)
        .outerjoin(BacktestRun, BacktestRun.id == OptimizationTrial.run_id)
        .where(OptimizationTrial.optimization_id == optimization_id)
        .group_by(BacktestRun.status)
    ).all()
    counts = Counter({status.value: 0 for status in RunStatus})
    counts["pending"] = 0
    for status, count in rows:
        counts["pending" if status is None else RunStatus(status).value] += count
    return dict(counts)


def objective_of(optimization: Optimization) -> Objective:
    objective = optimization.spec.get("objective") or {}
    return Objective(objective.get("metric", "cagr"), objective.get("direction", "max"))


def constraints_of(optimization: Optimization) -> list[Constraint]:
    return [
        Constraint(c["metric"], c["op"], float(c["value"]))
        for c in optimization.spec.get("constraints") or []
    ]


def _runs_of(optimization_id: int) -> ColumnElement[bool]:
    return BacktestRun.id.in_(
        select(OptimizationTrial.run_id).where(OptimizationTrial.optimization_id == optimization_id)
    )


def rank_sweep(
    session: Session, optimization: Optimization, limit: int, *, with_summary: bool = True
) -> Ranking:
    return rank_runs(
        session,
        _runs_of(optimization.id),
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


def list_trials(session: Session, optimization: Optimization) -> list[dict[str, Any]]:
    objective = objective_of(optimization)
    objective_column = getattr(BacktestRun, objective.metric)
    rows = session.execute(
        select(
            OptimizationTrial,
            BacktestRun.status,
            BacktestRun.cagr,
            BacktestRun.max_drawdown,
            BacktestRun.sharpe,
            objective_column,
            BacktestRun.error,
            feasible_flag(constraints_of(optimization)),
        )
        .outerjoin(BacktestRun, BacktestRun.id == OptimizationTrial.run_id)
        .where(OptimizationTrial.optimization_id == optimization.id)
        .order_by(OptimizationTrial.trial_index)
    ).all()
    return [
        {
            "id": trial.id,
            "trial_index": trial.trial_index,
            "params": stored_params(trial.params),
            "source": trial.source,
            "run_id": trial.run_id,
            "status": "pending" if status is None else RunStatus(status).value,
            "cagr": cagr,
            "max_drawdown": max_drawdown,
            "sharpe": sharpe,
            "objective": objective_value,
            "feasible": feasible,
            "error": error,
        }
        for trial, status, cagr, max_drawdown, sharpe, objective_value, error, feasible in rows
    ]


# -- scheduling ------------------------------------------------------------------------------
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
            select(func.count())
            .select_from(OptimizationTrial)
            .join(BacktestRun, BacktestRun.id == OptimizationTrial.run_id)
            .where(OptimizationTrial.optimization_id == sweep.id, BacktestRun.status.in_(ACTIVE))
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
        .where(_runs_of(optimization_id), BacktestRun.status == RunStatus.queued)
        .values(status=RunStatus.canceled, finished_at=now, error="optimization canceled")
        .execution_options(synchronize_session=False)
    )
    return sweep


def best_so_far(session: Session, optimization: Optimization) -> dict[str, Any] | None:
    ranking = rank_sweep(session, optimization, 1, with_summary=False)
    if not ranking.items:
        return None
    best = ranking.items[0]
    return {
        "run_id": best.run_id,
        "cagr": best.cagr,
        "max_drawdown": best.max_drawdown,
        "objective": best.objective,
        "feasible": best.feasible,
    }


def describe(session: Session, optimization: Optimization) -> dict[str, Any]:
    counts = status_counts(session, optimization.id)
    done = counts["completed"] + counts["failed"] + counts["canceled"]
    return {
        "id": optimization.id,
        "project_id": optimization.project_id,
        "baseline_run_id": optimization.baseline_run_id,
        "train_job_id": optimization.train_job_id,
        "status": optimization.status,
        "trials_total": optimization.trials_total,
        "counts": counts,
        "progress": done / optimization.trials_total if optimization.trials_total else 1.0,
        "max_inflight": optimization.max_inflight,
        "spec": {k: v for k, v in optimization.spec.items() if k != "request_hash"},
        "best": best_so_far(session, optimization),
        "report_path": optimization.report_path,
        "error": optimization.error,
        "created_at": optimization.created_at,
        "started_at": optimization.started_at,
        "finished_at": optimization.finished_at,
    }


def top_trials(session: Session, optimization: Optimization, n: int) -> dict[str, Any]:
    ranking = rank_sweep(session, optimization, n)
    by_run = trial_params_by_run(session, optimization.id)
    items = []
    for item in ranking.items:
        trial_id, params = by_run.get(item.run_id, (None, {}))
        items.append({**asdict(item), "trial_id": trial_id, "params": stored_params(params)})
    return {
        "constraint_met": ranking.constraint_met,
        "objective": optimization.spec.get("objective"),
        "constraints": optimization.spec.get("constraints") or [],
        "items": items,
        "failed": [
            {"run_id": run_id, "trial_id": by_run.get(run_id, (None,))[0], "error": error}
            for run_id, error in ranking.failed
        ],
        "completed": ranking.completed,
    }


def fair_claim_order(session: Session, candidates: list[BacktestRun]) -> list[BacktestRun]:
    """Order queued runs so that sweeps share the workers: a run whose sweep has the fewest
    runs already running goes first; ties (and runs outside any sweep) by age."""
    if not candidates:
        return []
    sweep_of = dict(
        session.execute(
            select(OptimizationTrial.run_id, OptimizationTrial.optimization_id).where(
                OptimizationTrial.run_id.in_([run.id for run in candidates])
            )
        ).all()
    )
    if not sweep_of:
        return candidates
    running = Counter(
        session.execute(
            select(OptimizationTrial.optimization_id)
            .join(BacktestRun, BacktestRun.id == OptimizationTrial.run_id)
            .where(BacktestRun.status == RunStatus.running)
        ).scalars()
    )
    ordered: list[BacktestRun] = []
    pending = list(candidates)
    while pending:
        best = min(pending, key=lambda run: (running[sweep_of.get(run.id)], run.id))
        pending.remove(best)
        ordered.append(best)
        running[sweep_of.get(best.id)] += 1
    return ordered
