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
The parameters and the plan live in :mod:`app.ml.train_plan` (re-exported here).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from app.engine.market import MarketData
from app.ml.evaluation import daily_spearman_ic, summarize_ic
from app.ml.features import compute_features, forward_return, rank_label
from app.ml.files import atomic_write, write_scores_csv
from app.ml.train_plan import (
    DEFAULT_EXCLUDED_SYMBOLS,
    MIN_UNIVERSE_SIZE,
    LightGBMParams,
    RidgeParams,
    TrainInputError,
    TrainParams,
    WalkForwardPlan,
    plan_walk_forward,
)

SCORES_FILENAME = "scores.csv"
MODELS_DIRNAME = "models"
METRICS_FILENAME = "metrics.json"
MANIFEST_FILENAME = "manifest.json"


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


__all__ = [
    "DEFAULT_EXCLUDED_SYMBOLS",
    "MIN_UNIVERSE_SIZE",
    "LightGBMParams",
    "ModelWindow",
    "RidgeParams",
    "TrainInputError",
    "TrainOutput",
    "TrainParams",
    "WalkForwardPlan",
    "fit_ridge",
    "plan_walk_forward",
    "predict_ridge",
    "train_walk_forward",
]
