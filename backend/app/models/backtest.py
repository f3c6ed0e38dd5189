from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.models.common import JSONType, RunStatus, Timestamp, status_column_type, utcnow

# The numeric metrics kept as columns so that ranking is a database query. The full
# metrics document (including LEAN-format statistics) sits beside them in ``metrics``.
METRIC_COLUMNS = (
    "cagr",
    "max_drawdown",
    "sharpe",
    "sortino",
    "annual_volatility",
    "total_return",
    "net_profit",
    "total_fees",
    "turnover",
    "win_rate",
)


class BacktestRun(Base):
    __tablename__ = "backtest_runs"
    __table_args__ = (
        Index("ix_backtest_runs_status_id", "status", "id"),
        Index("ix_backtest_runs_project_status", "project_id", "status"),
        # A sweep's runs by status, with the metrics its status polls and pages read most:
        # counts and the leader come from this index alone, without the runs' rows.
        Index(
            "ix_backtest_runs_sweep_status",
            "optimization_id",
            "status",
            "cagr",
            "max_drawdown",
            "sharpe",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    status: Mapped[RunStatus] = mapped_column(
        status_column_type(RunStatus, "backtest_status"), default=RunStatus.queued
    )
    # The request: {"pipeline_train_job_id": int | None, "algorithm_parameters": {...}}
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    pipeline_train_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("ml_train_jobs.id"), index=True
    )
    # The sweep whose trial this run is (None for a run of its own): the same link as
    # OptimizationTrial.run_id, kept here so that a sweep's runs are found by an index. No
    # foreign key: optimizations already refer to runs (their baseline), and a cycle would
    # leave no order to delete the two tables in.
    optimization_id: Mapped[int | None] = mapped_column(Integer)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    cagr: Mapped[float | None] = mapped_column(Float)
    max_drawdown: Mapped[float | None] = mapped_column(Float)
    sharpe: Mapped[float | None] = mapped_column(Float)
    sortino: Mapped[float | None] = mapped_column(Float)
    annual_volatility: Mapped[float | None] = mapped_column(Float)
    total_return: Mapped[float | None] = mapped_column(Float)
    net_profit: Mapped[float | None] = mapped_column(Float)
    total_fees: Mapped[float | None] = mapped_column(Float)
    turnover: Mapped[float | None] = mapped_column(Float)
    win_rate: Mapped[float | None] = mapped_column(Float)
    total_orders: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    artifact_dir: Mapped[str | None] = mapped_column(String(1024))
    # Which worker holds the run while it is running (host:pid), for diagnosis.
    worker: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The task executing the current attempt (see app.services.run_tasks): its id, when it was
    # handed to the executor, and the last heartbeat of the worker holding it.
    task_id: Mapped[str | None] = mapped_column(String(64), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(Timestamp())
    heartbeat_at: Mapped[datetime | None] = mapped_column(Timestamp())
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(Timestamp())
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp())
