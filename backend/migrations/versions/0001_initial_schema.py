"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-29 05:53:55.808431
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    op.create_table(
        "ml_train_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "completed",
                "failed",
                "canceled",
                name="train_job_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("scores_path", sa.String(length=1024), nullable=True),
        sa.Column("artifact_dir", sa.String(length=1024), nullable=True),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("ic_mean", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_ml_train_jobs_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ml_train_jobs")),
    )
    with op.batch_alter_table("ml_train_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ml_train_jobs_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index("ix_ml_train_jobs_status_id", ["status", "id"], unique=False)

    op.create_table(
        "backtest_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "completed",
                "failed",
                "canceled",
                name="backtest_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("pipeline_train_job_id", sa.Integer(), nullable=True),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("cagr", sa.Float(), nullable=True),
        sa.Column("max_drawdown", sa.Float(), nullable=True),
        sa.Column("sharpe", sa.Float(), nullable=True),
        sa.Column("sortino", sa.Float(), nullable=True),
        sa.Column("annual_volatility", sa.Float(), nullable=True),
        sa.Column("total_return", sa.Float(), nullable=True),
        sa.Column("net_profit", sa.Float(), nullable=True),
        sa.Column("total_fees", sa.Float(), nullable=True),
        sa.Column("turnover", sa.Float(), nullable=True),
        sa.Column("win_rate", sa.Float(), nullable=True),
        sa.Column("total_orders", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("artifact_dir", sa.String(length=1024), nullable=True),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["pipeline_train_job_id"],
            ["ml_train_jobs.id"],
            name=op.f("fk_backtest_runs_pipeline_train_job_id_ml_train_jobs"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_backtest_runs_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backtest_runs")),
    )
    with op.batch_alter_table("backtest_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_backtest_runs_pipeline_train_job_id"),
            ["pipeline_train_job_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_backtest_runs_project_id"), ["project_id"], unique=False
        )
        batch_op.create_index(
            "ix_backtest_runs_project_status", ["project_id", "status"], unique=False
        )
        batch_op.create_index("ix_backtest_runs_status_id", ["status", "id"], unique=False)

    op.create_table(
        "optimizations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("baseline_run_id", sa.Integer(), nullable=False),
        sa.Column("train_job_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "completed",
                "failed",
                "canceled",
                name="optimization_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "spec",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("max_inflight", sa.Integer(), nullable=False),
        sa.Column("trials_total", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("report_path", sa.String(length=1024), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["baseline_run_id"],
            ["backtest_runs.id"],
            name=op.f("fk_optimizations_baseline_run_id_backtest_runs"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_optimizations_project_id_projects")
        ),
        sa.ForeignKeyConstraint(
            ["train_job_id"],
            ["ml_train_jobs.id"],
            name=op.f("fk_optimizations_train_job_id_ml_train_jobs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_optimizations")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_optimizations_idempotency_key")),
    )
    with op.batch_alter_table("optimizations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_optimizations_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "optimization_trials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("optimization_id", sa.Integer(), nullable=False),
        sa.Column("trial_index", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column(
            "params",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "request",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["optimization_id"],
            ["optimizations.id"],
            name=op.f("fk_optimization_trials_optimization_id_optimizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["backtest_runs.id"],
            name=op.f("fk_optimization_trials_run_id_backtest_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_optimization_trials")),
        sa.UniqueConstraint(
            "optimization_id",
            "trial_index",
            name=op.f("uq_optimization_trials_optimization_id_trial_index"),
        ),
        sa.UniqueConstraint("run_id", name=op.f("uq_optimization_trials_run_id")),
    )
    with op.batch_alter_table("optimization_trials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_optimization_trials_optimization_id"), ["optimization_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("optimization_trials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_optimization_trials_optimization_id"))

    op.drop_table("optimization_trials")
    with op.batch_alter_table("optimizations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_optimizations_project_id"))

    op.drop_table("optimizations")
    with op.batch_alter_table("backtest_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_backtest_runs_status_id")
        batch_op.drop_index("ix_backtest_runs_project_status")
        batch_op.drop_index(batch_op.f("ix_backtest_runs_project_id"))
        batch_op.drop_index(batch_op.f("ix_backtest_runs_pipeline_train_job_id"))

    op.drop_table("backtest_runs")
    with op.batch_alter_table("ml_train_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_ml_train_jobs_status_id")
        batch_op.drop_index(batch_op.f("ix_ml_train_jobs_project_id"))

    op.drop_table("ml_train_jobs")
    op.drop_table("projects")
