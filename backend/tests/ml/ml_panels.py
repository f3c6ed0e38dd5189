"""Small synthetic market panels with a planted, known signal (labelled synthetic)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from app.engine.market import MarketData

ETFS = ("SPY", "SHY", "TLT")


def make_planted_panel(
    n_sessions: int = 620, n_stocks: int = 60, seed: int = 7, start: str = "2018-01-02"
) -> MarketData:
    """Geometric random walks where stock ``j`` has a persistent daily drift ``drift[j]``
    (sd 0.1 %/day) under 1.5 %/day idiosyncratic noise: past returns estimate the drift, so
    momentum features predict forward returns. One stock lists late and one delists early
    (NaN prices), and three ETFs ride along that the default universe must skip."""
    rng = np.random.default_rng(seed)
    sessions = pd.bdate_range(start, periods=n_sessions)
    symbols = tuple(f"S{j:03d}" for j in range(n_stocks)) + ETFS
    n_symbols = len(symbols)
    drift = np.concatenate([rng.normal(0.0, 0.001, n_stocks), np.full(len(ETFS), 0.0002)])
    market = rng.normal(0.0002, 0.008, (n_sessions, 1))
    log_returns = drift + market + rng.normal(0.0, 0.015, (n_sessions, n_symbols))
    close = 50.0 * np.exp(np.cumsum(log_returns, axis=0))
    close[:300, 1] = np.nan  # lists late
    close[-150:, 2] = np.nan  # delists
    open_ = close * np.exp(rng.normal(0.0, 0.003, close.shape))
    high = np.fmax(open_, close) * 1.005
    low = np.fmin(open_, close) * 0.995
    volume = np.where(np.isfinite(close), rng.lognormal(13.0, 0.5, close.shape), np.nan)
    return MarketData(
        sessions=sessions,
        symbols=symbols,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=volume,
        provenance={
            "source": "test",
            "synthetic": True,
            "description": "planted-drift random walks for ML tests",
        },
    )
