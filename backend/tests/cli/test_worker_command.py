"""`stocklean worker` refuses to start, naming each problem, when it cannot see what its
tasks need (the worker itself is exercised by the Celery tests in tests/api)."""

from __future__ import annotations

from app.cli import main
from app.config import get_settings


def test_worker_without_data_database_or_broker_names_each_problem(monkeypatch, tmp_path, capsys):
    artifacts = tmp_path / "readonly-artifacts"
    artifacts.write_text("a file where a directory should be")
    for name, value in {
        "DATA_DIR": tmp_path / "no-data",
        "ARTIFACTS_DIR": artifacts,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
        "CELERY_BROKER_URL": "redis://127.0.0.1:1/0",
    }.items():
        monkeypatch.setenv(f"STOCKLEAN_{name}", str(value))
    get_settings.cache_clear()
    try:
        assert main(["worker", "--concurrency", "1"]) == 2
    finally:
        get_settings.cache_clear()
    error = capsys.readouterr().err
    assert "this worker cannot start" in error
    assert f"market data (parquet) not readable at {tmp_path / 'no-data'}" in error
    assert f"artifacts directory {artifacts} is not writable" in error
    assert "empty.db is not usable" in error and "no such table: backtest_runs" in error
    assert "broker redis://127.0.0.1:1/0 is not reachable" in error


def test_worker_concurrency_must_be_positive(capsys):
    assert main(["worker", "--concurrency", "0"]) == 2
    assert "--concurrency must be at least 1, not 0" in capsys.readouterr().err
