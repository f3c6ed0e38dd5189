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
from sqlalchemy import Float, and_, case, cast, func, select
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
    ("0.70", "0.7") fall into one group."""
    return cast(OptimizationTrial.params[name].as_string(), Float)


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
    constraints), and ``stat`` of ``metric`` over the completed trials. With ``feasible``
    only the completed trials that meet (True) or miss (False) the constraints are counted;
    ``source`` keeps the grid's trials (the default: perturbations lie off its lattice), the
    perturbations', or all."""
    _check_axes(optimization, {"x": x, "y": y, "panel": panel})
    completed = BacktestRun.status == RunStatus.completed
    is_feasible = feasible_flag(constraints_of(optimization))
    value = case((completed, getattr(BacktestRun, metric)), else_=None)
    keys = [_param(x).label("x")]
    keys.append((_param(y) if y else cast(None, Float)).label("y"))
    keys.append((_param(panel) if panel else cast(None, Float)).label("panel"))
    where = [OptimizationTrial.optimization_id == optimization.id]
    if source != "all":
        where.append(OptimizationTrial.source == source)
    if feasible is not None:
        where.append(is_feasible.is_(True) if feasible else is_feasible.is_(False))
    # The row that holds the cell's max (min): first by the value, then the lowest index.
    best_first = value.desc() if stat == "max" else value.asc()
    order = row_number_over(keys, value.is_(None), best_first, OptimizationTrial.trial_index)
    rows = (
        select(
            *keys,
            value.label("value"),
            case((completed, 1), else_=0).label("completed"),
            case((is_feasible.is_(True), 1), else_=0).label("feasible"),
            OptimizationTrial.run_id,
            OptimizationTrial.trial_index,
            order.label("place"),
        )
        .select_from(OptimizationTrial)
        .outerjoin(BacktestRun, BacktestRun.id == OptimizationTrial.run_id)
        .where(*where)
        .subquery()
    )
    reduce = {"max": func.max, "min": func.min, "mean": func.avg}[stat]
    first = and_(rows.c.place == 1, rows.c.value.is_not(None))
    grouped = session.execute(
        select(
            rows.c.x,
            rows.c.y,
            rows.c.panel,
            func.count(),
            func.sum(rows.c.completed),
            func.sum(rows.c.feasible),
            reduce(rows.c.value),
            func.max(case((first, rows.c.run_id))),
            func.max(case((first, rows.c.trial_index))),
        )
        .group_by(rows.c.panel, rows.c.y, rows.c.x)
        .order_by(rows.c.panel, rows.c.y, rows.c.x)
    ).all()
    cells = [
        AggregateCell(
            x=cx,
            y=cy,
            panel=cp,
            trials=count,
            completed=int(done or 0),
            feasible=int(ok or 0),
            value=None if cell_value is None else float(cell_value),
            run_id=None if stat == "mean" else run_id,
            trial_index=None if stat == "mean" else trial_index,
        )
        for cx, cy, cp, count, done, ok, cell_value, run_id, trial_index in grouped
    ]
    values = [cell.value for cell in cells if cell.value is not None]
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
        trials=sum(cell.trials for cell in cells),
        lo=min(values) if values else None,
        hi=max(values) if values else None,
    )


def row_number_over(partition, *order_by):
    return func.row_number().over(partition_by=partition, order_by=order_by)


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


def sample_keys(trial_index: np.ndarray) -> np.ndarray:
    """A fixed pseudo-random key per trial index: ``(index * 2654435761) mod 2^32``."""
    return (trial_index.astype(np.uint64) * np.uint64(_SAMPLE_HASH)) % np.uint64(2**32)


def scatter_points(
    session: Session, optimization: Optimization, *, limit: int = 1000, top: int = 3
) -> SweepScatter:
    """At most ``limit`` completed trials for the CAGR / max drawdown scatter: the Top
    ``top`` by the sweep's ranking, then the Pareto front (lowest drawdown first), then the
    trials with the smallest ``sample_keys`` until ``limit``; ``total`` counts every completed
    trial with both metrics. The Top ``top`` are always shown, even beyond ``limit``."""
    limit = max(limit, top)
    is_feasible = feasible_flag(constraints_of(optimization))
    rows = session.execute(
        select(
            OptimizationTrial.id,
            OptimizationTrial.trial_index,
            OptimizationTrial.run_id,
            OptimizationTrial.source,
            BacktestRun.cagr,
            BacktestRun.max_drawdown,
            is_feasible,
        )
        .join(BacktestRun, BacktestRun.id == OptimizationTrial.run_id)
        .where(
            OptimizationTrial.optimization_id == optimization.id,
            BacktestRun.status == RunStatus.completed,
            BacktestRun.cagr.is_not(None),
            BacktestRun.max_drawdown.is_not(None),
        )
        .order_by(OptimizationTrial.trial_index)
    ).all()
    if not rows or limit == 0:
        return SweepScatter(total=len(rows), points=[])
    columns = list(zip(*rows, strict=True))
    trial_index = np.asarray(columns[1], dtype=np.int64)
    run_ids = np.asarray(columns[2], dtype=np.int64)
    cagr = np.asarray(columns[4], dtype=float)
    drawdown = np.asarray(columns[5], dtype=float)
    ranks = {}
    if top:
        ranking = rank_sweep(session, optimization, top, with_summary=False)
        ranks = {item.run_id: item.rank for item in ranking.items}
    front = pareto_front(cagr, drawdown)
    chosen: list[int] = [i for i in np.flatnonzero(np.isin(run_ids, list(ranks)))]
    by_drawdown = np.flatnonzero(front)[np.argsort(drawdown[front], kind="stable")]
    for group in (by_drawdown, np.argsort(sample_keys(trial_index), kind="stable")):
        taken = set(chosen)
        chosen.extend(int(i) for i in group if int(i) not in taken)
        if len(chosen) >= limit:
            break
    chosen = sorted(set(chosen[:limit]))
    params = dict(
        session.execute(
            select(OptimizationTrial.id, OptimizationTrial.params).where(
                OptimizationTrial.id.in_([rows[i][0] for i in chosen])
            )
        ).all()
    )
    points = [
        ScatterPoint(
            trial_index=int(trial_index[i]),
            run_id=int(run_ids[i]),
            source=rows[i][3],
            params=stored_params(params[rows[i][0]]),
            cagr=float(cagr[i]),
            max_drawdown=float(drawdown[i]),
            feasible=bool(rows[i][6]),
            rank=ranks.get(int(run_ids[i])),
            front=bool(front[i]),
        )
        for i in chosen
    ]
    return SweepScatter(total=len(rows), points=points)
