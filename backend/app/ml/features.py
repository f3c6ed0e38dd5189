"""Cross-sectional features and labels from a daily price panel.

Every function works on ``(n_sessions, n_symbols)`` float arrays of adjusted closes (or
volumes), NaN where a symbol does not trade. A value dated session ``t`` uses only rows
``<= t`` (features) or exactly rows ``t`` and ``t + horizon`` (forward returns and labels),
so a feature dated ``t`` is known at ``t``'s close and a label dated ``t`` at the close of
``t + horizon``.

Features are cross-sectionally ranked per session (:func:`cross_sectional_pct_rank`): the
models only see where a stock stands among its peers that day, which removes market-wide
moves and makes the inputs stationary across regimes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd


def cross_sectional_pct_rank(values: np.ndarray) -> np.ndarray:
    """Percentile rank of each row's finite values, in ``[0, 1]``.

    Per row: ``(r - 1) / (n - 1)`` where ``r`` is the 1-based rank among the row's ``n``
    finite values, ties getting their average rank; the smallest value maps to 0, the
    largest to 1. A row with a single finite value maps it to 0.5. Non-finite inputs
    (NaN, ±inf) stay NaN.
    """
    finite = np.where(np.isfinite(values), values, np.nan)
    ranks = pd.DataFrame(finite).rank(axis=1, method="average").to_numpy()
    n_finite = np.isfinite(finite).sum(axis=1, keepdims=True).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = (ranks - 1.0) / (n_finite - 1.0)
    single = (n_finite == 1.0) & np.isfinite(ranks)
    return np.where(single, 0.5, pct)


def trailing_return(close: np.ndarray, sessions: int) -> np.ndarray:
    """Simple return over the last ``sessions`` rows: ``close[t] / close[t - sessions] - 1``.

    NaN for the first ``sessions`` rows and wherever either end is missing.
    """
    out = np.full(close.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[sessions:] = close[sessions:] / close[:-sessions] - 1.0
    return out


def lagged_return(close: np.ndarray, start_lag: int, end_lag: int) -> np.ndarray:
    """Return from ``t - start_lag`` to ``t - end_lag``: ``close[t-end]/close[t-start] - 1``.

    ``start_lag > end_lag >= 0``; with ``(252, 21)`` this is the classic 12-1 momentum that
    skips the most recent month.
    """
    out = np.full(close.shape, np.nan)
    n = close.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        out[start_lag:] = close[start_lag - end_lag : n - end_lag] / close[: n - start_lag] - 1.0
    return out


def forward_return(close: np.ndarray, horizon: int) -> np.ndarray:
    """Return over the next ``horizon`` rows: ``close[t + horizon] / close[t] - 1``.

    NaN for the last ``horizon`` rows (not yet realised) and wherever either end is missing.
    """
    out = np.full(close.shape, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:-horizon] = close[horizon:] / close[:-horizon] - 1.0
    return out


def rolling_volatility(close: np.ndarray, sessions: int) -> np.ndarray:
    """Sample standard deviation (ddof=1) of daily log returns over the last ``sessions``
    returns, not annualised (ranked afterwards, so the scale does not matter).

    Requires all ``sessions`` returns in the window; NaN otherwise.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        log_close = np.log(close)
    daily = np.full(close.shape, np.nan)
    daily[1:] = log_close[1:] - log_close[:-1]
    rolling = pd.DataFrame(daily).rolling(sessions, min_periods=sessions)
    return rolling.std(ddof=1).to_numpy()


def distance_to_high(close: np.ndarray, sessions: int) -> np.ndarray:
    """``close[t] / max(close[t - sessions + 1 .. t]) - 1``: 0 at a new high, negative below.

    Requires ``sessions`` prices in the window; NaN otherwise.
    """
    rolling_high = pd.DataFrame(close).rolling(sessions, min_periods=sessions).max().to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return close / rolling_high - 1.0


