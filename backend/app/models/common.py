"""Column helpers shared by the domain models."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, Enum
from sqlalchemy.dialects.postgresql import JSONB

# JSONB on PostgreSQL (indexable, compact), plain JSON text on SQLite.
JSONType = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def Timestamp() -> DateTime:
    return DateTime(timezone=True)


class RunStatus(enum.StrEnum):
    """Lifecycle of a backtest run or a train job.

    queued -> running -> completed | failed; queued/running -> canceled.
    A server restart moves running back to queued (the run was never finished).
    """

    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"
    canceled = "canceled"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({RunStatus.completed, RunStatus.failed, RunStatus.canceled})

ALLOWED_TRANSITIONS: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.queued: frozenset({RunStatus.running, RunStatus.canceled, RunStatus.failed}),
    RunStatus.running: frozenset(
        {RunStatus.completed, RunStatus.failed, RunStatus.canceled, RunStatus.queued}
    ),
    RunStatus.completed: frozenset(),
    RunStatus.failed: frozenset(),
    RunStatus.canceled: frozenset(),
}


def can_transition(current: RunStatus, new: RunStatus) -> bool:
    return new in ALLOWED_TRANSITIONS[current]


def status_column_type(enum_cls: type[enum.Enum], name: str) -> Enum:
    """A VARCHAR with a CHECK constraint (portable; no native PostgreSQL enum to migrate)."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=16,
        values_callable=lambda members: [member.value for member in members],
        validate_strings=True,
    )
