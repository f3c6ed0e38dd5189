"""One entry point: :func:`analyze_sweep` turns a sweep's plain inputs (trial order, run ids,
parameters, an equity matrix aligned on session dates, the baseline's equity, the objective,
the constraints and the ranked Top N) into a :class:`SweepAnalysis`, whose ``to_dict()`` is
the ``/analysis`` document of DESIGN §4.2. No database, no web framework: usable from a
notebook with numpy arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

import numpy as np

from app.analysis.bootstrap import Interval, paired_bootstrap
from app.analysis.dsr import deflated_sharpe_ratio
from app.analysis.metrics import (
    SUPPORTED_METRICS,
    Constraint,
    Objective,
    best_index,
    metric_table,
    total_violations,
    unsupported_metrics,
)
from app.analysis.pbo import PboResult, probability_of_backtest_overfitting
from app.analysis.plateau import plateau
from app.analysis.result import DsrSummary, SweepAnalysis, params_text
from app.analysis.returns import (
    DistinctTrials,
    distinct_trials,
    returns_matrix,
    sharpe_ratios,
    standardized_moments,
)
from app.analysis.verdict import Difference, VerdictFacts, verdict
from app.analysis.walk_forward import anchored_walk_forward
from app.engine import statistics as st


def _drawdown_limit(constraints: Sequence[Constraint]) -> tuple[float | None, bool]:
    """The tightest max_drawdown upper bound among the constraints, and whether it is strict."""
    upper = [
        (c.value, c.op == "<")
        for c in constraints
        if c.metric == "max_drawdown" and c.op in ("<=", "<")
    ]
    return min(upper) if upper else (None, False)


def _dsr_summary(
    returns: np.ndarray, distinct: DistinctTrials, top1: int | None, run_ids: Sequence[int]
) -> DsrSummary:
    n_distinct, n_returns = distinct.count, returns.shape[1]
    if top1 is None:
        return DsrSummary(
            None, None, None, None, n_distinct, n_returns, None, None, None, "no completed trial"
        )
    sharpes = sharpe_ratios(returns[distinct.representatives])
    finite = sharpes[np.isfinite(sharpes)]
    variance = float(np.var(finite, ddof=1)) if finite.size >= 2 else float("nan")
    top_sharpe = float(sharpe_ratios(returns[top1 : top1 + 1])[0])
    skewness, kurtosis = standardized_moments(returns[top1])
    if not np.isfinite(top_sharpe):
        result_reason = "the Top 1's returns have zero variance: its Sharpe ratio is undefined"
        return DsrSummary(
            run_ids[top1], None, None, None, n_distinct, n_returns, None, None, None, result_reason
        )
    result = deflated_sharpe_ratio(top_sharpe, variance, n_distinct, n_returns, skewness, kurtosis)
    reason = result.reason
    if reason and n_distinct >= 2 and not np.isfinite(variance):
        reason = "fewer than two distinct trials have a defined Sharpe ratio"
    return DsrSummary(
        run_ids[top1],
        top_sharpe,
        result.sr0,
        variance,
        n_distinct,
        n_returns,
        skewness,
        kurtosis,
        result.value,
        reason,
    )


def _full_window_table(
    equity: np.ndarray,
    dates: np.ndarray,
    names: Sequence[str],
    given: Mapping[str, Sequence[float]] | None,
) -> dict[str, np.ndarray]:
    """Full-window metrics per trial: the caller's stored values where given (the ranking's
    own numbers), otherwise computed from the equity curves."""
    given = given or {}
    computable = [n for n in names if n not in given and n in SUPPORTED_METRICS]
    table = (
        metric_table(equity, dates, computable)
        if equity.shape[0]
        else {n: np.empty(0) for n in computable}
    )
    for name in names:
        if name in given:
            table[name] = np.asarray(
                [np.nan if v is None else float(v) for v in given[name]], dtype=float
            )
    return table


def analyze_sweep(
    run_ids: Sequence[int],
    params: Sequence[Mapping[str, Decimal]],
    dates: Sequence | np.ndarray,
    equity: np.ndarray,
    objective: Objective = Objective(),
    constraints: Sequence[Constraint] = (Constraint("max_drawdown", "<=", 0.15),),
    top_run_ids: Sequence[int] = (),
    baseline_equity: np.ndarray | None = None,
    baseline_run_id: int | None = None,
    full_window_metrics: Mapping[str, Sequence[float]] | None = None,
    metric_footing: Callable[[str, float], float] | None = None,
) -> SweepAnalysis:
    """Analyse a completed sweep (DESIGN §7).

    ``run_ids`` and ``params`` are the completed trials in trial order; ``equity`` is their
    (trials x samples) equity, one sample per session with the starting capital first,
    aligned on ``dates``; ``baseline_equity`` the baseline's equity on the same dates (or
    None). ``top_run_ids`` is the ranked Top N (the seed's ranking); empty means "rank here":
    best feasible by the objective. ``full_window_metrics`` optionally gives the stored
    full-window metric per trial (used for the plateau), e.g. for metrics an equity curve
    cannot give. ``metric_footing(name, value)`` is how the ranking reads a metric (e.g.
    rounded to LEAN's printed precision); the baseline's metrics, computed here from its
    equity, are read through it so that its feasibility is judged on the same footing as the
    trials' stored ones (None: as computed). Degenerate inputs give null parts with reasons,
    not exceptions."""
    run_ids = tuple(int(r) for r in run_ids)
    dates = np.asarray(dates, dtype="datetime64[D]")
    equity = np.asarray(equity, dtype=float)
    if equity.shape != (len(run_ids), dates.size):
        raise ValueError(
            f"equity has shape {equity.shape}; expected {len(run_ids)} trials x {dates.size} dates"
        )
    if len(params) != len(run_ids):
        raise ValueError(f"{len(params)} parameter sets for {len(run_ids)} trials")
    if np.any(~np.isfinite(equity)) or np.any(equity <= 0):
        raise ValueError("equity values must be finite and positive")
    if baseline_equity is not None:
        baseline_equity = np.asarray(baseline_equity, dtype=float)
        if baseline_equity.shape != (dates.size,):
            raise ValueError("the baseline equity must have one value per date")
    constraints = tuple(constraints)
    unknown_top = [r for r in top_run_ids if r not in run_ids]
    if unknown_top:
        raise ValueError(f"Top-N run ids {unknown_top} are not among the trials")
    returns = returns_matrix(equity) if run_ids else np.empty((0, max(dates.size - 1, 0)))
    distinct = distinct_trials(returns)
    names = sorted({objective.metric, *(c.metric for c in constraints)})
    table = _full_window_table(equity, dates, names, full_window_metrics)
    missing = [n for n in names if n not in table]
    violations = (
        total_violations(table, constraints) if not missing else np.full(len(run_ids), np.nan)
    )
    if top_run_ids:
        top_rows = tuple(run_ids.index(r) for r in top_run_ids)
    elif run_ids and not missing:
        top_rows = (best_index(table[objective.metric], violations, objective)[0],)
    else:
        top_rows = ()
    top1 = top_rows[0] if top_rows else None

    dsr = _dsr_summary(returns, distinct, top1, run_ids)
    pbo = probability_of_backtest_overfitting(returns[distinct.representatives])
    if not run_ids:
        pbo = PboResult(None, np.empty(0), 0, 0, 0, "no completed trial")

    plateau_result = plateau_reason = None
    if missing:
        plateau_reason = f"metrics {missing} are neither stored nor computable from equity"
    elif not run_ids:
        plateau_reason = "no completed trial"
    else:
        plateau_result = plateau(params, table[objective.metric], violations, objective)

    walk_result = walk_reason = None
    unsupported = unsupported_metrics(objective, constraints)
    if unsupported:
        walk_reason = f"metrics {unsupported} cannot be computed on part of an equity curve"
    elif top1 is None:
        walk_reason = "no completed trial"
    else:
        walk_result = anchored_walk_forward(
            equity, dates, objective, constraints, top1, baseline_equity
        )
        if walk_result is None:
            walk_reason = "the window does not reach a second calendar year"

    limit, strict = _drawdown_limit(constraints)
    boot = boot_reason = None
    if top1 is None:
        boot_reason = "no completed trial"
    elif returns.shape[1] < 2:
        boot_reason = "fewer than two returns"
    else:
        years = st.lean_equity_years(dates[0], dates[-1])
        baseline_returns = None if baseline_equity is None else returns_matrix(baseline_equity)[0]
        boot = paired_bootstrap(returns, list(top_rows), years, baseline_returns, limit, strict)
        if baseline_equity is None:
            boot_reason = "no baseline equity: differences to the baseline are omitted"

    baseline_metrics = baseline_feasible = None
    if baseline_equity is not None:
        wanted = sorted({"cagr", "max_drawdown", *names} & set(SUPPORTED_METRICS))
        baseline_table = metric_table(baseline_equity[None, :], dates, wanted)
        if metric_footing is not None:
            baseline_table = {
                name: np.array([metric_footing(name, float(v)) for v in values])
                for name, values in baseline_table.items()
            }
        baseline_metrics = {name: float(values[0]) for name, values in baseline_table.items()}
        if not unsupported:
            baseline_feasible = bool(total_violations(baseline_table, constraints)[0] == 0)

    analysis = SweepAnalysis(
        run_ids=run_ids,
        params=tuple(params),
        dates=dates,
        objective=objective,
        constraints=constraints,
        top_rows=top_rows,
        full_window=table,
        violations=violations,
        distinct=distinct,
        dsr=dsr,
        pbo=pbo,
        plateau=plateau_result,
        plateau_reason=plateau_reason,
        walk_forward=walk_result,
        walk_forward_reason=walk_reason,
        bootstrap=boot,
        bootstrap_reason=boot_reason,
        drawdown_limit=limit,
        baseline_run_id=baseline_run_id,
        baseline_metrics=baseline_metrics,
        baseline_feasible=baseline_feasible,
    )
    return replace(analysis, verdict=verdict(verdict_facts(analysis)))


def _difference(interval: Interval | None) -> Difference | None:
    if interval is None:
        return None
    return Difference(interval.estimate, interval.lower, interval.upper)


def verdict_facts(a: SweepAnalysis) -> VerdictFacts:
    equivalent = a.equivalent
    top_ids = tuple(a.run_ids[row] for row in a.top_rows)
    boot = a.bootstrap.trials if a.bootstrap is not None else ()
    second = _difference(boot[1].cagr_minus_top1) if len(boot) > 1 else None
    versus_base = _difference(boot[0].cagr_minus_baseline) if boot else None
    top1 = a.top_rows[0] if a.top_rows else None
    stable = edges = choice = None
    top1_feasible = (
        bool(a.violations[top1] == 0)
        if top1 is not None and np.isfinite(a.violations[top1])
        else None
    )
    if a.plateau is not None and top1 is not None:
        stable = bool(a.plateau.stable[top1])
        edges = tuple(a.plateau.edges(top1))
        stable_rows = [row for row in a.plateau.ranking if a.plateau.stable[row]]
        if stable_rows:
            choice = (a.run_ids[stable_rows[0]], params_text(a.params[stable_rows[0]]))
    wf_cagr = wf_base = wf_years = None
    if a.walk_forward is not None:
        summaries = a.walk_forward.summaries
        wf_cagr = summaries["walk_forward"].cagr
        wf_base = summaries["baseline"].cagr if summaries["baseline"] is not None else None
        first, last = a.walk_forward.dates[1], a.walk_forward.dates[-1]
        wf_years = f"{str(first)[:4]}–{str(last)[:4]}"
    return VerdictFacts(
        n_trials=len(a.run_ids),
        distinct_trials=a.distinct.count,
        top_run_ids=top_ids,
        top_equivalent_to=tuple(equivalent.get(r) for r in top_ids),
        second_vs_first=second,
        top1_vs_baseline=versus_base,
        dsr=a.dsr.value,
        pbo=a.pbo.value,
        top1_stable=stable,
        top1_edges=edges or (),
        stable_choice=choice,
        walk_forward_cagr=wf_cagr,
        walk_forward_baseline_cagr=wf_base,
        walk_forward_years=wf_years,
        baseline_feasible=a.baseline_feasible,
        baseline_max_drawdown=(a.baseline_metrics or {}).get("max_drawdown"),
        top1_feasible=top1_feasible,
    )
