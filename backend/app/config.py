"""Settings: the one place that reads the environment (prefix ``STOCKLEAN_``)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Typed settings. Relative paths are resolved against the working directory."""

    model_config = SettingsConfigDict(env_prefix="STOCKLEAN_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/stocklean.db"
    data_source: Literal["parquet", "lean", "csv"] = "parquet"
    data_dir: Path = Path("var/data")
    artifacts_dir: Path = Path("var/artifacts")
    reports_dir: Path = Path("docs/reports")
    # Extra directories from which API callers may reference files (scores, weights).
    file_roots: list[Path] = Field(default_factory=list)
    worker_concurrency: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=64)
    # "process" runs backtests in a process pool (CPU-bound work off the event loop);
    # "thread" is for tests and small machines; "celery" sends the work to Celery workers
    # (app.workers.celery_app); "off" leaves queued work alone.
    worker_mode: Literal["process", "thread", "celery", "off"] = "process"
    dispatcher_poll_seconds: float = Field(default=0.2, gt=0, le=60)
    # Backtests handed to a local process pool per worker process: one running and the next
    # waiting, so a worker that finishes starts again without waiting for the dispatcher.
    worker_prefetch: int = Field(default=8, ge=1, le=16)
    # The niceness a local process pool's workers run at: a sweep takes the cores that are
    # idle, and the server (the API, the dispatcher storing outcomes) gets them first.
    worker_nice: int = Field(default=10, ge=0, le=19)
    api_token: str | None = None
    cors_origins: list[str] = Field(default_factory=list)
    max_trials: int = Field(default=10000, ge=1)
    max_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    # Bodies of uploaded score files may be larger than ordinary JSON requests.
    max_upload_bytes: int = Field(default=512 * 1024 * 1024, ge=1024)
    celery_broker_url: str = "redis://127.0.0.1:6379/0"
    celery_result_backend: str = "redis://127.0.0.1:6379/1"
    # The queue the server sends to and `stocklean worker` consumes by default.
    celery_queue: str = "stocklean"
    # A Celery worker renews the lease of every task it holds every lease/3 seconds; the
    # server re-sends a run whose lease ran out (its worker died). See app.workers.heartbeat
    # and app.services.run_tasks.
    worker_lease_seconds: float = Field(default=30.0, gt=0, le=3600)
    # A run whose worker died is started again up to this many times in all, then failed.
    max_attempts: int = Field(default=3, ge=1, le=100)

    @field_validator("api_token")
    @classmethod
    def _empty_token_means_open(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _absolute_paths(self) -> Settings:
        # Paths are stored in the database and handed to worker processes: make them
        # absolute once, against the directory the service was started in.
        for name in ("data_dir", "artifacts_dir", "reports_dir"):
            setattr(self, name, getattr(self, name).resolve())
        self.file_roots = [root.resolve() for root in self.file_roots]
        return self

    def allowed_file_roots(self) -> list[Path]:
        """Directories that file paths given through the HTTP API must lie under."""
        roots = [self.data_dir, self.artifacts_dir, *self.file_roots]
        return [root.resolve() for root in roots]


@lru_cache
def get_settings() -> Settings:
    return Settings()
