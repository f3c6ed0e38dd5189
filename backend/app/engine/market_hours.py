"""US equity market hours as LEAN's market-hours database has them (``Equity-usa-[*]``):
regular sessions 09:30-16:00 New York, and the early closes of
``data/equity-usa-early-closes.csv`` (LEAN ``Data/market-hours/market-hours-database.json``,
Apache-2.0, see ``data/NOTICE``).

LEAN uses these hours where the statistics see them: a session's daily bar ends at its close
(13:00 on an early close, ``DailyPreciseEndTime``), and an intraday bar reaches the algorithm
only when the exchange is open during it (``SubscriptionFilterEnumerator``,
``SecurityExchange.IsOpenDuringBar``), so the hourly benchmark feed loses its bars after an
early close.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

EARLY_CLOSE_FILE = Path(__file__).resolve().parent / "data" / "equity-usa-early-closes.csv"
MARKET_OPEN = np.timedelta64(9 * 3600 + 30 * 60, "s")
MARKET_CLOSE = np.timedelta64(16 * 3600, "s")


@cache
def early_closes() -> tuple[np.ndarray, np.ndarray]:
    """(dates as datetime64[D], close time of day as timedelta64[s]) of the early closes,
    sorted by date."""
    frame = pd.read_csv(EARLY_CLOSE_FILE)
    dates = pd.to_datetime(frame["date"]).to_numpy().astype("datetime64[D]")
    times = pd.to_timedelta(frame["close"] + ":00").to_numpy().astype("timedelta64[s]")
    order = np.argsort(dates)
    return dates[order], times[order]


def close_time_of_day(days: np.ndarray) -> np.ndarray:
    """The market close of each date (datetime64[D]) as a time of day: 16:00, or the early
    close on the dates that have one."""
    days = np.asarray(days).astype("datetime64[D]")
    dates, times = early_closes()
    position = np.clip(np.searchsorted(dates, days), 0, len(dates) - 1)
    early = dates[position] == days
    return np.where(early, times[position], MARKET_CLOSE)


def session_close_times(days: np.ndarray) -> np.ndarray:
    """datetime64[s] of each session's close (its daily bar's end in LEAN)."""
    days = np.asarray(days).astype("datetime64[D]")
    return days.astype("datetime64[s]") + close_time_of_day(days)


def open_during_bar(bar_starts: np.ndarray, bar_ends: np.ndarray) -> np.ndarray:
    """Whether the regular market is open at some time in [start, end) of each bar (LEAN's
    ``IsOpenDuringBar`` without extended hours): start < that day's close and end > its open."""
    starts = np.asarray(bar_starts).astype("datetime64[s]")
    ends = np.asarray(bar_ends).astype("datetime64[s]")
    days = starts.astype("datetime64[D]")
    midnight = days.astype("datetime64[s]")
    return (starts < midnight + close_time_of_day(days)) & (ends > midnight + MARKET_OPEN)
