"""A worker process loads the market panel with only the fields its backtests read (no
high, low or volume; raw prices once a raw-mode run asks for them), and its runs give what a
run on the whole panel gives."""

from __future__ import annotations

import shutil

from app.engine import load_market_data, run_backtest, second_thread
from app.workers import tasks


def _job(small_market_dir, tmp_path, run_id: int, **params) -> dict:
    algorithm = {
        "strategy": "ml_score_vol_target",
        "score_csv_path": str(small_market_dir / "scores.csv"),
        "backtest_start": "2019-06-03",
        "backtest_end": "2021-12-31",
        "top_n": 10,
        **params,
    }
    return {
        "run_id": run_id,
        "algorithm_parameters": algorithm,
        "data_source": "parquet",
        "data_dir": str(small_market_dir),
        "artifacts_dir": str(tmp_path),
        "file_roots": None,
    }


def test_a_worker_holds_the_backtest_fields_and_adds_the_raw_prices_when_asked(
    small_market_dir, tmp_path, monkeypatch
):
    monkeypatch.setattr(second_thread, "_one_thread", False)  # restored after the test
    # A copy: this process's panel cache may already hold the shared store whole.
    small_market_dir = shutil.copytree(small_market_dir, tmp_path / "market")
    whole = load_market_data("parquet", small_market_dir)
    tasks.warm_up("parquet", str(small_market_dir))
    warm = tasks._market(_job(small_market_dir, tmp_path, 0), ("open", "close"))
    assert warm.high is None and warm.low is None and warm.volume is None
    assert warm.raw_close is None and warm.dividends is not None

    for run_id, normalization in enumerate(("adjusted", "raw", "adjusted"), start=1):
        job = _job(small_market_dir, tmp_path, run_id, data_normalization=normalization)
        outcome = tasks.execute_backtest(job)
        assert outcome["ok"], outcome
        expected = run_backtest(job["algorithm_parameters"], whole)
        assert outcome["metrics"]["statistics"] == dict(expected.statistics)
    # Workers run side by side, one per core: a backtest takes no second thread there.
    assert second_thread.second_thread() is None
    after_raw = tasks._market(_job(small_market_dir, tmp_path, 0), ("open", "close"))
    assert after_raw.raw_close is not None and after_raw.volume is None
