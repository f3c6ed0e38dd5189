"""A train job's parameters (:class:`TrainParams`) and their walk-forward plan on the data
(:func:`plan_walk_forward`): dates resolved to sessions, the universe to columns, every
problem a :class:`TrainInputError` that says what to change. Cheap: the service calls it to
refuse a job before queueing it; :mod:`app.ml.training` then fits the models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.engine.market import MarketData
from app.errors import validation_text
from app.ml.features import FEATURE_SETS

# ETFs of the demo market and the strategy's defensive sleeve: not stocks to rank.
DEFAULT_EXCLUDED_SYMBOLS = ("SPY", "SHY", "VGSH", "IEF", "GLD", "TLT")
MIN_UNIVERSE_SIZE = 5


class TrainInputError(ValueError):
    """Parameters that cannot work on the given data; the message says what to change."""


class LightGBMParams(BaseModel):
    """LightGBM settings. Defaults are small on purpose: the label is a noisy cross-sectional
    rank, so few shallow trees with large leaves generalise better than deep ones, and the
    walk-forward refits the model dozens of times. Chosen on the synthetic demo market
    (``backend/benchmarks/bench_train.py``): 100 trees x 7 leaves with 1000 rows per leaf
    gave a higher out-of-sample IC than 200 x 15 with 200 rows (0.038 vs 0.029) in half the
    time. On small panels (a few thousand training rows) lower ``min_data_in_leaf``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_estimators: int = Field(default=100, ge=1, le=5000)
    num_leaves: int = Field(default=7, ge=2, le=1024)
    learning_rate: float = Field(default=0.05, gt=0, le=1)
    min_data_in_leaf: int = Field(default=1000, ge=1)
    # Row subsampling per tree ("bagging" in LightGBM's words), refreshed every iteration.
    subsample: float = Field(default=0.5, gt=0, le=1)
    feature_fraction: float = Field(default=0.8, gt=0, le=1)
    lambda_l2: float = Field(default=0.0, ge=0)
    # Features are percentile ranks in [0, 1]: 63 bins resolve them to ~1.6 % steps.
    max_bin: int = Field(default=63, ge=2, le=1023)
    num_threads: int = Field(default=2, ge=1, le=256)
    seed: int = 0

    def booster_params(self) -> dict[str, Any]:
        return {
            "objective": "regression",
            "num_leaves": self.num_leaves,
            "learning_rate": self.learning_rate,
            "min_data_in_leaf": self.min_data_in_leaf,
            "bagging_fraction": self.subsample,
            "bagging_freq": 1 if self.subsample < 1 else 0,
            "feature_fraction": self.feature_fraction,
            "lambda_l2": self.lambda_l2,
            "max_bin": self.max_bin,
            "num_threads": self.num_threads,
            "seed": self.seed,
            # Same data and parameters must give the same model (reproducible train jobs,
            # and the no-look-ahead test compares two runs bit for bit).
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }


