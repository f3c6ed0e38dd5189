from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

# Ids are 32-bit positive integers in every table; anything else is a 422, not a 500.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

T = TypeVar("T")


class StrictModel(BaseModel):
    """Request bodies: unknown fields are errors, so typos don't pass silently."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
