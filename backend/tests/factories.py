"""Factories for the domain objects tests need: real rows made through the services, each
with the fields a test may care about as arguments. ``None`` ids mean "the next one".

The ``seeded`` fixture (conftest) is the seed's world made from these: project 18, the
completed train job 120 and baseline run 615.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.models import BacktestRun, Project, RunStatus, TrainJob
from app.services import backtests, projects, train_jobs

# The baseline run's strategy parameters on the small test market (2018-2021).
BASELINE_ALGORITHM: dict[str, Any] = {
    "strategy": "ml_score_vol_target",
    "backtest_start": "2019-06-03",
    "backtest_end": "2021-12-31",
    "initial_cash": 100000,
    "rebalance": "weekly",
    "top_n": 10,
    "max_weight": 0.035,
    "max_exposure": 0.70,
    "vol_target": 0.050,
    "vol_lookback": 63,
    "risk_off_symbols": "SHY,IEF,GLD,TLT",
}

# The seed's optimization request against the `seeded` world (the window fits the small
# market; four backtests at a time).
SEED_BODY: dict[str, Any] = {
    "baseline_run_id": 615,
    "train_job_id": 120,
    "backtest_start": "2020-01-02",
    "backtest_end": "2021-12-31",
    "overrides": {"risk_off_symbols": "VGSH,IEF,GLD,TLT"},
    "max_inflight": 4,
}
# The same request as `stocklean optimize` arguments (without --max-inflight, which some CLI
# tests vary).
SEED_OPTIMIZE_ARGS: list[str] = [
    "optimize",
    "--baseline-run",
    "615",
    "--train-job",
    "120",
    "--start",
    "2020-01-02",
    "--end",
    "2021-12-31",
    "--risk-off",
    "VGSH,IEF,GLD,TLT",
]


def make_project(
    session: Session, *, name: str = "a project", project_id: int | None = None
) -> Project:
    return projects.create_project(session, name=name, project_id=project_id)


def make_completed_train_job(
    session: Session,
    project: Project,
    scores_path: Path,
    *,
    job_id: int | None = None,
    ic_mean: float = 0.01,
) -> TrainJob:
    """A completed train job whose scores are ``scores_path`` (as an imported scores file
    would be registered)."""
    job = train_jobs.create_train_job(
        session,
        project_id=project.id,
        params={"source": "import"},
        job_id=job_id,
        status=RunStatus.completed,
    )
    job.scores_path = str(scores_path)
    job.metrics = {"ic_mean": ic_mean}
    return job


def make_queued_run(
    session: Session,
    project: Project,
    *,
    train_job: TrainJob | None = None,
    run_id: int | None = None,
    **algorithm: Any,
) -> BacktestRun:
    """A queued backtest run of the baseline strategy; keyword arguments replace its
    parameters, and a train job binds its scores file."""
    parameters = {**BASELINE_ALGORITHM, **algorithm}
    if train_job is not None:
        parameters["score_csv_path"] = train_job.scores_path
    return backtests.create_run(
        session,
        project_id=project.id,
        algorithm_parameters=parameters,
        pipeline_train_job_id=train_job.id if train_job is not None else None,
        run_id=run_id,
    )


def make_seed_world(session: Session, scores_path: Path) -> dict[str, int]:
    """Project 18, its completed train job 120 and baseline run 615 (queued: the workers of
    a test server run it)."""
    project = make_project(session, name="Project 18", project_id=18)
    job = make_completed_train_job(session, project, scores_path, job_id=120)
    run = make_queued_run(session, project, train_job=job, run_id=615)
    return {"project_id": project.id, "train_job_id": job.id, "baseline_run_id": run.id}
