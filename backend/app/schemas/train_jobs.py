from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.models import RunStatus
from app.schemas.common import Id, StrictModel


class TrainJobCreate(StrictModel):
    project_id: Id
    params: dict[str, Any] = Field(default_factory=dict)


class TrainJobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    status: RunStatus
    params: dict[str, Any]
    scores_path: str | None
    metrics: dict[str, Any] = Field(default_factory=dict)
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