def rolling_mean(values: np.ndarray, sessions: int) -> np.ndarray:
    """Mean over the last ``sessions`` rows; NaN unless all of them are present."""
    return pd.DataFrame(values).rolling(sessions, min_periods=sessions).mean().to_numpy()


def _momentum_v1(close: np.ndarray, volume: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "ret_5": trailing_return(close, 5),
        "ret_21": trailing_return(close, 21),
        "ret_63": trailing_return(close, 63),
        "ret_126": trailing_return(close, 126),
        "ret_252": trailing_return(close, 252),
        "mom_252_21": lagged_return(close, 252, 21),
        "vol_21": rolling_volatility(close, 21),
        "vol_63": rolling_volatility(close, 63),
        "dist_high_252": distance_to_high(close, 252),
        # Short-term reversal: yesterday's losers tend to bounce, so the sign is flipped to
        # make "high rank" mean "expected to do well" like the other features.
        "reversal_1": -trailing_return(close, 1),
    }


def _momentum_volume_v1(close: np.ndarray, volume: np.ndarray) -> dict[str, np.ndarray]:
    features = _momentum_v1(close, volume)
    with np.errstate(invalid="ignore", divide="ignore"):
        dollar_volume = close * volume
        features["log_dollar_volume_21"] = np.log(rolling_mean(dollar_volume, 21))
        features["volume_ratio_5_63"] = rolling_mean(volume, 5) / rolling_mean(volume, 63)
    return features


@dataclass(frozen=True)
class FeatureSet:
    """A named recipe: ``compute(close, volume) -> {feature name: raw values}``.

    ``lookback_sessions`` is how many sessions of history the slowest feature needs before
    its first value (the first row with every feature defined is row ``lookback_sessions``).
    """

    name: str
    lookback_sessions: int
    compute: Callable[[np.ndarray, np.ndarray], dict[str, np.ndarray]]
    description: str


FEATURE_SETS: dict[str, FeatureSet] = {
    "momentum_v1": FeatureSet(
        name="momentum_v1",
        lookback_sessions=252,
        compute=_momentum_v1,
        description="Returns over 5/21/63/126/252 sessions, 12-1 momentum, 21/63-session "
        "volatility, distance to the 252-session high, 1-day reversal; closes only.",
    ),
    "momentum_volume_v1": FeatureSet(
        name="momentum_volume_v1",
        lookback_sessions=252,
        compute=_momentum_volume_v1,
        description="momentum_v1 plus 21-session mean dollar volume (log) and the 5/63-session "
        "volume ratio; needs volumes.",
    ),
}


@dataclass(frozen=True)
class FeaturePanel:
    """Ranked features as ``values[k, t, j]`` = feature ``names[k]`` of symbol ``j`` on
    session ``t``, each a cross-sectional percentile rank in ``[0, 1]`` (float32), NaN where
    undefined."""

    names: tuple[str, ...]
    values: np.ndarray

    def complete_rows(self) -> np.ndarray:
        """``(n_sessions, n_symbols)`` mask of cells where every feature is defined."""
        return np.isfinite(self.values).all(axis=0)


def compute_features(close: np.ndarray, volume: np.ndarray, feature_set: str) -> FeaturePanel:
    """Compute and rank the features of ``feature_set`` (a key of :data:`FEATURE_SETS`)."""
    recipe = FEATURE_SETS[feature_set]
    raw = recipe.compute(close, volume)
    names = tuple(raw)
    values = np.empty((len(names), *close.shape), dtype=np.float32)
    for k, name in enumerate(names):
        values[k] = cross_sectional_pct_rank(raw[name])
    return FeaturePanel(names=names, values=values)


def rank_label(close: np.ndarray, horizon: int) -> np.ndarray:
    """Training label: cross-sectional percentile rank of :func:`forward_return`.

    The label dated ``t`` is known only at the close of ``t + horizon``.
    """
    return cross_sectional_pct_rank(forward_return(close, horizon))
