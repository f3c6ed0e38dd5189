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


@pytest.fixture
def seeded(engine: Engine, small_market_dir: Path) -> dict[str, int]:
    """Project 18, completed train job 120 (the momentum scores) and baseline run 615,
    committed (see ``factories.make_seed_world``)."""
    from factories import make_seed_world

    from app.db import session_scope

    with session_scope(make_session_factory(engine)) as session:
        return make_seed_world(session, small_market_dir / "scores.csv")
