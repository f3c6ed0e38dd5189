from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.models.common import JSONType, RunStatus, Timestamp, status_column_type, utcnow


class Optimization(Base):
    """A parameter sweep derived from a baseline run and a train job.

    ``spec`` is the validated request with every default filled in; the trials carry the
    exact backtest requests, so a restart needs nothing but these rows to continue.
    """

    __tablename__ = "optimizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    baseline_run_id: Mapped[int] = mapped_column(ForeignKey("backtest_runs.id"))
    train_job_id: Mapped[int] = mapped_column(ForeignKey("ml_train_jobs.id"))
    status: Mapped[RunStatus] = mapped_column(
        status_column_type(RunStatus, "optimization_status"), default=RunStatus.queued
    )
    spec: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    max_inflight: Mapped[int] = mapped_column(Integer)
    trials_total: Mapped[int] = mapped_column(Integer)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    error: Mapped[str | None] = mapped_column(Text)
    report_path: Mapped[str | None] = mapped_column(String(1024))
    # The selection-validity analysis (DESIGN §7), stored when the sweep finishes. Deferred:
    # ~170 kB for the demo's sweep, read only by /analysis, /top and the report.
    analysis: Mapped[dict[str, Any] | None] = mapped_column(JSONType, deferred=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(Timestamp())
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp())


class OptimizationTrial(Base):
    """One point of the sweep. ``run_id`` is set in the same transaction that creates the
    run, and is unique, so every trial ends with exactly one backtest run."""

    __tablename__ = "optimization_trials"
    __table_args__ = (UniqueConstraint("optimization_id", "trial_index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    optimization_id: Mapped[int] = mapped_column(
        ForeignKey("optimizations.id", ondelete="CASCADE"), index=True
    )
    trial_index: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))  # "grid" | "perturbation"
    # Parameter values as decimal strings ("0.045"): exact lattice values.
    params: Mapped[dict[str, str]] = mapped_column(JSONType)
    request: Mapped[dict[str, Any]] = mapped_column(JSONType)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("backtest_runs.id"), unique=True)
    submitted_at: Mapped[datetime | None] = mapped_column(Timestamp())
