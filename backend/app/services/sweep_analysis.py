"""The selection-validity analysis of a finished sweep (DESIGN §7), stored with it.

Computed once when the dispatcher sees the sweep finish (and, for sweeps finished before
this existed, on the first request), from the completed trials' stored equity artifacts and
the baseline run's equity restricted to the sweep's sessions; kept as JSON in
``optimizations.analysis``. The numbers come from :mod:`app.analysis` (pure functions); this
module only loads, aligns and stores.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.analysis import Constraint, Objective, analyze_sweep
from app.errors import Conflict
from app.models import BacktestRun, Optimization, OptimizationTrial, RunStatus
from app.models.backtest import METRIC_COLUMNS
from app.services.backtests import equity_artifact
from app.services.ranking import ranking_value
from app.services.sweep_results import constraints_of, objective_of, rank_sweep

log = logging.getLogger(__name__)

# Bumped when the document changes shape or meaning: older stored analyses are recomputed.
# 2: the baseline's metrics read on the ranking's footing (LEAN's printed precision);
#    plateau_summary.top1_feasible.
ANALYSIS_VERSION = 2


def _start_sample(run: BacktestRun) -> tuple[pd.Timestamp, float] | None:
    """The run's first equity sample: its starting capital at its start date 00:00, which
    ``equity.csv`` (session closes only) leaves out but the run's metrics count (§4.1)."""
    algorithm = (run.params or {}).get("algorithm_parameters") or {}
    start, capital = algorithm.get("backtest_start"), (run.metrics or {}).get("start_equity")
    if start is None or capital is None:
        return None
    return pd.Timestamp(str(start)[:10]), float(capital)


def aligned_equity(
    runs: list[BacktestRun],
) -> tuple[list[BacktestRun], np.ndarray, np.ndarray, list[int], bool]:
    """The runs that have an equity artifact, the sample dates they share and their equity
    on them (trials x samples): the common start sample first (when every run has one, on
    the same day; the last value says whether it is there), then the session closes all of
    them have. Run ids without an artifact are returned apart."""
    kept, missing = [], []
    # The usual sweep: every run has the same sessions. Their closes go straight into one
    # (runs x 1 + sessions) matrix, column 0 left for the start sample, instead of thousands
    # of Series joined by pandas (a 10,000-trial sweep held its equity three times over).
    sessions: pd.Index | None = None
    matrix = np.empty((0, 0))
    odd: list[pd.Series] | None = None  # the Series of every run, once sessions differ
    for run in runs:
        equity = equity_artifact(run)
        if equity is None or equity.empty:
            missing.append(run.id)
            continue
        equity = equity.sort_index()
        if sessions is None:
            sessions = equity.index
            matrix = np.empty((len(runs), 1 + len(sessions)))
        if odd is None and not equity.index.equals(sessions):
            odd = [pd.Series(row[1:], index=sessions) for row in matrix[: len(kept)]]
        if odd is None:
            matrix[len(kept), 1:] = equity.to_numpy(dtype=float)
        else:
            odd.append(equity)
        kept.append(run)
    if not kept:
        return [], np.empty(0, dtype="datetime64[D]"), np.empty((0, 0)), missing, False
    if odd is None:
        matrix = matrix[: len(kept)]
        index = sessions
    else:
        frame = pd.concat(
            [e.rename(r.id) for e, r in zip(odd, kept, strict=True)], axis=1, join="inner"
        )
        index = frame.index
        matrix = np.empty((len(kept), 1 + len(index)))
        matrix[:, 1:] = frame.to_numpy(dtype=float).T
    starts = {_start_sample(run) for run in kept}
    start_days = {sample[0] for sample in starts if sample is not None}
    if None in starts or len(start_days) != 1:
        dates = index.values.astype("datetime64[D]")
        return kept, dates, np.ascontiguousarray(matrix[:, 1:]), missing, False
    start_day = start_days.pop()
    matrix[:, 0] = [_start_sample(run)[1] for run in kept]
    dates = np.concatenate(
        [[np.datetime64(start_day.date())], index.values.astype("datetime64[D]")]
    )
    return kept, dates, matrix, missing, True


