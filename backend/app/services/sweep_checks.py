"""The checks a sweep request passes before it is planned, each raising a 404/409/422 that
names the request field at fault (see ``services.sweep_plan.plan_optimization``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.config import Settings
from app.engine import BacktestInputError
from app.engine.parameters import normalize_params
from app.errors import Conflict, InvalidRequest
from app.models import BacktestRun, RunStatus, TrainJob
from app.schemas.optimizations import OptimizationCreate, SearchIn
from app.services import file_paths
from app.services.common import get_or_404


def baseline_algorithm(baseline: BacktestRun) -> dict[str, Any]:
    algorithm = dict((baseline.params or {}).get("algorithm_parameters") or {})
    if not algorithm:
        raise InvalidRequest(
            f"baseline run {baseline.id} has no algorithm_parameters", ("baseline_run_id",)
        )
    return algorithm


def completed_train_job(session: Session, train_job_id: int) -> tuple[TrainJob, Path]:
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


def project_id(body: OptimizationCreate, baseline: BacktestRun, train_job: TrainJob) -> int:
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


def window(body: OptimizationCreate, baseline_algorithm: dict[str, Any]) -> tuple[dt.date, dt.date]:
    """The backtest window: the request's, else the baseline run's."""
    start = body.backtest_start or as_date(baseline_algorithm.get("backtest_start"))
    end = body.backtest_end or as_date(baseline_algorithm.get("backtest_end"))
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


def check_window_in_market(start: dt.date, end: dt.date, market) -> None:
    first, last = market.sessions[0].date(), market.sessions[-1].date()
    if start < first or end > last:
        field = "backtest_start" if start < first else "backtest_end"
        raise InvalidRequest(
            f"window {start}..{end} lies outside the market data ({first}..{last})", (field,)
        )


def check_risk_off_symbols(
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


def check_overrides_not_searched(overrides: dict[str, Any], search: SearchIn) -> None:
    """DESIGN §4.2: every parameter a sweep varies comes from ``search``. An override of a
    searched parameter would win over the point (see ``TrialBuilder``) and run every trial
    with the same value while the trials table, the Top N and the report show the lattice."""
    searched = set(search.grid)
    if search.perturbation is not None:
        searched |= set(search.perturbation.steps) | set(search.perturbation.base or {})
    clashes = [key for key in overrides if key in searched]
    if clashes:
        named = (
            f"override {clashes[0]} names a searched parameter"
            if len(clashes) == 1
            else f"overrides {', '.join(clashes)} name searched parameters"
        )
        raise InvalidRequest(
            f"{named}: every trial would run with the override ({clashes[0]} = "
            f"{overrides[clashes[0]]!r}) while the trials show the searched values; remove it "
            "from overrides or from search",
            ("overrides", clashes[0]),
        )


def check_file_parameters(
    body: OptimizationCreate, baseline_algorithm: dict[str, Any], settings: Settings
) -> None:
    """A path from the overrides (or kept from the baseline run) must lie under the allowed
    file roots; the scores file is the train job's own and is not checked here."""
    file_paths.check_file_parameters(
        {**baseline_algorithm, **body.overrides},
        settings.allowed_file_roots(),
        lambda name: ("overrides", name) if name in body.overrides else ("baseline_run_id",),
        skip=frozenset({"score_csv_path"}),
    )


def check_trial_parameters(
    algorithms: list[tuple[dict[str, Any], dict[str, Any]]], overrides: dict[str, Any]
) -> None:
    """Every trial's request passes the engine's own parameter rules before anything is stored.

    ``algorithms`` holds each trial's (point, algorithm parameters). Without this a sweep over a
    misspelled override (``{"foo": 1}``) or a grid value the engine refuses (``top_n: 0``) is
    accepted and "completes" with every trial failed. The error names where the bad value came
    from: a searched parameter (``search``), an override (``overrides``), or else the baseline
    run's own parameters (``baseline_run_id``). Paths are checked by
    :func:`check_file_parameters` (``file_roots`` None here: only the values' shape)."""
    for point, algorithm in algorithms:
        try:
            normalize_params(algorithm, None)
        except BacktestInputError as exc:
            message = str(exc)
            if any(name in message for name in point):
                field: tuple[str, ...] = ("search",)
            elif any(name in message for name in overrides):
                field = ("overrides",)
            else:
                field = ("baseline_run_id",)
            raise InvalidRequest(message, field) from exc


def as_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
