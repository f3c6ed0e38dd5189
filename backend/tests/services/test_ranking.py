"""The ranking query on hand-made stored results (metrics chosen by hand, not computed)."""

from __future__ import annotations

import pytest

from app.models import BacktestRun, RunStatus
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


def test_ranking_values_are_leans_printed_precision():
    """By hand from LEAN's formats: a CAGR of 0.1234549 prints "12.345%", a drawdown of 0.1504
    prints "15.000%" (Drawdown is rounded to 0.1 %), a Sharpe of 1.23456 prints "1.235"."""
    from app.services.ranking import ranking_value

    assert ranking_value("cagr", 0.1234549) == 0.12345
    assert ranking_value("max_drawdown", 0.1504) == 0.15
    assert ranking_value("sharpe", 1.23456) == 1.235
    assert ranking_value("win_rate", 0.555) == 0.56  # "56%"
    assert ranking_value("cagr", None) is None
