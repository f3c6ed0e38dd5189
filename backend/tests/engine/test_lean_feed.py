"""LEAN's market hours and the points its result handler adds to the equity chart
(``app.engine.market_hours``, ``app.engine.lean_series``).

Golden numbers come from LEAN: the early closes of its market-hours database, and the
``DataPoints`` its regression files record (every data point a run's time slices carry), which
fix how many hourly benchmark bars LEAN keeps."""

from __future__ import annotations

import numpy as np
import pytest
from engine_testkit import LEAN_FIXTURE

from app.engine import lean_series as ls
from app.engine.lean import read_hourly_closes
from app.engine.market_hours import close_time_of_day, open_during_bar, session_close_times

HOURS = np.timedelta64(3600, "s")


def test_an_early_close_of_leans_market_hours_database_ends_the_session_at_13_00():
    # market-hours-database.json, Equity-usa-[*]: "12/26/2003": "13:00:00"; 12/29 is regular.
    days = np.array(["2003-12-26", "2003-12-29"], dtype="datetime64[D]")
    assert list(close_time_of_day(days) // HOURS) == [13, 16]
    assert str(session_close_times(days)[0]) == "2003-12-26T13:00:00"


@pytest.mark.parametrize(
    ("start", "open_during"),
    [
        ("2003-12-26T12:00", True),  # 12:00-13:00, before the early close
        ("2003-12-26T13:00", False),  # after it: LEAN drops the bar
        ("2003-12-29T09:00", True),  # holds the 09:30 open
        ("2003-12-29T15:00", True),
        ("2003-12-29T08:00", False),  # ends at 09:00, before the open
        ("2003-12-29T16:00", False),
    ],
)
def test_an_hourly_bar_reaches_lean_only_when_the_market_is_open_during_it(start, open_during):
    starts = np.array([start], dtype="datetime64[s]")
    assert open_during_bar(starts, starts + HOURS)[0] == open_during


@pytest.mark.parametrize(
    ("first", "last", "expected_bars"),
    [
        # DividendRegressionAlgorithm, DataPoints 16077 = 2012 daily SPY bars + 33 dividends
        # + 1 + the hourly benchmark bars of 1998-01-02..2005-12-30: 14031 (the file has 14061;
        # LEAN drops the 30 bars after the 15 early closes of those years).
        ("1998-01-02", "2005-12-30", 14031),
        # MarginRemainingRegressionAlgorithm, DataPoints 6800 = 756 SPY + 756 AAPL daily bars
        # + 12 dividends + 1 + the hourly bars from the session before the start (2006-12-29)
        # to 2009-12-31: 5275 (5287 in the file, 12 after early closes).
        ("2006-12-29", "2009-12-31", 5275),
    ],
)
def test_the_hourly_benchmark_bars_are_the_ones_lean_counts(first, last, expected_bars):
    hour_dir = LEAN_FIXTURE / "equity" / "usa" / "hour"
    ends, _ = read_hourly_closes(hour_dir, LEAN_FIXTURE / "equity" / "usa" / "factor_files")["SPY"]
    days = (ends - HOURS).astype("datetime64[D]")
    in_range = (days >= np.datetime64(first)) & (days <= np.datetime64(last))
    assert int(in_range.sum()) == expected_bars


def test_the_resample_period_is_the_run_over_4000_samples_and_at_least_4_minutes():
    # 1998-01-01 00:00 to 2006-01-01 23:59:59.9999999: 2923 days less a tick.
    long_run = ls.resample_period_seconds(np.datetime64("1998-01-01"), np.datetime64("2006-01-01"))
    assert long_run / 60 == pytest.approx(2923 * 1440 / 4000, abs=1e-6)
    # Ten days are under 4 minutes x 4000: the minimum applies.
    short_run = ls.resample_period_seconds(np.datetime64("2013-10-08"), np.datetime64("2013-10-17"))
    assert short_run == 240.0


def test_the_chart_is_sampled_at_the_first_slice_past_the_resample_period():
    day = np.datetime64("2005-01-10T00:00", "s")
    hourly = [day + np.timedelta64(h, "h") for h in range(10, 17)]
    next_day = [t + np.timedelta64(1, "D") for t in hourly]
    slices = np.array([day, *hourly, *next_day])
    period = 1052.28 * 60  # 17.5 hours
    sampled = ls.chart_sample_times(slices, period)
    # The start, then nothing until 17:32; the next day's 10:00 is the first slice past it.
    assert [str(t) for t in sampled] == ["2005-01-10T00:00:00", "2005-01-11T10:00:00"]
    # With LEAN's 4-minute minimum every hourly slice is a sample.
    assert len(ls.chart_sample_times(slices, 240.0)) == len(slices)


def test_equity_between_closes_holds_the_last_close_and_a_dividend_from_its_midnight():
    sessions = np.array(["2005-03-17", "2005-03-18"], dtype="datetime64[D]")
    closes = session_close_times(sessions)
    times = np.array(
        [
            "2005-03-17T10:00",  # before any close: the start equity
            "2005-03-17T16:00",
            "2005-03-18T00:00",  # ex-date midnight: the dividend cash is in
            "2005-03-18T10:00",
            "2005-03-18T16:00",
        ],
        dtype="datetime64[s]",
    )
    values = ls.equity_between_closes(
        times, sessions, closes, np.array([100.0, 110.0]), 90.0, np.array([0.0, 5.0])
    )
    assert list(values) == [90.0, 100.0, 105.0, 105.0, 110.0]


def test_a_chart_point_at_a_daily_sample_time_is_dropped():
    samples = ls.equity_samples(
        np.datetime64("2005-03-16"),
        np.array(["2005-03-16", "2005-03-17"], dtype="datetime64[D]"),
        np.array([100.0, 101.0]),
        100.0,
    )
    extra = np.array(["2005-03-17T00:00", "2005-03-17T10:00"], dtype="datetime64[s]")
    times, values = ls.merge_chart_points(samples, extra, np.array([999.0, 100.0]))
    assert [str(t) for t in times] == [
        "2005-03-16T00:00:00",
        "2005-03-17T00:00:00",
        "2005-03-17T10:00:00",
        "2005-03-17T16:00:00",
    ]
    assert list(values) == [100.0, 100.0, 100.0, 101.0]
