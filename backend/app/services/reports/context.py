"""Everything a report shows, read from the database once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.models import BacktestRun, Optimization, TrainJob
from app.services import sweep_analysis, sweep_results, sweep_trials
from app.services.sweep_results import SweepCounts, SweepTop
from app.services.sweep_trials import TrialRow


@dataclass(frozen=True)
class ReportContext:
    sweep: Optimization
    top: SweepTop
    trials: list[TrialRow]
    baseline: BacktestRun
    train_job: TrainJob | None
    counts: SweepCounts
    changes: list[str]  # "key: baseline value -> override" for each replaced parameter
    runs: dict[int, BacktestRun]  # the Top N's runs and the baseline run, by id
    top_n: int
    provenance: dict[str, Any]  # the market data's provenance, as stored on the sweep
    analysis: dict[str, Any] | None = None  # the sweep's /analysis document (DESIGN §7)
    analysis_reason: str | None = None  # why there is none

    @property
    def objective(self) -> dict[str, str]:
        return self.sweep.spec.get("objective") or {"metric": "cagr", "direction": "max"}

    @property
    def constraints(self) -> list[dict[str, Any]]:
        return self.sweep.spec.get("constraints") or []


def build_context(session: Session, sweep: Optimization) -> ReportContext:
    top_n = int(sweep.spec.get("top_n") or 3)
    # First, so that the Top N read below carries the equivalences it finds.
    analysis, analysis_reason = (
        sweep_analysis.analysis_or_reason(session, sweep)
        if sweep.status.is_final
        else (None, f"optimization {sweep.id} is {sweep.status.value}")
    )
    top = sweep_results.top_trials(session, sweep, top_n)
    baseline = session.get(BacktestRun, sweep.baseline_run_id)
    baseline_algorithm = (baseline.params or {}).get("algorithm_parameters") or {}
    overrides = sweep.spec.get("overrides") or {}
    changes = [
        f"{key}: {baseline_algorithm.get(key)!r} -> {value!r}"
        for key, value in overrides.items()
        if baseline_algorithm.get(key) != value
    ]
    runs = {
        run.id: run
        for run in session.query(BacktestRun).filter(
            BacktestRun.id.in_([item.run_id for item in top.items] + [baseline.id])
        )
    }
    return ReportContext(
        sweep=sweep,
        top=top,
        trials=sweep_trials.list_trials(session, sweep)[0],
        baseline=baseline,
        train_job=session.get(TrainJob, sweep.train_job_id),
        counts=sweep_results.status_counts(session, sweep.id),
        changes=changes,
        runs=runs,
        top_n=top_n,
        provenance=sweep.spec.get("data_provenance") or {},
        analysis=analysis,
        analysis_reason=analysis_reason,
    )
