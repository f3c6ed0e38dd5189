"""A sweep summarised for its page: heatmap cells over two parameters and a bounded scatter.

A 10,000-trial sweep is never sent whole. ``heatmap_cells`` groups the trials by the values
of two swept parameters (and optionally a third, one panel per value) in one SQL query and
returns per cell how many trials it holds, how many completed and met the constraints, and
the metric's max, min or mean over the completed ones. ``scatter_points`` returns at most
``limit`` (max drawdown, CAGR) points: the Top K, the Pareto front (no other trial has both
a higher CAGR and a lower drawdown) and a fixed pseudo-random sample of the rest, chosen from
the trial index alone so that a point, once shown, stays shown while the sweep runs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import Float, case, cast, select
from sqlalchemy.orm import Session

from app.errors import InvalidRequest
from app.models import BacktestRun, Optimization, OptimizationTrial, RunStatus
from app.services.ranking import feasible_flag
from app.services.sweep_results import constraints_of, rank_sweep, stored_params

AGGREGATE_STATS = ("max", "min", "mean")
AGGREGATE_SOURCES = ("grid", "perturbation", "all")
# Knuth's multiplicative hash constant (2^32 / golden ratio): spreads consecutive trial
# indexes over [0, 2^32), so the smallest hashes are a sample that does not follow the grid.
_SAMPLE_HASH = 2654435761


@dataclass(frozen=True)
class AggregateCell:
    x: float
    y: float | None
    panel: float | None
    trials: int
    completed: int
    feasible: int
    value: float | None
    # The run holding the cell's max (min) and its trial; None for the mean or no value.
    run_id: int | None
    trial_index: int | None


@dataclass(frozen=True)
class SweepAggregates:
    x: str
    y: str | None
    panel: str | None
    metric: str
    stat: str
    source: str
    feasible: bool | None
    x_values: list[float]
    y_values: list[float]
    panel_values: list[float]
    cells: list[AggregateCell]
    trials: int
    lo: float | None
    hi: float | None


@dataclass(frozen=True)
class ScatterPoint:
    trial_index: int
    run_id: int
    source: str
    params: dict[str, float]
    cagr: float
    max_drawdown: float
    feasible: bool
    rank: int | None
    front: bool


@dataclass(frozen=True)
class SweepScatter:
    total: int
    points: list[ScatterPoint]


def swept_parameters(optimization: Optimization) -> list[str]:
    """The parameters the sweep varies: its grid's axes and its perturbation's steps."""
    search = optimization.spec.get("search") or {}
    names = list((search.get("grid") or {}).keys())
    for name in (search.get("perturbation") or {}).get("steps") or {}:
        if name not in names:
            names.append(name)
    return names


def _check_axes(optimization: Optimization, axes: dict[str, str | None]) -> None:
    swept = swept_parameters(optimization)
    seen: dict[str, str] = {}
    for where, name in axes.items():
        if name is None:
            continue
        if name not in swept:
            raise InvalidRequest(
                f"{where}: {name!r} is not a parameter of optimization {optimization.id} "
                f"(it sweeps {', '.join(swept)})"
            )
        if name in seen:
            raise InvalidRequest(f"{where}: {name!r} is already the {seen[name]} axis")
        seen[name] = where


def _param(name: str):
    """A trial's stored decimal string as a number, in SQL; equal values written differently
    ("0.70", "0.7") become one number."""
    return cast(OptimizationTrial.params[name].as_string(), Float)


def _run_columns(session: Session, optimization: Optimization, metric: str) -> dict:
    """The sweep's runs from the index over (sweep, status, main metrics): run id ->
    (completed, the metric, feasible: True / False, None unless completed)."""
    completed = BacktestRun.status == RunStatus.completed
    rows = (
        session.connection()
        .execute(
            select(
                BacktestRun.id,
                case((completed, 1), else_=0),
                getattr(BacktestRun, metric),
                feasible_flag(constraints_of(optimization)),
            ).where(BacktestRun.optimization_id == optimization.id)
        )
        .all()
    )
    return {run_id: (done == 1, value, ok) for run_id, done, value, ok in rows}


def heatmap_cells(
    session: Session,
    optimization: Optimization,
    *,
    x: str,
    y: str | None = None,
    panel: str | None = None,
    metric: str = "cagr",
    stat: str = "max",
    source: str = "grid",
    feasible: bool | None = None,
) -> SweepAggregates:
    """Per (panel, y, x) value: trials, completed, feasible (completed and meeting the
    constraints), and ``stat`` of ``metric`` over the completed trials with the run that
    holds the max (min), the lowest trial index among equals. With ``feasible`` only the
    completed trials that meet (True) or miss (False) the constraints are counted;
    ``source`` keeps the grid's trials (the default: perturbations lie off its lattice), the
    perturbations', or all.

    Two narrow queries (the trials' axis values, read from their parameters in SQL, and the
    runs' status, metric and feasibility from an index), grouped here with numpy."""
    _check_axes(optimization, {"x": x, "y": y, "panel": panel})
    axes = [name for name in (panel, y, x) if name]
    where = [OptimizationTrial.optimization_id == optimization.id]
    if source != "all":
        where.append(OptimizationTrial.source == source)
    trials = (
        session.connection()
        .execute(
            select(OptimizationTrial.trial_index, OptimizationTrial.run_id, *map(_param, axes))
            .where(*where)
            .order_by(OptimizationTrial.trial_index)
        )
        .all()
    )
    runs = _run_columns(session, optimization, metric)
    no_run = (False, None, None)
    outcome = [runs.get(row[1], no_run) if row[1] is not None else no_run for row in trials]
    keep = np.array([feasible is None or ok is feasible for _, _, ok in outcome], dtype=bool)
    n = int(keep.sum())
    # One row per trial: (panel, y, x), 0 for an axis not asked for, NaN for a missing value.
    keys = np.zeros((n, 3))
    if n:
        values = np.array([row[2:] for row in trials], dtype=float).reshape(len(trials), -1)
        keys[:, 3 - len(axes) :] = values[keep]
    trial_index = np.array([row[0] for row in trials], dtype=np.int64)[keep]
    run_id = np.array([row[1] or 0 for row in trials], dtype=np.int64)[keep]
    completed = np.array([done for done, _, _ in outcome], dtype=bool)[keep]
    ok = np.array([bool(flag) for _, _, flag in outcome], dtype=bool)[keep]
    value = np.array(
        [v if done and v is not None else np.nan for done, v, _ in outcome], dtype=float
    )[keep]
    groups, group_of = np.unique(keys, axis=0, return_inverse=True)
    group_of = group_of.reshape(-1)
    count = np.bincount(group_of, minlength=len(groups))
    done = np.bincount(group_of, weights=completed, minlength=len(groups))
    good = np.bincount(group_of, weights=ok, minlength=len(groups))
    cell_value, best_run, best_index = _reduce(group_of, value, trial_index, run_id, stat, groups)

    def axis_value(column: int, name: str | None) -> float | None:
        return None if name is None or np.isnan(column) else float(column)

    cells = [
        AggregateCell(
            x=axis_value(groups[g, 2], x),
            y=axis_value(groups[g, 1], y),
            panel=axis_value(groups[g, 0], panel),
            trials=int(count[g]),
            completed=int(done[g]),
            feasible=int(good[g]),
            value=cell_value[g],
            run_id=best_run[g],
            trial_index=best_index[g],
        )
        for g in range(len(groups))
    ]
    present = [cell.value for cell in cells if cell.value is not None]
    return SweepAggregates(
        x=x,
        y=y,
        panel=panel,
        metric=metric,
        stat=stat,
        source=source,
        feasible=feasible,
        x_values=sorted({cell.x for cell in cells if cell.x is not None}),
        y_values=sorted({cell.y for cell in cells if cell.y is not None}),
        panel_values=sorted({cell.panel for cell in cells if cell.panel is not None}),
        cells=cells,
        trials=n,
        lo=min(present) if present else None,
        hi=max(present) if present else None,
    )


def _reduce(group_of, value, trial_index, run_id, stat, groups):
    """Per group: the max, min or mean of ``value`` over its non-NaN entries (None if none),
    and for max / min the run and trial index holding it (the lowest index among equals)."""
    size = len(groups)
    cell_value: list[float | None] = [None] * size
    best_run: list[int | None] = [None] * size
    best_index: list[int | None] = [None] * size
    known = ~np.isnan(value)
    if stat == "mean":
        sums = np.bincount(group_of[known], weights=value[known], minlength=size)
        counts = np.bincount(group_of[known], minlength=size)
        for g in np.flatnonzero(counts):
            cell_value[g] = float(sums[g] / counts[g])
        return cell_value, best_run, best_index
    group_of, value = group_of[known], value[known]
    trial_index, run_id = trial_index[known], run_id[known]
    order = np.lexsort((trial_index, -value if stat == "max" else value, group_of))
    first = order[np.unique(group_of[order], return_index=True)[1]]
    for g, best, run, index in zip(
        group_of[first].tolist(),
        value[first].tolist(),
        run_id[first].tolist(),
        trial_index[first].tolist(),
        strict=True,
    ):
        cell_value[g], best_run[g], best_index[g] = best, run, index
    return cell_value, best_run, best_index


def pareto_front(cagr: np.ndarray, max_drawdown: np.ndarray) -> np.ndarray:
    """A boolean mask of the points no other point dominates; j dominates i when
    ``cagr[j] >= cagr[i]`` and ``max_drawdown[j] <= max_drawdown[i]``, one of them strictly
    (equal points do not dominate each other: both are on the front or neither).

    Sorted by drawdown ascending, CAGR descending within equal drawdowns, a point is on the
    front iff its CAGR exceeds every CAGR before it, ``cagr[k] > max(cagr[:k])``, or it
    equals the point just before it, which is then on the front or not alike."""
    n = len(cagr)
    front = np.zeros(n, dtype=bool)
    if n == 0:
        return front
    order = np.lexsort((-cagr, max_drawdown))
    sorted_cagr, sorted_drawdown = cagr[order], max_drawdown[order]
    best_before = np.maximum.accumulate(np.concatenate(([-np.inf], sorted_cagr[:-1])))
    on_front = sorted_cagr > best_before
    # Runs of equal points take the flag of their first point.
    same = np.zeros(n, dtype=bool)
    same[1:] = (sorted_cagr[1:] == sorted_cagr[:-1]) & (sorted_drawdown[1:] == sorted_drawdown[:-1])
    first_of_run = np.maximum.accumulate(np.where(same, 0, np.arange(n)))
    front[order] = on_front[first_of_run]
    return front


def sample_keys(run_id: np.ndarray) -> np.ndarray:
    """A fixed pseudo-random key per run: ``(run_id * 2654435761) mod 2^32``."""
    return (run_id.astype(np.uint64) * np.uint64(_SAMPLE_HASH)) % np.uint64(2**32)


def scatter_points(
    session: Session, optimization: Optimization, *, limit: int = 1000, top: int = 3
) -> SweepScatter:
    """At most ``limit`` completed trials for the CAGR / max drawdown scatter: the Top
    ``top`` by the sweep's ranking, then the Pareto front (lowest drawdown first), then the
    trials whose runs have the smallest ``sample_keys`` until ``limit``; ``total`` counts
    every completed trial with both metrics. The Top ``top`` are always shown, even beyond
    ``limit``. The runs are read from the index over (sweep, status, main metrics); the
    parameters only of the trials shown."""
    limit = max(limit, top)
    rows = (
        session.connection()
        .execute(
            select(
                BacktestRun.id,
                BacktestRun.cagr,
                BacktestRun.max_drawdown,
                feasible_flag(constraints_of(optimization)),
            ).where(
                BacktestRun.optimization_id == optimization.id,
                BacktestRun.status == RunStatus.completed,
                BacktestRun.cagr.is_not(None),
                BacktestRun.max_drawdown.is_not(None),
            )
        )
        .all()
    )
    if not rows:
        return SweepScatter(total=0, points=[])
    run_ids = np.array([row[0] for row in rows], dtype=np.int64)
    cagr = np.array([row[1] for row in rows], dtype=float)
    drawdown = np.array([row[2] for row in rows], dtype=float)
    ranks = {}
    if top:
        ranking = rank_sweep(session, optimization, top, with_summary=False)
        ranks = {item.run_id: item.rank for item in ranking.items}
    front = pareto_front(cagr, drawdown)
    chosen = list(np.flatnonzero(np.isin(run_ids, list(ranks))))
    by_drawdown = np.flatnonzero(front)[np.argsort(drawdown[front], kind="stable")]
    sample = np.argsort(sample_keys(run_ids), kind="stable")
    taken = set(chosen)
    for row in np.concatenate((by_drawdown, sample)):
        if len(taken) >= limit:
            break
        if row not in taken:
            taken.add(row)
    trials = {
        run_id: (trial_index, source, params)
        for run_id, trial_index, source, params in session.connection()
        .execute(
            select(
                OptimizationTrial.run_id,
                OptimizationTrial.trial_index,
                OptimizationTrial.source,
                OptimizationTrial.params,
            ).where(OptimizationTrial.run_id.in_([int(run_ids[i]) for i in taken]))
        )
        .all()
    }
    points = [
        ScatterPoint(
            trial_index=trials[int(run_ids[i])][0],
            run_id=int(run_ids[i]),
            source=trials[int(run_ids[i])][1],
            params=stored_params(trials[int(run_ids[i])][2]),
            cagr=float(cagr[i]),
            max_drawdown=float(drawdown[i]),
            feasible=bool(rows[i][3]),
            rank=ranks.get(int(run_ids[i])),
            front=bool(front[i]),
        )
        for i in taken
    ]
    return SweepScatter(total=len(rows), points=sorted(points, key=lambda p: p.trial_index))