def baseline_on_samples(
    baseline: BacktestRun | None, dates: np.ndarray, has_start_sample: bool
) -> tuple[np.ndarray | None, str | None]:
    """The baseline's stored equity on the sweep's samples: its closes on the sweep's
    sessions and, for the sweep's start sample (its start day 00:00), the baseline's
    starting capital if it starts that day, else its last close before that day. None with
    a reason when it does not cover the sweep's window."""
    if baseline is None or baseline.status != RunStatus.completed:
        return None, "the baseline run is not completed"
    closes = equity_artifact(baseline)
    if closes is None or closes.empty:
        return None, f"baseline run {baseline.id} has no equity artifact"
    closes = closes.sort_index()
    closes.index = closes.index.values.astype("datetime64[D]")
    sessions = dates[1:] if has_start_sample else dates
    on_sessions = closes.reindex(sessions)
    uncovered = (
        f"baseline run {baseline.id} covers {closes.index[0]}..{closes.index[-1]}, not all of "
        f"the sweep's sessions {sessions[0]}..{sessions[-1]}"
    )
    if on_sessions.isna().any():
        return None, uncovered
    if not has_start_sample:
        return on_sessions.to_numpy(dtype=float), None
    start = _start_sample(baseline)
    if start is not None and np.datetime64(start[0].date()) == dates[0]:
        first = start[1]
    else:
        before = closes[closes.index < dates[0]]
        if before.empty:
            return None, uncovered
        first = float(before.iloc[-1])
    return np.concatenate([[first], on_sessions.to_numpy(dtype=float)]), None


@dataclass(frozen=True)
class RunFacts:
    """What the analysis reads of a completed run (in place of the ORM object, whose metrics
    and request documents, ~10 kB each in Python, a 10,000-trial sweep would hold all at
    once): the shape ``aligned_equity`` and ``_start_sample`` read, and the metric columns."""

    id: int
    artifact_dir: str | None
    params: dict[str, Any]
    metrics: dict[str, Any]
    columns: dict[str, float | None]

    def __getattr__(self, name: str) -> float | None:
        if name in METRIC_COLUMNS:
            return self.columns[name]
        raise AttributeError(name)


def _completed_trials(
    session: Session, sweep: Optimization
) -> tuple[dict[int, dict[str, str]], list[RunFacts]]:
    """The completed trials' parameters by run id and their runs' facts, in trial order;
    rows are read in batches and each run's documents cut down to what is used."""
    result = session.execute(
        select(
            OptimizationTrial.params,
            BacktestRun.id,
            BacktestRun.artifact_dir,
            BacktestRun.params,
            BacktestRun.metrics,
            *(getattr(BacktestRun, name) for name in METRIC_COLUMNS),
        )
        .join(BacktestRun, BacktestRun.id == OptimizationTrial.run_id)
        .where(
            OptimizationTrial.optimization_id == sweep.id,
            BacktestRun.status == RunStatus.completed,
        )
        .order_by(OptimizationTrial.trial_index)
        .execution_options(yield_per=500)
    )
    params_by_run: dict[int, dict[str, str]] = {}
    runs: list[RunFacts] = []
    for trial_params, run_id, artifact_dir, run_params, metrics, *values in result:
        start = ((run_params or {}).get("algorithm_parameters") or {}).get("backtest_start")
        params_by_run[run_id] = trial_params
        runs.append(
            RunFacts(
                id=run_id,
                artifact_dir=artifact_dir,
                params={"algorithm_parameters": {"backtest_start": start}},
                metrics={"start_equity": (metrics or {}).get("start_equity")},
                columns=dict(zip(METRIC_COLUMNS, values, strict=True)),
            )
        )
    return params_by_run, runs


