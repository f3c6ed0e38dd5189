"""The ranking query on hand-made stored results (metrics chosen by hand, not computed)."""

from __future__ import annotations

import pytest

from app.models import BacktestRun, Optimization, OptimizationTrial, RunStatus
from app.services import dispatch
from app.services.ranking import Constraint, Objective, rank_runs

MAX_DD = [Constraint("max_drawdown", "<=", 0.15)]


@pytest.fixture
def project_id(session) -> int:
    from app.services.projects import create_project

    project = create_project(session, name="ranking")
    session.flush()
    return project.id


def add_run(session, project_id, status=RunStatus.completed, **metrics) -> int:
    run = BacktestRun(project_id=project_id, status=status, params={}, metrics={}, **metrics)
    session.add(run)
    session.flush()
    return run.id


def ranked_ids(session, ids, objective=Objective(), constraints=MAX_DD, limit=10):
    ranking = rank_runs(session, BacktestRun.id.in_(ids), objective, constraints, limit)
    return ranking, [item.run_id for item in ranking.items]


def test_feasible_by_objective_then_lower_drawdown_then_lower_id(session, project_id):
    a = add_run(session, project_id, cagr=0.10, max_drawdown=0.14)
    b = add_run(session, project_id, cagr=0.12, max_drawdown=0.16)  # infeasible
    c = add_run(session, project_id, cagr=0.10, max_drawdown=0.12)  # ties a, lower drawdown
    d = add_run(session, project_id, cagr=0.10, max_drawdown=0.12)  # ties c exactly
    e = add_run(session, project_id, cagr=0.08, max_drawdown=0.15)  # on the bound: feasible
    f = add_run(session, project_id, status=RunStatus.failed, error="boom")
    g = add_run(session, project_id, cagr=None, max_drawdown=0.05)  # unknown objective
    ranking, ids = ranked_ids(session, [a, b, c, d, e, f, g])
    assert ids == [c, d, a, e, g]
    assert ranking.constraint_met and all(item.feasible for item in ranking.items)
    assert ranking.failed == [(f, "boom")]
    assert ranking.completed == 6
    assert b not in ids


def test_minimising_and_other_metrics(session, project_id):
    low = add_run(session, project_id, sharpe=0.5, annual_volatility=0.05, max_drawdown=0.1)
    high = add_run(session, project_id, sharpe=1.5, annual_volatility=0.09, max_drawdown=0.1)
    _, by_sharpe = ranked_ids(session, [low, high], Objective("sharpe", "max"))
    _, by_volatility = ranked_ids(session, [low, high], Objective("annual_volatility", "min"))
    assert by_sharpe == [high, low]
    assert by_volatility == [low, high]


def test_none_feasible_shows_least_violating(session, project_id):
    far = add_run(session, project_id, cagr=0.20, max_drawdown=0.30)
    near = add_run(session, project_id, cagr=0.05, max_drawdown=0.16)
    unknown = add_run(session, project_id, cagr=0.50, max_drawdown=None)
    ranking, ids = ranked_ids(session, [far, near, unknown])
    assert not ranking.constraint_met
    assert ids == [near, far, unknown]
    assert [round(item.violation, 10) for item in ranking.items[:2]] == [0.01, 0.15]
    assert not any(item.feasible for item in ranking.items)


@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("<", 0.10, [1]),
        ("<=", 0.10, [1, 2]),
        (">", 0.10, [3]),
        (">=", 0.10, [2, 3]),
        ("==", 0.10, [2]),
    ],
)
def test_every_operator(session, project_id, op, value, expected):
    ids = [
        add_run(session, project_id, cagr=0.3 - 0.1 * i, max_drawdown=dd)
        for i, dd in enumerate((0.05, 0.10, 0.20))
    ]
    ranking, ranked = ranked_ids(session, ids, constraints=[Constraint("max_drawdown", op, value)])
    assert ranking.constraint_met
    assert ranked == [ids[k - 1] for k in expected]  # already in CAGR order


def test_sweeps_share_the_workers_fairly(session, project_id):
    from app.services.train_jobs import create_train_job

    job = create_train_job(session, project_id=project_id, params={})
    baseline = add_run(session, project_id)
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
            run_id = add_run(session, project_id, status=status)
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
    queued = list(
        session.query(BacktestRun)
        .filter(BacktestRun.status == RunStatus.queued)
        .order_by(BacktestRun.id)
    )
    order = [run.id for run in dispatch.fair_claim_order(session, queued)]
    # A already has 2 running: B gets the next two slots, then they alternate.
    a, b = runs_of[sweeps[0]], runs_of[sweeps[1]]
    assert order[:2] == [b[0], b[1]]
    assert order[2:] == [a[2], b[2], a[3], b[3]]
