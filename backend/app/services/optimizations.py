"""Optimizations: sweeps of backtests derived from a baseline run and a train job."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import BacktestRun, OptimizationTrial, RunStatus


def fair_claim_order(session: Session, candidates: list[BacktestRun]) -> list[BacktestRun]:
    """Order queued runs so that sweeps share the workers: a run whose sweep has the fewest
    runs already running goes first; ties (and runs outside any sweep) by age."""
    if not candidates:
        return []
    sweep_of = dict(
        session.execute(
            select(OptimizationTrial.run_id, OptimizationTrial.optimization_id).where(
                OptimizationTrial.run_id.in_([run.id for run in candidates])
            )
        ).all()
    )
    if not sweep_of:
        return candidates
    running = Counter(
        session.execute(
            select(OptimizationTrial.optimization_id)
            .join(BacktestRun, BacktestRun.id == OptimizationTrial.run_id)
            .where(BacktestRun.status == RunStatus.running)
        ).scalars()
    )
    ordered: list[BacktestRun] = []
    pending = list(candidates)
    while pending:
        best = min(pending, key=lambda run: (running[sweep_of.get(run.id)], run.id))
        pending.remove(best)
        ordered.append(best)
        running[sweep_of.get(best.id)] += 1
    return ordered


def advance_sweeps(session: Session) -> bool:
    """Submit trials of active sweeps and finish completed ones. Returns True if anything
    changed. (Filled in by the optimizations service.)"""
    return False


def has_active_sweeps(session: Session) -> bool:
    return False
