"""Ranking stored backtest results: one query over the runs' numeric metric columns.

The same code ranks a sweep's trials (``GET /api/optimizations/{id}/top``) and a legacy JSONL
manifest of run ids (``stocklean score --manifest``).

One footing for every run: LEAN's printed precision. A result imported from a real LEAN run
(``POST /api/backtests/import``) only carries what LEAN prints (CAGR to 0.001 %, Drawdown to
0.1 %, ratios to 0.001), while a run executed here stores full precision. Compared as stored,
a native drawdown of 0.1504 fails ``max_drawdown <= 0.15`` while an imported "15.0%" (which may
be the same 0.1504) passes, and a native CAGR of 0.1234549 beats an imported "12.345%" by a
digit the import never had. So the objective, the constraints and the tie-break read every
metric rounded to the decimals LEAN prints it with (``LEAN_PRINTED_DECIMALS``); the stored
values themselves are not changed and are what the API shows. Rounding the imported result
further is impossible and inventing digits for it is worse, hence this direction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Float, Numeric, and_, case, cast, func, literal, select, true
from sqlalchemy.orm import Session

from app.models import BacktestRun, RunStatus

# A NULL metric cannot satisfy a constraint; its violation sorts after every real one.
UNKNOWN_VIOLATION = 1e18


@dataclass(frozen=True)
class Objective:
    metric: str = "cagr"
    direction: str = "max"  # "max" | "min"


@dataclass(frozen=True)
class Constraint:
    metric: str
    op: str  # "<=", "<", ">=", ">", "=="
    value: float

    def describe(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


@dataclass(frozen=True)
class RankedRun:
    rank: int
    run_id: int
    cagr: float | None
    max_drawdown: float | None
    sharpe: float | None
    objective: float | None
    feasible: bool
    violation: float


@dataclass(frozen=True)
class Ranking:
    constraint_met: bool
    items: list[RankedRun]
    failed: list[tuple[int, str | None]]
    completed: int


# Fraction decimals of each metric column as LEAN prints the statistic it comes from
# (``app.engine.lean_result.STATISTIC_KEYS`` and the formatters in ``engine.statistics``):
# "Compounding Annual Return" "12.345%" -> 5; "Drawdown" 0.1 % -> 3; "Sharpe Ratio",
# "Sortino Ratio", "Annual Standard Deviation" to 0.001 -> 3; "Net Profit" "12.345%" -> 5;
# money to the cent -> 2; "Portfolio Turnover" "1.23%" -> 4; "Win Rate" "55%" -> 2.
LEAN_PRINTED_DECIMALS: dict[str, int] = {
    "cagr": 5,
    "max_drawdown": 3,
    "sharpe": 3,
    "sortino": 3,
    "annual_volatility": 3,
    "total_return": 5,
    "net_profit": 2,
    "total_fees": 2,
    "turnover": 4,
    "win_rate": 2,
}


def ranking_value(name: str, value: float | None) -> float | None:
    """A stored metric as the ranking compares it, in Python (for code that ranks or checks
    constraints outside SQL, e.g. the sweep analysis): rounded to LEAN's printed decimals.
    Python rounds half to even like LEAN; SQL's round goes half away from zero, which differs
    only for a value that is exactly halfway in binary, never in practice."""
    if value is None or name not in LEAN_PRINTED_DECIMALS:
        return value
    return round(float(value), LEAN_PRINTED_DECIMALS[name])


def _metric(name: str) -> ColumnElement[float]:
    """A metric column as ranking reads it: rounded to LEAN's printed precision (see the
    module docstring). NUMERIC because PostgreSQL has no two-argument round of a double."""
    column = getattr(BacktestRun, name)
    return cast(func.round(cast(column, Numeric), LEAN_PRINTED_DECIMALS[name]), Float)


def constraint_clause(constraint: Constraint) -> ColumnElement[bool]:
    """The constraint on the metric rounded to LEAN's printed precision. Rounding moves a
    value by at most half a unit of the last printed decimal, so a stored value more than a
    unit inside (outside) the bound meets (misses) it whatever the rounding: only values
    within a unit of the bound are rounded, which spares a sweep's status polls and pages
    rounding 10,000 values. The answer is the rounded comparison's for every value."""
    column = _metric(constraint.metric)
    raw = getattr(BacktestRun, constraint.metric)
    unit = 10.0 ** -LEAN_PRINTED_DECIMALS[constraint.metric]
    value = constraint.value
    low, high = value - unit, value + unit
    true_, false_ = literal(True), literal(False)
    rounded = {
        "<=": column <= value,
        "<": column < value,
        ">=": column >= value,
        ">": column > value,
        "==": column == value,
    }[constraint.op]
    if constraint.op in ("<=", "<"):
        decided = case((raw < low, true_), (raw > high, false_), else_=rounded)
    elif constraint.op in (">=", ">"):
        decided = case((raw > high, true_), (raw < low, false_), else_=rounded)
    else:
        decided = case((raw < low, false_), (raw > high, false_), else_=rounded)
    return and_(raw.is_not(None), decided)


