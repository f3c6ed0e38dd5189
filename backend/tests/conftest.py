"""Shared fixtures. The database under test is SQLite by default; set
``STOCKLEAN_TEST_DATABASE_URL`` (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) to run
the same suite against PostgreSQL. Each test starts from empty tables."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from app.config import Settings
from app.db import Base, make_engine, make_session_factory
from app.migrate import upgrade

SHARED_DIR = Path(__file__).resolve().parents[3] / "shared"
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"


def pytest_collection_modifyitems(config, items):
    if SHARED_DIR.is_dir():
        return
    skip = pytest.mark.skip(reason=f"{SHARED_DIR} is absent (it only exists on a dev machine)")
    for item in items:
        if "shared" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("STOCKLEAN_TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"


@pytest.fixture(scope="session")
def migrated_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    if engine.dialect.name == "postgresql":
        # Start the session from nothing: the migrations must build the whole schema.
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(engine)
    yield engine
    engine.dispose()


def truncate_all(engine: Engine) -> None:
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))


@pytest.fixture
def engine(migrated_engine: Engine) -> Engine:
    truncate_all(migrated_engine)
    return migrated_engine


@pytest.fixture
def session(engine: Engine):
    factory = make_session_factory(engine)
    with factory() as session:
        yield session
        session.rollback()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        worker_mode="thread",
        worker_concurrency=2,
        dispatcher_poll_seconds=0.05,
        data_dir=tmp_path / "data",
        artifacts_dir=tmp_path / "artifacts",
        reports_dir=tmp_path / "reports",
        api_token=None,
    )


@pytest.fixture
def client(engine: Engine, settings: Settings):
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def small_market_dir(tmp_path_factory) -> Path:
    """A small SYNTHETIC market (40 stocks + the ETFs, 2018-2021) as a Parquet store, with
    momentum proxy scores beside it (``scores.csv``)."""
    from app.engine.store import write_parquet_store
    from app.engine.synth import generate_synthetic_market, momentum_scores

    directory = tmp_path_factory.mktemp("market")
    data = generate_synthetic_market(seed=11, n_stocks=40, first="2018-01-02", last="2021-12-31")
    write_parquet_store(data, directory)
    momentum_scores(data, lookback=63).to_csv(directory / "scores.csv", index=False)
    return directory


@pytest.fixture
def market_settings(settings: Settings, small_market_dir: Path) -> Settings:
    settings.data_dir = small_market_dir
    return settings


@pytest.fixture
def market_client(engine: Engine, market_settings: Settings):
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(market_settings)) as test_client:
        yield test_client


BASELINE_ALGORITHM = {
    "strategy": "ml_score_vol_target",
    "backtest_start": "2019-06-03",
    "backtest_end": "2021-12-31",
    "initial_cash": 100000,
    "rebalance": "weekly",
    "top_n": 10,
    "max_weight": 0.035,
    "max_exposure": 0.70,
    "vol_target": 0.050,
    "vol_lookback": 63,
    "risk_off_symbols": "SHY,IEF,GLD,TLT",
}


@pytest.fixture
def seeded(engine: Engine, small_market_dir: Path) -> dict[str, int]:
    """Project 18, completed train job 120 (the momentum scores) and baseline run 615."""
    return seed_project18(engine, small_market_dir)


def seed_project18(engine: Engine, small_market_dir: Path) -> dict[str, int]:
    """The ``seeded`` rows in the database of ``engine`` (any database, migrated)."""
    from app.db import session_scope
    from app.services import backtests, projects, train_jobs

    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        projects.create_project(session, name="Project 18", project_id=18)
        job = train_jobs.create_train_job(
            session,
            project_id=18,
            params={"source": "import"},
            job_id=120,
            status=__import__("app.models", fromlist=["RunStatus"]).RunStatus.completed,
        )
        job.scores_path = str(small_market_dir / "scores.csv")
        job.metrics = {"ic_mean": 0.01}
        algorithm = dict(BASELINE_ALGORITHM, score_csv_path=job.scores_path)
        backtests.create_run(
            session,
            project_id=18,
            algorithm_parameters=algorithm,
            pipeline_train_job_id=120,
            run_id=615,
        )
    return {"project_id": 18, "train_job_id": 120, "baseline_run_id": 615}
