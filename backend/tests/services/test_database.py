"""Schema-level guarantees on whichever database the suite runs against."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.models import BacktestRun, OptimizationTrial, Project
from app.services import backtests as backtest_service
from app.services import projects as project_service
from app.services import train_jobs as train_job_service


def test_explicit_ids_then_automatic_ids_still_work(session):
    project_service.create_project(session, name="seed", project_id=18)
    train_job_service.create_train_job(session, project_id=18, params={}, job_id=120)
    backtest_service.create_run(
        session, project_id=18, algorithm_parameters={"strategy": "x"}, run_id=615
    )
    session.commit()
    later_project = project_service.create_project(session, name="later")
    later_run = backtest_service.create_run(
        session, project_id=18, algorithm_parameters={"strategy": "x"}
    )
    later_job = train_job_service.create_train_job(session, project_id=18, params={})
    session.commit()
    assert later_project.id > 18
    assert later_run.id > 615
    assert later_job.id > 120


def test_status_outside_the_enum_is_rejected_by_the_schema(session):
    project = project_service.create_project(session, name="p")
    session.commit()
    with pytest.raises(IntegrityError):
        session.execute(
            text(
                "INSERT INTO backtest_runs (project_id, status, params, metrics, attempts,"
                " created_at) VALUES (:p, 'finished', '{}', '{}', 0, CURRENT_TIMESTAMP)"
            ),
            {"p": project.id},
        )
        session.flush()
    session.rollback()


def test_a_run_belongs_to_at_most_one_trial(session):
    from app.models import Optimization

    project = project_service.create_project(session, name="p")
    job = train_job_service.create_train_job(session, project_id=project.id, params={})
    run = backtest_service.create_run(session, project_id=project.id, algorithm_parameters={"a": 1})
    sweep = Optimization(
        project_id=project.id,
        baseline_run_id=run.id,
        train_job_id=job.id,
        spec={},
        max_inflight=1,
        trials_total=2,
    )
    session.add(sweep)
    session.flush()
    for index in range(2):
        session.add(
            OptimizationTrial(
                optimization_id=sweep.id,
                trial_index=index,
                source="grid",
                params={},
                request={},
                run_id=run.id,
            )
        )
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_sqlite_runs_in_wal_mode(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_models_are_registered(engine):
    """The migrated database holds a table for every model, the run and project ones too."""
    from sqlalchemy import inspect

    from app.db import Base

    tables = set(inspect(engine).get_table_names())
    assert {"projects", "backtest_runs"} <= set(Base.metadata.tables) <= tables
    assert {Project.__tablename__, BacktestRun.__tablename__} <= tables


def test_migrations_build_exactly_the_models_schema(engine):
    """Alembic's autogenerate comparison finds nothing to add: the migrations and the models
    describe the same schema (on whichever database the suite runs against)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.db import Base

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
