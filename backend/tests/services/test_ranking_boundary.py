"""The ranking rule at a constraint's boundary: metrics compare at the precision LEAN prints
them (app.engine.lean_result), so float noise below the printed digits cannot flip a
constraint. A drawdown LEAN prints as 15.000 % meets ``max_drawdown <= 0.15``."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.engine import load_market_data, run_backtest
from app.engine.lean_result import metrics_from_lean_statistics
from app.engine.statistics import format_drawdown
from app.models import BacktestRun, RunStatus
from app.services.ranking import Constraint, Objective, rank_runs

LEAN_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "lean"


@pytest.fixture
def project_id(session) -> int:
    from app.services.projects import create_project

    project = create_project(session, name="boundary")
    session.flush()
    return project.id


def test_a_drawdown_printed_15_000_percent_meets_the_bound(session, project_id):
    noisy = 0.15 + 2**-55  # 0.15000000000000002: float noise above the bound
    assert noisy > 0.15 and format_drawdown(noisy) == "15.000%"
    printed = metrics_from_lean_statistics(
        {"Compounding Annual Return": "10.000%", "Drawdown": format_drawdown(noisy)}
    )["max_drawdown"]
    assert printed == 0.15
    runs = []
    for drawdown in (printed, 0.151):  # 0.151 prints 15.100 %: infeasible
        run = BacktestRun(
            project_id=project_id,
            status=RunStatus.completed,
            params={},
            metrics={},
            cagr=0.10,
            max_drawdown=drawdown,
        )
        session.add(run)
        session.flush()
        runs.append(run.id)
    ranking = rank_runs(
        session,
        BacktestRun.id.in_(runs),
        Objective(),
        [Constraint("max_drawdown", "<=", 0.15)],
        10,
    )
    assert [(item.run_id, item.feasible) for item in ranking.items] == [(runs[0], True)]


def test_our_run_metrics_are_the_printed_statistics():
    data = load_market_data("lean", LEAN_FIXTURE)
    result = run_backtest(
        {
            "strategy": "set_holdings",
            "holdings": {"SPY": 1.0},
            "backtest_start": "2013-10-08",
            "backtest_end": "2013-10-17",
        },
        data,
    )
    # LEAN prints Drawdown 0.800 % (BasicTemplateDailyAlgorithm); the worst fall of the
    # samples is 1 - 102346.8295 / 103142.3205 = 0.77 %.
    assert result.statistics["Drawdown"] == "0.800%"
    assert result.metrics["max_drawdown"] == 0.008
    assert result.metrics["sharpe"] == 17.304
    assert result.metrics["cagr"] == 4.24375


@pytest.mark.parametrize("op", ["<=", "<", ">=", ">", "=="])
def test_the_constraint_shortcut_answers_as_the_rounded_comparison(session, project_id, op):
    # Values far from the bound skip the rounding in SQL; near it they are rounded. Either
    # way the answer is Python's comparison of the printed values (ranking_value).
    import operator

    from sqlalchemy import select

    from app.services.ranking import constraint_clause, ranking_value

    bound = 0.15
    offsets = (0, 2**-55, -(2**-55), 0.0004, -0.0004, 0.0006, -0.0006, 0.0009, -0.0009)
    offsets += (0.001, -0.001, 0.0011, -0.0011, 0.002, -0.002, 0.1, -0.1)
    compare = {"<=": operator.le, "<": operator.lt, ">=": operator.ge, ">": operator.gt}
    compare["=="] = operator.eq
    for offset in offsets:
        run = BacktestRun(
            project_id=project_id,
            status=RunStatus.completed,
            params={},
            metrics={},
            max_drawdown=bound + offset,
        )
        session.add(run)
        session.flush()
        clause = constraint_clause(Constraint("max_drawdown", op, bound))
        answer = session.execute(select(clause).where(BacktestRun.id == run.id)).scalar_one()
        expected = compare[op](ranking_value("max_drawdown", bound + offset), bound)
        assert bool(answer) == expected, (op, offset)
