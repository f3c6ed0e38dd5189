"""The `stocklean` commands run in-process against the test database and the small market."""

from __future__ import annotations

import pytest

from app.config import get_settings


@pytest.fixture
def cli_env(monkeypatch, market_settings, database_url):
    """STOCKLEAN_* settings pointing the CLI at the test database, market and directories."""
    for name, value in {
        "DATABASE_URL": database_url,
        "DATA_DIR": market_settings.data_dir,
        "ARTIFACTS_DIR": market_settings.artifacts_dir,
        "REPORTS_DIR": market_settings.reports_dir,
        "WORKER_MODE": "thread",
        "WORKER_CONCURRENCY": "2",
        "DISPATCHER_POLL_SECONDS": "0.05",
    }.items():
        monkeypatch.setenv(f"STOCKLEAN_{name}", str(value))
    get_settings.cache_clear()
    yield market_settings
    get_settings.cache_clear()
