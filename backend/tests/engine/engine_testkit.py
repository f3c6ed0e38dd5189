"""Helpers for the engine tests (imported by name; the test dirs have no __init__.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from app.engine.market import MarketData

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LEAN_FIXTURE = FIXTURES / "lean"


def make_market(
    closes: dict[str, list[float]],
    opens: dict[str, list[float]] | None = None,
    start: str = "2021-01-04",
    **extra: np.ndarray,
) -> MarketData:
    """A hand-made panel on consecutive business days (the simulator needs no calendar)."""
    symbols = tuple(closes)
    close = np.column_stack([np.asarray(closes[s], dtype=float) for s in symbols])
    open_ = (
        np.column_stack([np.asarray(opens[s], dtype=float) for s in symbols])
        if opens
        else close.copy()
    )
    sessions = pd.bdate_range(start, periods=close.shape[0])
    return MarketData(
        sessions=sessions,
        symbols=symbols,
        open=open_,
        high=np.maximum(open_, close),
        low=np.minimum(open_, close),
        close=close,
        volume=np.full(close.shape, 1e6),
        raw_open=extra.get("raw_open", open_.copy()),
        raw_close=extra.get("raw_close", close.copy()),
        dividends=extra.get("dividends", np.zeros(close.shape)),
        split_factor=extra.get("split_factor", np.ones(close.shape)),
        provenance={"source": "test", "synthetic": True},
    )
