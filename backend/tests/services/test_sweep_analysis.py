"""Aligning a sweep's stored equity curves and the baseline's on the sweep's samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from app.models import BacktestRun, RunStatus
from app.services.sweep_analysis import aligned_equity, baseline_on_samples


def stored_run(
    tmp_path: Path, run_id: int, start: str, sessions: list[str], values: list[float]
) -> BacktestRun:
    """A completed run as the worker stores it: session closes in equity.csv, the start day
    in its parameters and the starting capital in its metrics."""
    directory = tmp_path / str(run_id)
    directory.mkdir()
    pd.Series(values, index=pd.to_datetime(sessions), name="equity").to_csv(
        directory / "equity.csv", index_label="date"
    )
    return BacktestRun(
        id=run_id,
        status=RunStatus.completed,
        params={"algorithm_parameters": {"backtest_start": start}},
        metrics={"start_equity": 100.0},
        artifact_dir=str(directory),
    )


SESSIONS = ["2020-01-02", "2020-01-03", "2020-01-06"]


def test_trials_get_the_start_sample_before_the_closes(tmp_path):
    a = stored_run(tmp_path, 1, "2020-01-02", SESSIONS, [101.0, 102.0, 103.0])
    b = stored_run(tmp_path, 2, "2020-01-02", SESSIONS, [99.0, 98.0, 97.0])
    missing = BacktestRun(id=3, status=RunStatus.completed, artifact_dir=str(tmp_path / "x"))
    runs, dates, equity, without, with_start = aligned_equity([a, b, missing])
    assert [r.id for r in runs] == [1, 2] and without == [3] and with_start
    assert dates.astype(str).tolist() == ["2020-01-02", *SESSIONS]
    np.testing.assert_array_equal(equity, [[100, 101, 102, 103], [100, 99, 98, 97]])


def test_baseline_on_the_sweep_samples(tmp_path):
    dates = np.array(["2020-01-02", *SESSIONS], dtype="datetime64[D]")
    same_start = stored_run(tmp_path, 10, "2020-01-02", SESSIONS, [110.0, 120.0, 130.0])
    values, reason = baseline_on_samples(same_start, dates, True)
    assert reason is None and values.tolist() == [100.0, 110.0, 120.0, 130.0]
    # An earlier baseline: the sweep's start sample (its start day, 00:00) is the baseline's
    # last close before that day.
    earlier = stored_run(
        tmp_path, 11, "2019-12-30", ["2019-12-30", "2019-12-31", *SESSIONS], [95, 97, 98, 99, 100]
    )
    values, reason = baseline_on_samples(earlier, dates, True)
    assert reason is None and values.tolist() == [97.0, 98.0, 99.0, 100.0]
    later = stored_run(tmp_path, 12, "2020-01-03", SESSIONS[1:], [101.0, 102.0])
    values, reason = baseline_on_samples(later, dates, True)
    assert values is None and "not all of the sweep's sessions" in reason


def test_runs_with_other_sessions_share_only_the_common_ones(tmp_path):
    # The third run lacks 2020-01-03 and the first two do not: only the sessions all of them
    # have are kept (an inner join), each run's closes on them, in run order.
    a = stored_run(tmp_path, 1, "2020-01-02", SESSIONS, [101.0, 102.0, 103.0])
    b = stored_run(tmp_path, 2, "2020-01-02", SESSIONS, [99.0, 98.0, 97.0])
    c = stored_run(tmp_path, 3, "2020-01-02", ["2020-01-02", "2020-01-06"], [110.0, 120.0])
    runs, dates, equity, without, with_start = aligned_equity([a, b, c])
    assert [r.id for r in runs] == [1, 2, 3] and without == [] and with_start
    assert dates.astype(str).tolist() == ["2020-01-02", "2020-01-02", "2020-01-06"]
    np.testing.assert_array_equal(equity, [[100, 101, 103], [100, 99, 97], [100, 110, 120]])


def test_runs_starting_on_other_days_have_no_start_sample(tmp_path):
    a = stored_run(tmp_path, 1, "2020-01-02", SESSIONS, [101.0, 102.0, 103.0])
    b = stored_run(tmp_path, 2, "2020-01-01", SESSIONS, [99.0, 98.0, 97.0])
    _, dates, equity, _, with_start = aligned_equity([a, b])
    assert not with_start and dates.astype(str).tolist() == SESSIONS
    np.testing.assert_array_equal(equity, [[101, 102, 103], [99, 98, 97]])
    assert equity.flags.c_contiguous
