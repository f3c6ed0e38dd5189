from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.models import RunStatus
from app.schemas.common import Id, StrictModel, non_finite_keys

MAX_ALGORITHM_PARAMETERS = 200


class BacktestParams(StrictModel):
    pipeline_train_job_id: Id | None = None
    algorithm_parameters: dict[str, Any]

    @field_validator("algorithm_parameters")
    @classmethod
    def _bounded(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            raise ValueError("algorithm_parameters must not be empty")
        if len(value) > MAX_ALGORITHM_PARAMETERS:
            raise ValueError(f"at most {MAX_ALGORITHM_PARAMETERS} algorithm parameters")
        infinite = non_finite_keys(value)
        if infinite:
            raise ValueError(f"{', '.join(infinite)} must be a finite number")
        return value


class BacktestCreate(StrictModel):
    project_id: Id
    params: BacktestParams


class BacktestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    status: RunStatus
    params: dict[str, Any]
    metrics: dict[str, Any] = Field(default_factory=dict)
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class LeanResultImport(StrictModel):
    """A result document produced by a real LEAN run (its ``statistics`` object is what is
    read), with the request that produced it."""

    project_id: Id
    params: BacktestParams | None = None
    result: dict[str, Any]
