"""The sweep's objective and constraint metrics computed on (part of) an equity curve, with
the engine's own formulas (``app.engine.statistics``): CAGR with 365-day years from the start
date 00:00 to the last session's close and max drawdown as a positive fraction are the
metrics the ranking stored. Sharpe, Sortino and annual volatility here are NOT the stored
ones: they use the sessions' returns annualised with 252 and a risk-free rate of 0, while a
run's stored ratios use LEAN's calendar-day samples and the interest-rate file's rate
(``app.engine.performance``). The full-window analysis reads the stored values; the
walk-forward's partial windows and the baseline use these.

Supported metrics (``SUPPORTED_METRICS``): cagr, max_drawdown, sharpe, sortino,
annual_volatility, total_return, net_profit. The other ranking columns (fees, turnover, win
rate) need the trades, not the equity curve, and are reported as unsupported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.engine import statistics as st

_TINY = float(np.finfo(float).tiny)

SUPPORTED_METRICS = (
    "cagr",
    "max_drawdown",
    "sharpe",
    "sortino",
    "annual_volatility",
    "total_return",
    "net_profit",
)


@dataclass(frozen=True)
class Objective:
    metric: str = "cagr"
    direction: str = "max"  # "max" | "min"

    def better(self, a: float, b: float) -> bool:
        return a > b if self.direction == "max" else a < b

    def worst(self, values: np.ndarray) -> float:
        return float(np.min(values) if self.direction == "max" else np.max(values))


@dataclass(frozen=True)
class Constraint:
    metric: str
    op: str  # "<=", "<", ">=", ">", "=="
    value: float

    def violation(self, observed: float) -> float:
        """How far ``observed`` is on the wrong side of the bound (0 when it holds; a strict
        bound met with equality counts as the smallest positive violation)."""
        if not np.isfinite(observed):
            return float("inf")
        if self.op == "==":
            return abs(observed - self.value)
        excess = observed - self.value if self.op in ("<=", "<") else self.value - observed
        if self.op in ("<", ">") and excess == 0:
            return _TINY
        return max(excess, 0.0)


def unsupported_metrics(objective: Objective, constraints: Sequence[Constraint]) -> list[str]:
    names = [objective.metric, *(c.metric for c in constraints)]
    return sorted({name for name in names if name not in SUPPORTED_METRICS})


def window_metric(name: str, equity: np.ndarray, dates: np.ndarray) -> float:
    """``name`` on an equity segment: ``equity`` holds the samples (start value first) and
    ``dates`` their datetime64[D] days; the first date counts as the start date 00:00."""
    equity = np.asarray(equity, dtype=float)
    if name == "cagr":
        years = st.lean_equity_years(dates[0], dates[-1])
        return st.cagr(equity, years)
    if name == "max_drawdown":
        return st.max_drawdown(equity)
    if name == "total_return":
        return float(equity[-1] / equity[0] - 1.0)
    if name == "net_profit":
        return float(equity[-1] - equity[0])
    returns = st.daily_returns(equity)
    if name == "sharpe":
        return st.sharpe_ratio(returns)
    if name == "sortino":
        return st.sortino_ratio(returns)
    if name == "annual_volatility":
        return st.annual_volatility(returns)
    raise ValueError(f"metric {name!r} cannot be computed from an equity curve")


def metric_table(
    equity: np.ndarray, dates: np.ndarray, names: Sequence[str]
) -> dict[str, np.ndarray]:
    """{metric: value per row of ``equity`` (trials x samples)} over the given samples."""
    equity = np.atleast_2d(equity)
    return {name: np.array([window_metric(name, row, dates) for row in equity]) for name in names}


def total_violations(table: dict[str, np.ndarray], constraints: Sequence[Constraint]) -> np.ndarray:
    """Per trial, the sum over constraints of :meth:`Constraint.violation` (0 = feasible)."""
    n_rows = len(next(iter(table.values()))) if table else 0
    total = np.zeros(n_rows)
    for constraint in constraints:
        total += np.array([constraint.violation(v) for v in table[constraint.metric]])
    return total


def best_index(
    objective_values: np.ndarray, violations: np.ndarray, objective: Objective
) -> tuple[int, bool]:
    """The best feasible row by the objective (first in row order on ties), or, when none is
    feasible, the least-violating one (then the best objective) as the ranking does. Returns
    (row, feasible)."""
    feasible = violations == 0
    signed = objective_values if objective.direction == "max" else -objective_values
    signed = np.where(np.isfinite(signed), signed, -np.inf)
    if feasible.any():
        candidates = np.where(feasible, signed, -np.inf)
        return int(np.argmax(candidates)), True
    least = violations.min()
    candidates = np.where(violations == least, signed, -np.inf)
    return int(np.argmax(candidates)), False
