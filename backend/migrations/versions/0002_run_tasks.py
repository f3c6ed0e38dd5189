"""run tasks: the task id, send time and worker heartbeat of a run's current attempt

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 13:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _task_columns() -> list[sa.Column]:
    return [
        sa.Column("task_id", sa.String(length=64), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("backtest_runs", schema=None) as batch_op:
        for column in _task_columns():
            batch_op.add_column(column)
        batch_op.create_index(batch_op.f("ix_backtest_runs_task_id"), ["task_id"], unique=False)
    with op.batch_alter_table("ml_train_jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worker", sa.String(length=200), nullable=True))
        # Existing rows were started at most once as far as anyone can tell.
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
        for column in _task_columns():
            batch_op.add_column(column)
        batch_op.create_index(batch_op.f("ix_ml_train_jobs_task_id"), ["task_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ml_train_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ml_train_jobs_task_id"))
        for name in ("heartbeat_at", "sent_at", "task_id", "attempts", "worker"):
            batch_op.drop_column(name)
    with op.batch_alter_table("backtest_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backtest_runs_task_id"))
        for name in ("heartbeat_at", "sent_at", "task_id"):
            batch_op.drop_column(name)
