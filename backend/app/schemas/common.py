from __future__ import annotations

import math
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

# Ids are 32-bit positive integers in every table; anything else is a 422, not a 500.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

T = TypeVar("T")


def non_finite_keys(value: Any, prefix: str = "") -> list[str]:
    """Dotted keys of the NaN and infinite numbers anywhere in a JSON value. JSON has no such
    numbers, but Python's parser reads 1e400 as infinity, which a JSON column then stores as
    null: the stored request would not be the one sent."""
    if isinstance(value, float):
        return [] if math.isfinite(value) else [prefix or "(value)"]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return []
    found: list[str] = []
    for key, item in items:
        found += non_finite_keys(item, f"{prefix}.{key}" if prefix else str(key))
    return found


class StrictModel(BaseModel):
    """Request bodies: unknown fields are errors, so typos don't pass silently."""

    model_config = ConfigDict(extra="forbid")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
