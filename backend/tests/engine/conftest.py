from __future__ import annotations

from pathlib import Path

import pytest

from app.engine import second_thread
from app.engine.market import MarketData
from app.engine.synth import generate_synthetic_market, momentum_scores


@pytest.fixture(autouse=True)
def with_the_second_thread(monkeypatch):
    """The engine as a lone backtest runs it, with its second thread: a worker run in this
    process by an earlier test (thread mode) turned it off for the process."""
    monkeypatch.setattr(second_thread, "_one_thread", False)


@pytest.fixture(scope="session")
def small_synth() -> MarketData:
    return generate_synthetic_market(seed=3, n_stocks=40)


@pytest.fixture(scope="session")
def small_scores_path(small_synth, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scores") / "scores.csv"
    momentum_scores(small_synth, lookback=63).to_csv(path, index=False)
    return path
