from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from app.schemas.common import MAX_ID

PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="A positive id")]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
