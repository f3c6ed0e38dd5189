from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.models import METRIC_COLUMNS, RunStatus
from app.schemas.common import Id, StrictModel, non_finite_keys

# Metrics a sweep can be ranked or constrained by: the runs' numeric columns.
RankMetric = Literal[METRIC_COLUMNS]  # type: ignore[valid-type]
ConstraintOp = Literal["<=", "<", ">=", ">", "=="]

# The parameters a sweep may vary, with the values that make sense for each.
TUNABLE_PARAMETERS: dict[str, tuple[Decimal, Decimal]] = {
    "max_exposure": (Decimal("0"), Decimal("1")),
    "vol_target": (Decimal("0"), Decimal("2")),
    "max_weight": (Decimal("0"), Decimal("1")),
    "top_n": (Decimal("0"), Decimal("5000")),
    "vol_lookback": (Decimal("1"), Decimal("2520")),
}
INTEGER_PARAMETERS = frozenset({"top_n", "vol_lookback"})

LatticeValue = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=12, decimal_places=6)]


def _check_parameter_names(names, where: str) -> None:
    unknown = sorted(set(names) - set(TUNABLE_PARAMETERS))
    if unknown:
        raise ValueError(
            f"{where}: cannot sweep {', '.join(unknown)}; tunable parameters are "
            f"{', '.join(TUNABLE_PARAMETERS)}"
        )


def check_parameter_value(name: str, value: Decimal) -> None:
    low, high = TUNABLE_PARAMETERS[name]
    if not (low < value <= high):
        raise ValueError(f"{name} must be in ({low}, {high}], got {value}")
    if name in INTEGER_PARAMETERS and value != value.to_integral_value():
        raise ValueError(f"{name} must be a whole number, got {value}")


class PerturbationIn(StrictModel):
    base: dict[str, LatticeValue] | None = None
    steps: dict[str, LatticeValue] = Field(min_length=1, max_length=8)
    count: int = Field(ge=0, le=100_000)
    radius: int = Field(default=1, ge=1, le=5)
    exclude_base: bool = True

    @field_validator("steps")
    @classmethod
    def _steps(cls, steps: dict[str, Decimal]) -> dict[str, Decimal]:
        _check_parameter_names(steps, "steps")
        for name, step in steps.items():
            if step <= 0:
                raise ValueError(f"step for {name} must be positive, got {step}")
        return steps

    @field_validator("base")
    @classmethod
    def _base(cls, base: dict[str, Decimal] | None) -> dict[str, Decimal] | None:
        if base is not None:
            _check_parameter_names(base, "base")
            for name, value in base.items():
                check_parameter_value(name, value)
        return base


class SearchIn(StrictModel):
    grid: dict[str, Annotated[list[LatticeValue], Field(min_length=1, max_length=1000)]] = Field(
        default_factory=dict, max_length=8
    )
    perturbation: PerturbationIn | None = None

    @field_validator("grid")
    @classmethod
    def _grid(cls, grid: dict[str, list[Decimal]]) -> dict[str, list[Decimal]]:
        _check_parameter_names(grid, "grid")
        for name, values in grid.items():
            for value in values:
                check_parameter_value(name, value)
        return grid

    @model_validator(mode="after")
    def _not_empty(self) -> SearchIn:
        if not self.grid and self.perturbation is None:
            raise ValueError("search needs a grid, a perturbation, or both")
        return self


class ObjectiveIn(StrictModel):
    metric: RankMetric = "cagr"
    direction: Literal["max", "min"] = "max"


class ConstraintIn(StrictModel):
    metric: RankMetric
    op: ConstraintOp
    value: float = Field(allow_inf_nan=False)


