"""Anchored yearly walk-forward (DESIGN §7): would the sweep's rule have picked well without
hindsight?

At the last session of each calendar year but the window's last, every trial's objective and
constraint metrics are computed on its equity from the window's start to that session
(:mod:`app.analysis.metrics`), the best feasible trial is chosen (the least violating one when
none is feasible, as the ranking does) and held until the next year's last session. The held
years are chained: W[d_1] = 1 and W[t] = W[d_k] · E[c_k, t] / E[c_k, d_k] for d_k < t <= d_k+1.
The full-window Top 1 (chosen with hindsight) and the baseline are rebased to 1 at d_1 over
the same sessions. Their CAGR uses 365-day years between the first and last session.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.analysis.metrics import (
    Constraint,
    Objective,
    best_index,
    metric_table,
    total_violations,
)
from app.engine import statistics as st


@dataclass(frozen=True)
class HeldYear:
    decided_at: np.datetime64  # the session whose close the choice was made at
    held_until: np.datetime64
    chosen: int  # row index
    feasible: bool
    in_sample_objective: float
    held_return: float
    top1_return: float
    baseline_return: float | None


@dataclass(frozen=True)
class CurveSummary:
    cagr: float
    max_drawdown: float
    total_return: float


@dataclass(frozen=True)
class WalkForwardResult:
    years: tuple[HeldYear, ...]
    dates: np.ndarray  # sessions from the first decision to the end
    walk_forward: np.ndarray  # chained equity, 1 at the first decision
    top1: np.ndarray
    baseline: np.ndarray | None
    summaries: dict[str, CurveSummary | None]


def year_end_indices(dates: np.ndarray) -> np.ndarray:
    """Indices of the last sample of each calendar year, the window's last sample excluded."""
    years = np.asarray(dates, dtype="datetime64[D]").astype("datetime64[Y]")
    return np.flatnonzero(years[:-1] != years[1:])


def summarize(curve: np.ndarray, dates: np.ndarray) -> CurveSummary:
    years = st.years_between(dates[0], dates[-1])
    return CurveSummary(
        cagr=st.cagr(curve, years),
        max_drawdown=st.max_drawdown(curve),
        total_return=float(curve[-1] / curve[0] - 1.0),
    )


def anchored_walk_forward(
    equity: np.ndarray,
    dates: np.ndarray,
    objective: Objective,
    constraints: Sequence[Constraint],
    top1: int,
    baseline: np.ndarray | None = None,
) -> WalkForwardResult | None:
    """The anchored yearly walk-forward over ``equity`` (trials x samples, aligned on
    ``dates``); ``top1`` is the full-window Top 1's row. None when the window does not reach
    into a second calendar year after at least one return (no year can be held)."""
    equity = np.atleast_2d(np.asarray(equity, dtype=float))
    dates = np.asarray(dates, dtype="datetime64[D]")
    decisions = [int(d) for d in year_end_indices(dates) if d >= 1]
    if not decisions:
        return None
    ends = [*decisions[1:], len(dates) - 1]
    names = sorted({objective.metric, *(c.metric for c in constraints)})
    chained = np.empty(len(dates) - decisions[0])
    chained[0] = 1.0
    held: list[HeldYear] = []
    offset = decisions[0]
    for decided, until in zip(decisions, ends, strict=True):
        table = metric_table(equity[:, : decided + 1], dates[: decided + 1], names)
        violations = total_violations(table, constraints)
        chosen, feasible = best_index(table[objective.metric], violations, objective)
        segment = equity[chosen, decided : until + 1] / equity[chosen, decided]
        chained[decided - offset : until + 1 - offset] = chained[decided - offset] * segment
        held.append(
            HeldYear(
                decided_at=dates[decided],
                held_until=dates[until],
                chosen=chosen,
                feasible=feasible,
                in_sample_objective=float(table[objective.metric][chosen]),
                held_return=float(segment[-1] - 1.0),
                top1_return=float(equity[top1, until] / equity[top1, decided] - 1.0),
                baseline_return=(
                    None if baseline is None else float(baseline[until] / baseline[decided] - 1.0)
                ),
            )
        )
    window = dates[offset:]
    top1_curve = equity[top1, offset:] / equity[top1, offset]
    baseline_curve = None if baseline is None else baseline[offset:] / baseline[offset]
    summaries = {
        "walk_forward": summarize(chained, window),
        "top1": summarize(top1_curve, window),
        "baseline": None if baseline_curve is None else summarize(baseline_curve, window),
    }
    return WalkForwardResult(tuple(held), window, chained, top1_curve, baseline_curve, summaries)
