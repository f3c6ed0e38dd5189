from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.models.common import JSONType, RunStatus, Timestamp, status_column_type, utcnow


class TrainJob(Base):
    """An ML train job: walk-forward training that writes an out-of-sample scores file,
    or a scores file produced elsewhere and imported (``params.source == "import"``)."""

    __tablename__ = "ml_train_jobs"
    __table_args__ = (Index("ix_ml_train_jobs_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    status: Mapped[RunStatus] = mapped_column(
        status_column_type(RunStatus, "train_job_status"), default=RunStatus.queued
    )
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    scores_path: Mapped[str | None] = mapped_column(String(1024))
    artifact_dir: Mapped[str | None] = mapped_column(String(1024))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    ic_mean: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    # Like a backtest run's: who holds it, how often it was started, and its current task.
    worker: Mapped[str | None] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    task_id: Mapped[str | None] = mapped_column(String(64), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(Timestamp())
    heartbeat_at: Mapped[datetime | None] = mapped_column(Timestamp())
    created_at: Mapped[datetime] = mapped_column(Timestamp(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(Timestamp())
    finished_at: Mapped[datetime | None] = mapped_column(Timestamp())
