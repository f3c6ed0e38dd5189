"""Walk-forward training of cross-sectional stock-ranking models.

One train job = a sequence of models, each fitted on an expanding window of past
(features, label) rows and scoring the next ``retrain_interval`` sessions:

- model ``k`` scores sessions ``b_k .. b_k + retrain_interval - 1`` where
  ``b_k = score_start + k * retrain_interval`` (session indices, clipped at ``score_end``);
- it trains on rows dated ``s`` with ``train_start <= s <= b_k - label_horizon - 1``
  (**purge gap**): the label of row ``s`` is the forward return from ``s``'s close to
  ``s + label_horizon``'s close, so the last training label is realised at session
  ``b_k - 1``, strictly before the first session the model scores;
- a score dated ``d`` is computed from features dated ``d`` (closes up to ``d``'s close) by a
  model that saw closes up to ``b_k - 1 <= d - 1``. Changing any price after ``d`` therefore
  changes no score dated ``<= d``.

The numeric core (features, ranks, ridge, IC) is plain numpy; LightGBM fits the default model.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from app.engine.market import MarketData
from app.errors import validation_text
from app.ml.evaluation import daily_spearman_ic, summarize_ic
from app.ml.features import FEATURE_SETS, compute_features, forward_return, rank_label
from app.ml.files import atomic_write, write_scores_csv

# ETFs of the demo market and the strategy's defensive sleeve: not stocks to rank.
DEFAULT_EXCLUDED_SYMBOLS = ("SPY", "SHY", "VGSH", "IEF", "GLD", "TLT")
MIN_UNIVERSE_SIZE = 5

SCORES_FILENAME = "scores.csv"
MODELS_DIRNAME = "models"
METRICS_FILENAME = "metrics.json"
MANIFEST_FILENAME = "manifest.json"


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
class ModelWindow:
    """What one walk-forward model saw and scored (dates are sessions).

    ``train_last_label_date`` is the session whose close realises the label of the last
    training row (``train_last_date + label_horizon`` sessions); the purge gap guarantees
    ``train_last_label_date < first_scored_date``.
    """

    model_index: int
    train_first_date: date
    train_last_date: date
    train_last_label_date: date
    first_scored_date: date
    last_scored_date: date
    n_train_rows: int
    artifact: str


@dataclass(frozen=True)
class TrainOutput:
    """Result of :func:`train_walk_forward`. ``scores`` has the columns of the scores file
    (``date`` as datetime64); ``daily_ic`` is the out-of-sample IC per scored day whose label
    is known; ``metrics`` is JSON-ready (see :func:`train_walk_forward`)."""

    scores_path: Path
    models_dir: Path
    metrics: dict[str, Any]
    windows: list[ModelWindow]
    scores: pd.DataFrame
    daily_ic: pd.Series


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


def fit_ridge(features: np.ndarray, label: np.ndarray, alpha: float) -> tuple[float, np.ndarray]:
    """Ridge regression in closed form, intercept not penalised.

    With column means ``mu``, label mean ``m`` and centred ``Xc = X - mu``, ``yc = y - m``:
    ``coef = (Xc'Xc + alpha * n * I)^-1 Xc'yc`` and ``intercept = m - mu . coef``.
    ``features`` is ``(n_rows, n_features)``; returns ``(intercept, coef)``.
    """
    x = features.astype(np.float64)
    y = label.astype(np.float64)
    n_rows, n_features = x.shape
    mean_x = x.mean(axis=0)
    mean_y = y.mean()
    x -= mean_x
    gram = x.T @ x + alpha * n_rows * np.eye(n_features)
    coef = np.linalg.solve(gram, x.T @ (y - mean_y))
    return float(mean_y - mean_x @ coef), coef


def predict_ridge(features: np.ndarray, intercept: float, coef: np.ndarray) -> np.ndarray:
    """``intercept + X @ coef`` in float64."""
    return intercept + features.astype(np.float64) @ coef


def _import_lightgbm():
    # LightGBM's OpenMP threads spin while they wait for work. When other processes share
    # the cores (the backtest worker pool, a second train job) spinning threads starve each
    # other: a fit that takes 1.4 s on one thread took 17-28 s on two with the machine busy.
    # Passive waiting fixes that and costs nothing measurable on an idle machine. The
    # variable is read when the OpenMP runtime loads, i.e. at the first import.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import lightgbm

    return lightgbm


def _fit_and_save(
    params: TrainParams,
    feature_names: tuple[str, ...],
    x_train: np.ndarray,
    y_train: np.ndarray,
    artifact_stem: Path,
) -> tuple[Callable[[np.ndarray], np.ndarray], Path]:
    """Fit one model, save it next to ``artifact_stem``; return ``(predict, artifact path)``."""
    if params.model == "ridge":
        intercept, coef = fit_ridge(x_train, y_train, params.ridge.alpha)
        path = artifact_stem.with_suffix(".json")
        document = {
            "model": "ridge",
            "alpha": params.ridge.alpha,
            "feature_names": list(feature_names),
            "intercept": intercept,
            "coefficients": coef.tolist(),
        }
        atomic_write(path, lambda handle: json.dump(document, handle, indent=2))
        return (lambda x: predict_ridge(x, intercept, coef)), path

    lightgbm = _import_lightgbm()
    dataset = lightgbm.Dataset(
        x_train,
        label=y_train,
        feature_name=list(feature_names),
        params={"max_bin": params.lightgbm.max_bin, "verbosity": -1},
        free_raw_data=True,
    )
    booster = lightgbm.train(
        params.lightgbm.booster_params(),
        dataset,
        num_boost_round=params.lightgbm.n_estimators,
    )
    path = artifact_stem.with_suffix(".txt")
    atomic_write(path, lambda handle: handle.write(booster.model_to_string()))
    return (lambda x: booster.predict(x, num_threads=params.lightgbm.num_threads)), path


def train_walk_forward(data: MarketData, params: TrainParams, out_dir: Path) -> TrainOutput:
    """Train and score walk-forward (see the module docstring for the exact windows).

    Writes into ``out_dir``:
    - ``scores.csv``: ``date,symbol,score`` for the scoring period only, one row per
      (session, universe symbol) whose features are all defined, sorted by date then symbol;
      higher score = expected higher forward return rank;
    - ``models/model_NNN.txt`` (LightGBM) or ``.json`` (ridge: intercept, coefficients) and
      ``models/manifest.json`` (the :class:`ModelWindow` list);
    - ``metrics.json``: the returned metrics.

    Metrics: ``ic_mean``, ``ic_std``, ``ic_ir``, ``hit_rate``, ``ic_by_year``, ``n_ic_days``
    (daily Spearman IC between score and the realised ``label_horizon`` forward return, out
    of sample, only days whose label is known; see :func:`summarize_ic`), ``coverage``
    (scored cells / universe cells with a close in the scoring period), ``n_models``,
    ``n_scored_days``, ``n_scores``, ``n_universe``, ``train_seconds`` (model fitting),
    ``elapsed_seconds`` (everything), ``synthetic`` (from the data's provenance), plus the
    resolved ``model``, ``feature_set``, ``label_horizon``, ``score_start``, ``score_end``.
    """
    started = time.perf_counter()
    plan = plan_walk_forward(data, params)
    horizon = params.label_horizon
    sessions = data.sessions
    close = data.close[:, plan.columns]
    volume = data.volume[:, plan.columns]

    features = compute_features(close, volume, params.feature_set)
    complete = features.complete_rows()
    label = rank_label(close, horizon)

    # Every model's training rows are a prefix of one session-major table, because the
    # window only grows: sample sessions on a fixed grid anchored at train_start.
    last_train_session = plan.block_starts[-1] - horizon - 1
    train_sessions = np.arange(
        plan.train_start, last_train_session + 1, params.train_every_n_sessions
    )
    train_mask = complete[train_sessions] & np.isfinite(label[train_sessions])
    x_all = features.values[:, train_sessions][:, train_mask].T
    y_all = label[train_sessions][train_mask].astype(np.float32)
    row_session = np.repeat(train_sessions, train_mask.sum(axis=1))

    # The window only grows, so if the first model has rows, every model has.
    first_cutoff = plan.block_starts[0] - horizon - 1
    if np.searchsorted(row_session, first_cutoff, side="right") == 0:
        raise TrainInputError(
            f"no training rows with complete features before "
            f"{sessions[plan.block_starts[0]].date()}: move score_start later or "
            f"train_start earlier"
        )

    models_dir = out_dir / MODELS_DIRNAME
    models_dir.mkdir(parents=True, exist_ok=True)
    # Models of an earlier run into the same directory would contradict the new manifest.
    for stale in models_dir.glob("model_*.*"):
        stale.unlink()
    scores = np.full(close.shape, np.nan)
    windows: list[ModelWindow] = []
    fit_seconds = 0.0
    for k, block_start in enumerate(plan.block_starts):
        block_end = plan.block_end(k, params.retrain_interval)
        cutoff = block_start - horizon - 1
        n_rows = int(np.searchsorted(row_session, cutoff, side="right"))
        fit_started = time.perf_counter()
        predict, artifact = _fit_and_save(
            params, features.names, x_all[:n_rows], y_all[:n_rows], models_dir / f"model_{k:03d}"
        )
        fit_seconds += time.perf_counter() - fit_started

        block_mask = complete[block_start : block_end + 1]
        x_block = features.values[:, block_start : block_end + 1][:, block_mask].T
        block_scores = np.full(block_mask.shape, np.nan)
        if len(x_block):
            block_scores[block_mask] = predict(x_block)
        scores[block_start : block_end + 1] = block_scores

        last_row_session = int(row_session[n_rows - 1])
        windows.append(
            ModelWindow(
                model_index=k,
                train_first_date=sessions[int(row_session[0])].date(),
                train_last_date=sessions[last_row_session].date(),
                train_last_label_date=sessions[last_row_session + horizon].date(),
                first_scored_date=sessions[block_start].date(),
                last_scored_date=sessions[block_end].date(),
                n_train_rows=n_rows,
                artifact=str(artifact.relative_to(out_dir)),
            )
        )

    scored_slice = slice(plan.score_start, plan.score_end + 1)
    scores_in_period = scores[scored_slice]
    day_index, symbol_index = np.nonzero(np.isfinite(scores_in_period))
    iso_sessions = np.asarray(sessions[scored_slice].strftime("%Y-%m-%d"))
    universe = np.asarray(plan.universe, dtype=object)
    # np.nonzero walks row-major (date, then column), so sorting columns by symbol once
    # makes the file sorted by date then symbol.
    by_symbol = np.argsort(universe, kind="stable")
    rank_of_column = np.empty_like(by_symbol)
    rank_of_column[by_symbol] = np.arange(len(by_symbol))
    order = np.lexsort((rank_of_column[symbol_index], day_index))
    day_index, symbol_index = day_index[order], symbol_index[order]
    score_values = scores_in_period[day_index, symbol_index]
    scores_path = write_scores_csv(
        out_dir / SCORES_FILENAME,
        iso_sessions[day_index],
        universe[symbol_index],
        score_values,
    )

    realized = forward_return(close, horizon)[scored_slice]
    daily_ic = pd.Series(
        daily_spearman_ic(scores_in_period, realized), index=sessions[scored_slice], name="ic"
    ).dropna()
    tradable_cells = int(np.isfinite(close[scored_slice]).sum())
    metrics: dict[str, Any] = {
        "model": params.model,
        "feature_set": params.feature_set,
        "label_horizon": horizon,
        "score_start": sessions[plan.score_start].date().isoformat(),
        "score_end": sessions[plan.score_end].date().isoformat(),
        **summarize_ic(daily_ic),
        "coverage": len(score_values) / tradable_cells if tradable_cells else 0.0,
        "n_models": len(windows),
        "n_scored_days": int(np.isfinite(scores_in_period).any(axis=1).sum()),
        "n_scores": len(score_values),
        "n_universe": len(plan.universe),
        "train_seconds": round(fit_seconds, 3),
        "elapsed_seconds": round(time.perf_counter() - started, 3),
        "synthetic": data.synthetic,
    }
    _write_json(out_dir / METRICS_FILENAME, metrics)
    _write_json(models_dir / MANIFEST_FILENAME, [_window_json(w) for w in windows])

    scores_frame = pd.DataFrame(
        {
            "date": sessions[scored_slice][day_index],
            "symbol": universe[symbol_index],
            "score": score_values,
        }
    )
    return TrainOutput(
        scores_path=scores_path,
        models_dir=models_dir,
        metrics=metrics,
        windows=windows,
        scores=scores_frame,
        daily_ic=daily_ic,
    )


def _window_json(window: ModelWindow) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, date) else value
        for key, value in asdict(window).items()
    }


def _write_json(path: Path, document: Any) -> None:
    atomic_write(path, lambda handle: json.dump(document, handle, indent=2))
