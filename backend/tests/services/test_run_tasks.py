"""The task bookkeeping of running jobs: every change is guarded by the job's current task
id, a lost worker costs a bounded number of attempts, and only leases that workers renewed
and then stopped renewing expire."""

from __future__ import annotations

from datetime import timedelta

from app.db import make_session_factory, session_scope
from app.models import BacktestRun, RunStatus
from app.models.common import utcnow
from app.services import backtests, dispatch, projects, run_tasks


def claim_one(factory) -> tuple[int, str]:
    with session_scope(factory) as session:
        (run,) = dispatch.claim_queued_runs(session, 1)
        task_ids = run_tasks.assign_tasks(session, "backtest", [run.run_id])
    return run.run_id, task_ids[run.run_id]


def test_a_run_whose_worker_keeps_dying_fails_after_max_attempts(engine):
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        projects.create_project(session, name="p", project_id=1)
        backtests.create_run(session, project_id=1, algorithm_parameters={})
    verdicts = []
    for _ in range(3):
        run_id, task_id = claim_one(factory)
        with session_scope(factory) as session:
            verdicts.append(
                run_tasks.retry_lost(session, "backtest", run_id, task_id, "worker died", 3)
            )
    assert verdicts == ["requeued", "requeued", "failed"]
    with session_scope(factory) as session:
        run = session.get(BacktestRun, run_id)
        assert run.status == RunStatus.failed
        assert run.error == "worker died (3 attempts)"
        assert run.attempts == 3


def test_a_stale_task_changes_nothing(engine):
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        projects.create_project(session, name="p", project_id=1)
        backtests.create_run(session, project_id=1, algorithm_parameters={})
    run_id, old_task = claim_one(factory)
    with session_scope(factory) as session:
        assert run_tasks.requeue(session, "backtest", run_id, old_task)
    run_id, new_task = claim_one(factory)
    assert new_task != old_task
    with session_scope(factory) as session:
        assert not run_tasks.holds_task(session, "backtest", run_id, old_task)
        assert run_tasks.holds_task(session, "backtest", run_id, new_task)
        assert run_tasks.heartbeat(session, "backtest", [old_task], "w:1") == 0
        assert run_tasks.retry_lost(session, "backtest", run_id, old_task, "x", 3) == "moved on"
        run = session.get(BacktestRun, run_id)
        assert run.status == RunStatus.running and run.task_id == new_task


def test_only_renewed_then_silent_leases_expire(engine):
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        projects.create_project(session, name="p", project_id=1)
        for _ in range(3):
            backtests.create_run(session, project_id=1, algorithm_parameters={})
    (silent, _), (_alive, alive_task), (waiting, _) = [claim_one(factory) for _ in range(3)]
    with session_scope(factory) as session:
        session.get(BacktestRun, silent).heartbeat_at = utcnow() - timedelta(seconds=60)
        assert run_tasks.heartbeat(session, "backtest", [alive_task], "w:1") == 1
    # ``waiting`` was never received by a worker (still queued in the broker): no lease.
    with session_scope(factory) as session:
        expired = run_tasks.expired_leases(session, "backtest", utcnow() - timedelta(seconds=30))
    assert [job.job_id for job in expired] == [silent]
    assert waiting not in {job.job_id for job in expired}