def feasible_clause(constraints: Sequence[Constraint]) -> ColumnElement[bool]:
    """True when every constraint holds (and every metric it reads is known)."""
    if not constraints:
        return true()
    return and_(*(constraint_clause(c) for c in constraints))


def violation_expression(constraints: Sequence[Constraint]) -> ColumnElement[float]:
    """Sum over constraints of how far the metric is on the wrong side of its bound
    (0 when satisfied), in the metric's own units."""
    total: ColumnElement[float] = cast(literal(0.0), Float)
    for constraint in constraints:
        column = _metric(constraint.metric)
        value = constraint.value
        if constraint.op in ("<=", "<"):
            excess = case((column > value, column - value), else_=0.0)
        elif constraint.op in (">=", ">"):
            excess = case((column < value, value - column), else_=0.0)
        else:
            excess = case((column > value, column - value), else_=value - column)
        total = total + case((column.is_(None), UNKNOWN_VIOLATION), else_=excess)
    return total


def rank_runs(
    session: Session,
    run_filter: ColumnElement[bool],
    objective: Objective,
    constraints: Sequence[Constraint],
    limit: int,
    *,
    with_summary: bool = True,
) -> Ranking:
    """Completed runs matching ``run_filter`` that meet all constraints, best objective
    first, ties by lower drawdown then lower run id. When none is feasible the least
    violating runs are returned instead, marked ``feasible=False``. Failed runs are listed
    apart and never ranked."""
    objective_column = _metric(objective.metric)
    objective_order = (
        objective_column.desc() if objective.direction == "max" else objective_column.asc()
    )
    tie_breaks = (_metric("max_drawdown").asc(), BacktestRun.id.asc())
    feasible = feasible_clause(constraints)
    violation = violation_expression(constraints)
    completed = and_(run_filter, BacktestRun.status == RunStatus.completed)
    columns = (  # the stored values, as shown; the order reads the rounded ones
        BacktestRun.id,
        BacktestRun.cagr,
        BacktestRun.max_drawdown,
        BacktestRun.sharpe,
        getattr(BacktestRun, objective.metric),
        violation,
    )
    rows = session.execute(
        select(*columns)
        .where(completed, feasible)
        .order_by(objective_column.is_(None), objective_order, *tie_breaks)
        .limit(limit)
    ).all()
    constraint_met = bool(rows)
    if not constraint_met:
        rows = session.execute(
            select(*columns)
            .where(completed)
            .order_by(violation.asc(), objective_column.is_(None), objective_order, *tie_breaks)
            .limit(limit)
        ).all()
    items = [
        RankedRun(
            rank=position,
            run_id=row[0],
            cagr=row[1],
            max_drawdown=row[2],
            sharpe=row[3],
            objective=row[4],
            feasible=constraint_met,
            violation=float(row[5] or 0.0),
        )
        for position, row in enumerate(rows, start=1)
    ]
    if not with_summary:  # status polls need only the leader, not the failures and counts
        return Ranking(constraint_met=constraint_met, items=items, failed=[], completed=-1)
    failed = [
        (run_id, error)
        for run_id, error in session.execute(
            select(BacktestRun.id, BacktestRun.error)
            .where(run_filter, BacktestRun.status == RunStatus.failed)
            .order_by(BacktestRun.id)
        ).all()
    ]
    completed_count = session.execute(select(func.count()).where(completed)).scalar_one()
    return Ranking(
        constraint_met=constraint_met,
        items=items,
        failed=failed,
        completed=completed_count,
    )


def feasible_flag(constraints: Sequence[Constraint]) -> ColumnElement[bool]:
    """The feasibility of a completed run as a selectable column (NULL otherwise)."""
    return case(
        (BacktestRun.status != RunStatus.completed, None),
        (feasible_clause(constraints), True),
        else_=False,
    )
