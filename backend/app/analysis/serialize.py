"""The ``/analysis`` document (DESIGN §4.2) of a :class:`~app.analysis.sweep.SweepAnalysis`:
plain JSON (no NaN or infinity: null), lists of records a web UI can draw directly, run ids
instead of row indices, lattice values as exact decimal strings."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from app.analysis.bootstrap import Interval
from app.analysis.pbo import BLOCKS, combinations_count, logit_histogram
from app.analysis.verdict import Difference, VerdictFacts

if TYPE_CHECKING:
    from app.analysis.sweep import SweepAnalysis


def json_safe(value: Any) -> Any:
    """Recursively: NaN / ±inf -> None, numpy scalars -> Python, Decimal -> str, dates -> ISO."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [json_safe(v) for v in value.tolist()]
    if isinstance(value, np.datetime64):
        return str(np.datetime_as_string(value, unit="D"))
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, Decimal):
        return str(value)
    return value


def _interval(interval: Interval | None) -> dict | None:
    if interval is None:
        return None
    return {"estimate": interval.estimate, "lower": interval.lower, "upper": interval.upper}


def _params_text(params) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(params.items()))


def _plateau_section(a: SweepAnalysis) -> tuple[list, dict]:
    result = a.plateau
    if result is None:
        return [], {"axes": [], "reason": a.plateau_reason}
    records = []
    for position, row in enumerate(result.ranking, start=1):
        records.append(
            {
                "position": position,
                "run_id": a.run_ids[row],
                "params": {k: str(v) for k, v in a.params[row].items()},
                "coords": {
                    axis.name: int(result.coords[row, k]) for k, axis in enumerate(result.axes)
                },
                "objective": a.full_window[a.objective.metric][row],
                "plateau_score": result.scores[row],
                "feasible": bool(a.violations[row] == 0),
                "stable": bool(result.stable[row]),
                "neighbours": [a.run_ids[n] for n in result.neighbours[row]],
            }
        )
    top1 = a.top_rows[0] if a.top_rows else None
    stable_rows = [row for row in result.ranking if result.stable[row]]
    summary = {
        "axes": [{"name": ax.name, "values": [str(v) for v in ax.values]} for ax in result.axes],
        "metric": a.objective.metric,
        "direction": a.objective.direction,
        "top1_run_id": None if top1 is None else a.run_ids[top1],
        "top1_stable": None if top1 is None else bool(result.stable[top1]),
        "top1_plateau_score": None if top1 is None else result.scores[top1],
        "top1_edges": []
        if top1 is None
        else [{"axis": axis, "side": side} for axis, side in result.edges(top1)],
        "best_stable_run_id": a.run_ids[stable_rows[0]] if stable_rows else None,
        "reason": None,
    }
    return records, summary


def _walk_forward_section(a: SweepAnalysis) -> dict:
    result = a.walk_forward
    if result is None:
        return {"years": [], "summary": None, "equity": [], "reason": a.walk_forward_reason}
    years = [
        {
            "decided_at": y.decided_at,
            "held_until": y.held_until,
            "chosen_run_id": a.run_ids[y.chosen],
            "feasible": y.feasible,
            "in_sample_objective": y.in_sample_objective,
            "held_return": y.held_return,
            "top1_return": y.top1_return,
            "baseline_return": y.baseline_return,
        }
        for y in result.years
    ]
    summary = {name: None if s is None else vars(s) for name, s in result.summaries.items()}
    equity = [
        {
            "date": result.dates[t],
            "walk_forward": result.walk_forward[t],
            "top1": result.top1[t],
            "baseline": None if result.baseline is None else result.baseline[t],
        }
        for t in range(result.dates.size)
    ]
    return {"years": years, "summary": summary, "equity": equity, "reason": None}


def _bootstrap_section(a: SweepAnalysis) -> dict:
    result = a.bootstrap
    base = {
        "drawdown_limit": a.drawdown_limit,
        "baseline_run_id": a.baseline_run_id,
        "reason": a.bootstrap_reason,
    }
    if result is None:
        return {**base, "items": []}
    items = [
        {
            "rank": rank,
            "run_id": a.run_ids[t.row],
            "cagr_minus_baseline": _interval(t.cagr_minus_baseline),
            "cagr_minus_top1": _interval(t.cagr_minus_top1),
            "prob_meets_drawdown": t.prob_meets_drawdown,
        }
        for rank, t in enumerate(result.trials, start=1)
    ]
    return {
        **base,
        "resamples": result.resamples,
        "mean_block": result.mean_block,
        "seed": result.seed,
        "confidence": 0.95,
        "items": items,
    }


def analysis_document(a: SweepAnalysis) -> dict:
    """The JSON document served by ``GET /api/optimizations/{id}/analysis``."""
    equivalent = a.equivalent
    plateau_records, plateau_summary = _plateau_section(a)
    pbo = a.pbo
    document = {
        "n_trials": len(a.run_ids),
        "distinct_trials": a.distinct.count,
        "equivalent": {str(k): v for k, v in equivalent.items()},
        "top": [
            {
                "rank": rank,
                "run_id": a.run_ids[row],
                "equivalent_to": equivalent.get(a.run_ids[row]),
            }
            for rank, row in enumerate(a.top_rows, start=1)
        ],
        "dsr": vars(a.dsr),
        "pbo": {
            "value": pbo.value,
            "blocks": BLOCKS,
            "combinations": combinations_count(BLOCKS),
            "block_length": pbo.block_length,
            "returns_used": pbo.returns_used,
            "n_trials": pbo.n_trials,
            "median_logit": float(np.median(pbo.logits)) if pbo.logits.size else None,
            "logit_histogram": logit_histogram(pbo.logits),
            "reason": pbo.reason,
        },
        "plateau": plateau_records,
        "plateau_summary": plateau_summary,
        "baseline": {
            "run_id": a.baseline_run_id,
            "metrics": dict(a.baseline_metrics) if a.baseline_metrics is not None else None,
            "feasible": a.baseline_feasible,
        },
        "walk_forward": _walk_forward_section(a),
        "bootstrap": _bootstrap_section(a),
        "verdict": a.verdict,
    }
    return json_safe(document)


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
    if a.plateau is not None and top1 is not None:
        stable = bool(a.plateau.stable[top1])
        edges = tuple(a.plateau.edges(top1))
        stable_rows = [row for row in a.plateau.ranking if a.plateau.stable[row]]
        if stable_rows:
            choice = (a.run_ids[stable_rows[0]], _params_text(a.params[stable_rows[0]]))
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
    )
