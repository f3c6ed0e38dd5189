"""The sweep page's summaries: heatmap cells and a bounded scatter
(``app.services.sweep_aggregates``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class AggregateCellOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    x: float
    y: float | None
    panel: float | None
    trials: int
    completed: int
    feasible: int
    value: float | None
    run_id: int | None
    trial_index: int | None


class AggregatesOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    x: str
    y: str | None
    panel: str | None
    metric: str
    stat: Literal["max", "min", "mean"]
    source: Literal["grid", "perturbation", "all"]
    feasible: bool | None
    x_values: list[float]
    y_values: list[float]
    panel_values: list[float]
    cells: list[AggregateCellOut]
    trials: int
    lo: float | None
    hi: float | None


class ScatterPointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    trial_index: int
    run_id: int
    source: Literal["grid", "perturbation"]
    params: dict[str, float]
    cagr: float
    max_drawdown: float
    feasible: bool
    rank: int | None
    front: bool


class ScatterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    total: int
    points: list[ScatterPointOut]