class OptimizationCreate(StrictModel):
    baseline_run_id: Id
    train_job_id: Id
    project_id: Id | None = None
    backtest_start: dt.date | None = None
    backtest_end: dt.date | None = None
    overrides: dict[str, Any] = Field(default_factory=dict, max_length=100)
    search: SearchIn | None = None
    objective: ObjectiveIn = Field(default_factory=ObjectiveIn)
    constraints: list[ConstraintIn] = Field(
        default_factory=lambda: [ConstraintIn(metric="max_drawdown", op="<=", value=0.15)],
        max_length=20,
    )
    max_inflight: int = Field(default=8, ge=1, le=64)
    top_n: int = Field(default=3, ge=1, le=100)

    @field_validator("overrides")
    @classmethod
    def _overrides(cls, overrides: dict[str, Any]) -> dict[str, Any]:
        reserved = {"score_csv_path", "backtest_start", "backtest_end"} & set(overrides)
        if reserved:
            raise ValueError(
                f"{', '.join(sorted(reserved))} come from the train job and the window, "
                "not from overrides"
            )
        infinite = non_finite_keys(overrides)
        if infinite:
            raise ValueError(f"override {', '.join(infinite)} must be a finite number")
        return overrides

    @model_validator(mode="after")
    def _window(self) -> OptimizationCreate:
        if self.backtest_start and self.backtest_end and self.backtest_start >= self.backtest_end:
            raise ValueError(
                f"backtest_start ({self.backtest_start}) must be before backtest_end "
                f"({self.backtest_end})"
            )
        return self


class StatusCounts(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    pending: int = 0
    queued: int = 0
    running: int = 0
    completed: int = 0
    failed: int = 0
    canceled: int = 0


class BestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    run_id: int
    cagr: float | None
    max_drawdown: float | None
    objective: float | None
    feasible: bool


class OptimizationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    project_id: int
    baseline_run_id: int
    train_job_id: int
    status: RunStatus
    trials_total: int
    counts: StatusCounts
    progress: float
    max_inflight: int
    spec: dict[str, Any]
    best: BestOut | None = None
    report_path: str | None
    error: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class TrialOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    trial_index: int
    params: dict[str, float]
    source: Literal["grid", "perturbation"]
    run_id: int | None
    status: str
    cagr: float | None
    max_drawdown: float | None
    sharpe: float | None
    objective: float | None
    feasible: bool | None
    error: str | None


class TopItem(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    rank: int
    trial_id: int | None
    run_id: int
    cagr: float | None
    max_drawdown: float | None
    sharpe: float | None
    objective: float | None
    feasible: bool
    violation: float
    params: dict[str, Any]
    # The run of an earlier trial this one's backtest duplicates (same daily returns), from
    # the sweep's stored analysis; None when distinct or not analysed yet.
    equivalent_to: int | None = None


class FailedRun(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    run_id: int
    trial_id: int | None
    error: str | None


class TopOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    constraint_met: bool
    objective: ObjectiveIn
    constraints: list[ConstraintIn]
    items: list[TopItem]
    failed: list[FailedRun]
    completed: int


class PreviewTrial(BaseModel):
    trial_index: int
    source: Literal["grid", "perturbation"]
    params: dict[str, float]
    request: dict[str, Any]


class PreviewOut(BaseModel):
    trials_total: int
    items: list[PreviewTrial]


class DeflatedSharpeOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    run_id: int | None
    sharpe: float | None
    sr0: float | None
    sr_variance: float | None
    n_trials: int
    value: float | None
    reason: str | None = None


class PboOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    value: float | None
    blocks: int
    combinations: int
    logit_histogram: list[dict[str, float | int]]  # {"lower", "upper", "count"}
    reason: str | None = None


class VerdictOut(BaseModel):
    zh: str
    en: str


class AnalysisOut(BaseModel):
    """DESIGN §4.2 ``/analysis``; the parts a UI draws are lists of records (see §7)."""

    model_config = ConfigDict(extra="allow")

    optimization_id: int
    n_trials: int
    distinct_trials: int
    equivalent: dict[str, int]
    top: list[dict[str, Any]]
    dsr: DeflatedSharpeOut
    pbo: PboOut
    plateau: list[dict[str, Any]]
    plateau_summary: dict[str, Any]
    walk_forward: dict[str, Any]
    bootstrap: dict[str, Any]
    verdict: VerdictOut