def compute_analysis(session: Session, sweep: Optimization) -> dict[str, Any]:
    """The ``/analysis`` document of a finished sweep (not stored; see :func:`ensure_analysis`)."""
    params_by_run, completed = _completed_trials(session, sweep)
    runs, dates, equity, missing, has_start_sample = aligned_equity(completed)
    if not runs:
        start = str(sweep.spec.get("backtest_start") or "2000-01-01")[:10]
        dates, equity = np.array([start], dtype="datetime64[D]"), np.empty((0, 1))
    objective = objective_of(sweep)
    constraints = constraints_of(sweep)
    top_n = int(sweep.spec.get("top_n") or 3)
    ranked = [item.run_id for item in rank_sweep(session, sweep, top_n, with_summary=False).items]
    run_ids = [run.id for run in runs]
    baseline = session.get(BacktestRun, sweep.baseline_run_id)
    baseline_equity, baseline_reason = (
        baseline_on_samples(baseline, dates, has_start_sample)
        if runs
        else (None, "no completed trial")
    )
    # The ranking's own numbers (LEAN's printed precision), so the analysis calls the same
    # trials feasible as the trials table and the Top N do.
    stored_metrics = {
        name: [ranking_value(name, getattr(run, name)) for run in runs]
        for name in {objective.metric, *(c.metric for c in constraints)}
        if name in METRIC_COLUMNS
    }
    analysis = analyze_sweep(
        run_ids=run_ids,
        params=[{k: Decimal(v) for k, v in params_by_run[r].items()} for r in run_ids],
        dates=dates,
        equity=equity,
        objective=Objective(objective.metric, objective.direction),
        constraints=[Constraint(c.metric, c.op, c.value) for c in constraints],
        top_run_ids=[r for r in ranked if r in run_ids],
        baseline_equity=baseline_equity,
        baseline_run_id=sweep.baseline_run_id,
        full_window_metrics=stored_metrics,
        metric_footing=ranking_value,
    )
    # The (trials x samples) matrix is not needed for the document: let it go before the
    # document's Python objects are built (~120 MB for 10,000 trials).
    del equity
    document = analysis.to_dict()
    document["baseline"].update(
        used=baseline_equity is not None,
        reason=baseline_reason,
        source="the baseline run's stored equity on the sweep's sessions",
    )
    return {
        "version": ANALYSIS_VERSION,
        "optimization_id": sweep.id,
        "computed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "window": {
            "start": str(dates[0]),
            "end": str(dates[-1]),
            "samples": int(dates.size),
            "starts_with_capital": has_start_sample,
        },
        "trials_without_equity": missing,
        **document,
    }


def _completed_runs(session: Session, sweep: Optimization) -> int:
    return session.execute(
        select(func.count())
        .select_from(OptimizationTrial)
        .join(BacktestRun, BacktestRun.id == OptimizationTrial.run_id)
        .where(
            OptimizationTrial.optimization_id == sweep.id,
            BacktestRun.status == RunStatus.completed,
        )
    ).scalar_one()


def _is_current(document: dict[str, Any] | None, completed_runs: int | None = None) -> bool:
    """Stored by this version, and (when given) over as many completed runs as there are
    now: a canceled sweep's runs that were still running finish after it."""
    if not document or document.get("version") != ANALYSIS_VERSION:
        return False
    counted = document.get("n_trials", 0) + len(document.get("trials_without_equity") or [])
    return completed_runs is None or counted == completed_runs


def ensure_analysis(session: Session, sweep: Optimization) -> dict[str, Any]:
    """The stored analysis of a finished sweep, computed and stored first if it is missing
    or from an older version. 409 while the sweep is still queued or running."""
    if not sweep.status.is_final:
        raise Conflict(
            f"optimization {sweep.id} is {sweep.status.value}; its analysis is computed when it "
            "finishes"
        )
    if _is_current(sweep.analysis, _completed_runs(session, sweep)):
        return sweep.analysis
    document = compute_analysis(session, sweep)
    sweep.analysis = document
    session.flush()
    return document


def stored_analysis(sweep: Optimization) -> dict[str, Any] | None:
    """The analysis already stored with the sweep, if current (never computes)."""
    return sweep.analysis if _is_current(sweep.analysis) else None


def analysis_or_reason(session: Session, sweep: Optimization) -> tuple[dict | None, str | None]:
    """For the report: the analysis, or None and why (never raises for a finished sweep)."""
    try:
        return ensure_analysis(session, sweep), None
    except Conflict as exc:
        return None, str(exc)
    except (OSError, ValueError) as exc:  # unreadable artifacts, inconsistent curves
        log.exception("analysis of optimization %s failed", sweep.id)
        return None, f"{type(exc).__name__}: {exc}"
