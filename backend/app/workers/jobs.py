"""What the dispatcher sends and what it stores: a job's task payload (plain data for
``app.workers.tasks``), the recording of a task's outcome through the services, and what
follows a sweep's last trial (its analysis and report)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import session_scope
from app.memory import release_free_memory
from app.models import BacktestRun, TrainJob
from app.services import backtests as backtest_service
from app.services import dispatch
from app.services import train_jobs as train_job_service

log = logging.getLogger(__name__)


def _common(settings: Settings) -> dict[str, Any]:
    return {
        "data_source": settings.data_source,
        "data_dir": str(settings.data_dir),
        "artifacts_dir": str(settings.artifacts_dir),
    }


def run_payload(settings: Settings, run: dispatch.ClaimedRun) -> dict[str, Any]:
    return {
        **_common(settings),
        "run_id": run.run_id,
        "algorithm_parameters": run.algorithm_parameters,
        "file_roots": [str(root) for root in settings.allowed_file_roots()],
    }


def train_payload(settings: Settings, job: train_job_service.ClaimedTrainJob) -> dict[str, Any]:
    return {**_common(settings), "job_id": job.job_id, "params": job.params}


def stored_payload(settings: Settings, session: Session, kind: str, job_id: int) -> dict:
    """The payload of a job claimed earlier, rebuilt from its row."""
    if kind == "train":
        job = session.get(TrainJob, job_id)
        return train_payload(settings, train_job_service.ClaimedTrainJob(job_id, dict(job.params)))
    run = session.get(BacktestRun, job_id)
    algorithm = dict((run.params or {}).get("algorithm_parameters") or {})
    return run_payload(settings, dispatch.ClaimedRun(job_id, algorithm, run.pipeline_train_job_id))


def record_outcome(session: Session, kind: str, job_id: int, outcome: dict[str, Any]) -> None:
    """Store a task's outcome (``{"ok": True, ...}`` or ``{"ok": False, "error": ...}``)."""
    if kind == "backtest":
        if outcome["ok"]:
            backtest_service.record_success(
                session, job_id, metrics=outcome["metrics"], artifact_dir=outcome["artifact_dir"]
            )
        else:
            backtest_service.record_failure(session, job_id, reason=outcome["error"])
    elif outcome["ok"]:
        train_job_service.record_train_success(
            session,
            job_id,
            scores_path=outcome["scores_path"],
            metrics=outcome["metrics"],
            artifact_dir=outcome["artifact_dir"],
        )
    else:
        train_job_service.record_train_failure(session, job_id, reason=outcome["error"])


def conclude_sweep(factory: sessionmaker[Session], settings: Settings, sweep_id: int) -> None:
    """A sweep's trials all ended: compute its analysis, then write its report. Failures
    are logged (and the report's noted on the sweep), never raised: the results are stored
    and both can be rebuilt on request. The memory both freed goes back to the OS after
    each (the analysis of 1,000 trials left the server ~80 MB larger for good otherwise)."""
    from app.models import Optimization
    from app.services import reports, sweep_analysis

    try:
        with session_scope(factory) as session:
            sweep_analysis.ensure_analysis(session, session.get(Optimization, sweep_id))
    except Exception:
        # The results are stored; GET .../analysis computes it again on request.
        log.exception("analysis of optimization %s failed", sweep_id)
    finally:
        release_free_memory()
    try:
        with session_scope(factory) as session:
            reports.ensure_report(session, session.get(Optimization, sweep_id), settings)
    except Exception as exc:
        # The sweep's results are stored; a report can be rebuilt with GET .../report.
        log.exception("report for optimization %s failed", sweep_id)
        with session_scope(factory) as session:
            sweep = session.get(Optimization, sweep_id)
            sweep.error = f"report not written: {type(exc).__name__}: {exc}"
    finally:
        release_free_memory()
