"""What :func:`app.analysis.analyze_sweep` returns: a frozen :class:`SweepAnalysis`, and its
``/analysis`` document (DESIGN §4.2): plain JSON (no NaN or infinity: null), lists of records
a web UI can draw directly, run ids instead of row indices, lattice values as exact decimal
strings."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from app.analysis.bootstrap import BootstrapResult, Interval
from app.analysis.metrics import Constraint, Objective
from app.analysis.pbo import BLOCKS, PboResult, combinations_count, logit_histogram
from app.analysis.plateau import PlateauResult
from app.analysis.returns import DistinctTrials
from app.analysis.walk_forward import WalkForwardResult


@dataclass(frozen=True)
class DsrSummary:
    run_id: int | None
    sharpe: float | None
    sr0: float | None
    sr_variance: float | None
    n_trials: int
    n_returns: int
    skewness: float | None
    kurtosis: float | None
    value: float | None
    reason: str | None


@dataclass(frozen=True)
class SweepAnalysis:
    """Everything the analysis found; row indices refer to the trial order given."""

    run_ids: tuple[int, ...]
    params: tuple[Mapping[str, Decimal], ...]
    dates: np.ndarray
    objective: Objective
    constraints: tuple[Constraint, ...]
    top_rows: tuple[int, ...]
    full_window: Mapping[str, np.ndarray]  # metric -> value per trial over the whole window
    violations: np.ndarray
    distinct: DistinctTrials
    dsr: DsrSummary
    pbo: PboResult
    plateau: PlateauResult | None
    plateau_reason: str | None
    walk_forward: WalkForwardResult | None
    walk_forward_reason: str | None
    bootstrap: BootstrapResult | None
    bootstrap_reason: str | None
    drawdown_limit: float | None
    baseline_run_id: int | None
    # The baseline's objective and constraint metrics on the sweep's window, and whether it
    # meets the constraints (None without a baseline or for metrics a curve cannot give).
    baseline_metrics: Mapping[str, float] | None = None
    baseline_feasible: bool | None = None
    verdict: dict[str, str] = field(default_factory=dict)

    @property
    def equivalent(self) -> dict[int, int]:
        """{run id: run id of the earlier trial it duplicates} for every non-distinct trial."""
        owners = self.distinct.representative_of
        return {
            self.run_ids[row]: self.run_ids[int(owner)]
            for row, owner in enumerate(owners)
            if owner != row
        }

    def to_dict(self) -> dict:
        """The ``/analysis`` document (DESIGN §4.2): JSON-safe, see :func:`analysis_document`."""
        return analysis_document(self)


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


def params_text(params) -> str:
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
        "top1_feasible": None if top1 is None else bool(a.violations[top1] == 0),
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
