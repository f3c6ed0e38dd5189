"""Dispatch: claiming queued runs (never twice) and the claim order that shares the workers
between sweeps."""

from __future__ import annotations

from factories import make_completed_train_job, make_project, make_queued_run
from sqlalchemy import text

from app.models import BacktestRun, Optimization, OptimizationTrial, RunStatus
from app.services import backtests as backtest_service
from app.services import dispatch


def test_claim_never_hands_out_a_run_twice(session):
    project = make_project(session)
    for _ in range(5):
        make_queued_run(session, project)
    session.commit()
    first = dispatch.claim_queued_runs(session, 3)
    session.commit()
    second = dispatch.claim_queued_runs(session, 3)
    session.commit()
    ids = [c.run_id for c in first + second]
    assert len(ids) == len(set(ids)) == 5
    assert backtest_service.requeue_interrupted_runs(session) == 5
    session.commit()
    statuses = set(session.execute(text("SELECT status FROM backtest_runs")).scalars())
    assert statuses == {RunStatus.queued.value}


def test_sweeps_share_the_workers_fairly(session, tmp_path):
    project = make_project(session, name="fair share")
    project_id = project.id
    job = make_completed_train_job(session, project, tmp_path / "scores.csv")
    baseline_run = make_queued_run(session, project)
    baseline_run.status = RunStatus.completed  # not a candidate: only sweep runs are queued
    baseline = baseline_run.id
    sweeps = []
    for _ in range(2):
        sweep = Optimization(
            project_id=project_id,
            baseline_run_id=baseline,
            train_job_id=job.id,
            spec={},
            max_inflight=8,
            trials_total=4,
        )
        session.add(sweep)
        session.flush()
        sweeps.append(sweep.id)
    runs_of = {sweep_id: [] for sweep_id in sweeps}
    for sweep_id in sweeps:  # sweep A's runs are all older than sweep B's
        for index in range(4):
            status = (
                RunStatus.running if (sweep_id == sweeps[0] and index < 2) else RunStatus.queued
            )
            run = make_queued_run(session, project)
            run.status = status
            run_id = run.id
            runs_of[sweep_id].append(run_id)
            session.add(
                OptimizationTrial(
                    optimization_id=sweep_id,
                    trial_index=index,
                    source="grid",
                    params={},
                    request={},
                    run_id=run_id,
                )
            )
    session.flush()
    queued = [
        run.id
        for run in session.query(BacktestRun)
        .filter(BacktestRun.status == RunStatus.queued)
        .order_by(BacktestRun.id)
    ]
    order = dispatch.fair_claim_order(session, queued)
    # A already has 2 running: B gets the next two slots, then they alternate.
    a, b = runs_of[sweeps[0]], runs_of[sweeps[1]]
    assert order[:2] == [b[0], b[1]]
    assert order[2:] == [a[2], b[2], a[3], b[3]]