class RidgeParams(BaseModel):
    """Ridge regression. The penalty is ``alpha * n_rows`` so ``alpha`` means the same
    shrinkage whatever the training window's size."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alpha: float = Field(default=0.01, ge=0)


class TrainParams(BaseModel):
    """What a train job does. Dates are calendar dates; they snap to sessions of the data
    (``train_start``/``score_start`` to the first session on or after, ``score_end`` to the
    last session on or before). Omitted dates mean: the first session (``train_start``), the
    earliest start that leaves ``min_train_sessions`` of training history (``score_start``),
    the last session (``score_end``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Literal["lightgbm", "ridge"] = "lightgbm"
    feature_set: str = "momentum_v1"
    label_horizon: int = Field(default=21, ge=1, le=252)
    train_start: date | None = None
    score_start: date | None = None
    score_end: date | None = None
    retrain_interval: int = Field(default=63, ge=1, le=5000)
    # Labels of adjacent sessions overlap by label_horizon - 1 sessions, so neighbouring rows
    # are near duplicates: training on every 5th session loses little and is 5x cheaper.
    train_every_n_sessions: int = Field(default=5, ge=1, le=252)
    min_train_sessions: int = Field(default=252, ge=1)
    universe: list[str] | None = None
    lightgbm: LightGBMParams = Field(default_factory=LightGBMParams)
    ridge: RidgeParams = Field(default_factory=RidgeParams)

    @field_validator("feature_set")
    @classmethod
    def _known_feature_set(cls, value: str) -> str:
        if value not in FEATURE_SETS:
            known = ", ".join(sorted(FEATURE_SETS))
            raise ValueError(f"unknown feature set {value!r}; known: {known}")
        return value

    @field_validator("universe")
    @classmethod
    def _clean_universe(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        symbols = [symbol.strip() for symbol in value]
        if any(not symbol for symbol in symbols):
            raise ValueError("universe contains an empty symbol")
        duplicates = sorted({s for s in symbols if symbols.count(s) > 1})
        if duplicates:
            raise ValueError(f"universe lists symbols twice: {', '.join(duplicates)}")
        if len(symbols) < MIN_UNIVERSE_SIZE:
            raise ValueError(
                f"universe has {len(symbols)} symbols; ranking needs at least {MIN_UNIVERSE_SIZE}"
            )
        return symbols

    @model_validator(mode="after")
    def _ordered_dates(self) -> TrainParams:
        if self.train_start and self.score_start and self.score_start <= self.train_start:
            raise ValueError(
                f"score_start {self.score_start} must be after train_start {self.train_start}"
            )
        if self.score_start and self.score_end and self.score_end < self.score_start:
            raise ValueError(f"score_end {self.score_end} is before score_start {self.score_start}")
        return self

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> TrainParams:
        """Validate a plain mapping (JSON body, CLI options); :class:`TrainInputError` with
        one ``field: problem`` line per error instead of pydantic's report."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = validation_text(exc.errors(), whole="params")
            raise TrainInputError(f"invalid train parameters: {problems}") from None


@dataclass(frozen=True)
class WalkForwardPlan:
    """Session indices (into ``data.sessions``) and universe columns of a train job."""

    universe: tuple[str, ...]
    columns: np.ndarray
    train_start: int
    score_start: int
    score_end: int
    block_starts: tuple[int, ...]

    def block_end(self, k: int, retrain_interval: int) -> int:
        """Last session (inclusive) scored by model ``k``."""
        return min(self.block_starts[k] + retrain_interval - 1, self.score_end)


def plan_walk_forward(data: MarketData, params: TrainParams) -> WalkForwardPlan:
    """Check ``params`` against ``data`` and resolve dates to sessions; cheap, so a service
    can call it to reject a job before queueing it. Raises :class:`TrainInputError`."""
    sessions = data.sessions
    if len(sessions) == 0:
        raise TrainInputError("the market data has no sessions")
    first, last = sessions[0].date(), sessions[-1].date()
    span = f"the data covers {first} .. {last}"

    universe = _resolve_universe(data, params.universe)
    columns = np.array([data.column(symbol) for symbol in universe], dtype=np.intp)

    for name in ("train_start", "score_start", "score_end"):
        value = getattr(params, name)
        if value is not None and not first <= value <= last:
            raise TrainInputError(f"{name} {value} is outside the data: {span}")

    train_start = _first_session_on_or_after(sessions, params.train_start or first)
    lookback = FEATURE_SETS[params.feature_set].lookback_sessions
    horizon = params.label_horizon
    # The first training row needs `lookback` sessions of history, the window needs
    # `min_train_sessions` rows, and the first scored session must come strictly after the
    # close that realises the last training label.
    earliest_score_start = max(train_start, lookback) + params.min_train_sessions - 1 + horizon + 1
    if earliest_score_start >= len(sessions):
        raise TrainInputError(
            f"not enough history: {span}, but scoring needs {lookback} sessions of data "
            f"for the features, then {params.min_train_sessions} training sessions from "
            f"train_start {sessions[train_start].date()} (min_train_sessions), then a "
            f"{horizon + 1}-session purge gap ({horizon}-session label + 1)"
        )
    if params.score_start is None:
        score_start = earliest_score_start
    else:
        score_start = _first_session_on_or_after(sessions, params.score_start)
        if score_start < earliest_score_start:
            raise TrainInputError(
                f"score_start {params.score_start} leaves too little training history: "
                f"features need {lookback} sessions of data, training needs "
                f"{params.min_train_sessions} sessions (min_train_sessions), then a "
                f"{horizon + 1}-session purge gap ({horizon}-session label + 1); the earliest "
                f"score_start with train_start {sessions[train_start].date()} is "
                f"{sessions[earliest_score_start].date()}"
            )
    score_end = len(sessions) - 1
    if params.score_end is not None:
        score_end = int(sessions.searchsorted(pd.Timestamp(params.score_end), side="right")) - 1
    if score_end < score_start:
        raise TrainInputError(
            f"no session to score between {sessions[score_start].date()} and {params.score_end}"
        )
    block_starts = tuple(range(score_start, score_end + 1, params.retrain_interval))
    return WalkForwardPlan(
        universe=universe,
        columns=columns,
        train_start=train_start,
        score_start=score_start,
        score_end=score_end,
        block_starts=block_starts,
    )


def _resolve_universe(data: MarketData, requested: list[str] | None) -> tuple[str, ...]:
    if requested is None:
        universe = tuple(s for s in data.symbols if s not in DEFAULT_EXCLUDED_SYMBOLS)
        if len(universe) < MIN_UNIVERSE_SIZE:
            raise TrainInputError(
                f"the data has {len(universe)} non-ETF symbols; ranking needs at least "
                f"{MIN_UNIVERSE_SIZE} (excluded: {', '.join(DEFAULT_EXCLUDED_SYMBOLS)})"
            )
        return universe
    unknown = [symbol for symbol in requested if not data.has_symbol(symbol)]
    if unknown:
        shown = ", ".join(unknown[:20]) + (
            f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
        )
        raise TrainInputError(f"universe symbols not in the market data: {shown}")
    return tuple(requested)


def _first_session_on_or_after(sessions: pd.DatetimeIndex, day: date) -> int:
    return int(sessions.searchsorted(pd.Timestamp(day), side="left"))
