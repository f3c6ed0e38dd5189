"""The series LEAN computes its statistics from (``Engine/Results/BaseResultsHandler.cs``,
``BacktestingResultHandler.cs``, ``Common/Statistics/StatisticsBuilder.cs``), as pure functions
over numpy arrays.

- Equity samples: the start date at 00:00 New York (start equity), every later calendar day
  at 00:00 up to the last session (weekends and holidays repeat the last close's value), and
  the last session's close (16:00, or its early close). Values rounded to 4 decimals.
- Equity chart: those samples plus the points the result handler adds every resample period
  at the time slices it steps through (:func:`chart_sample_times`). The risk-free average, the
  drawdown, the drawdown recovery and the CAGR's span read the chart.
- Performance: percent change between samples rounded to 10 decimals (as a fraction here);
  the statistics drop the first two values (the first is the start, the second the day before
  any fill), and the benchmark list is B[i+2] / B[i+1] - 1 (0 when B[i+1] is 0).
- Benchmark B: the last close at or before each sample time (hourly bars when the data has
  them, only those during market hours, else daily closes at the session close), 0 before the
  first bar, rounded to 7 significant digits.
- Risk-free rate: the mean over the chart's dates of the primary credit rate in force
  (LEAN ``InterestRateProvider``: forward-filled, the first rate before the first date).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from app.engine.statistics import SESSION_CLOSE


def compiled_loops():
    """:mod:`app.engine.statistics_loops`, imported when a run's statistics are first built
    (here and in :mod:`app.engine.performance`): the API server imports these modules
    through ``app.engine`` and must not load numba (about 60 MB); its analyses use the numpy
    definitions of :mod:`app.engine.statistics`."""
    from app.engine import statistics_loops

    return statistics_loops


DAY = np.timedelta64(1, "D")
PROJECT_INTEREST_RATE_FILE = Path(__file__).resolve().parent / "data" / "interest-rate.csv"


@dataclass(frozen=True)
class EquitySamples:
    times: np.ndarray  # datetime64[s], strictly increasing
    values: np.ndarray  # equity at each time, rounded to 4 decimals
    bar_of_sample: np.ndarray  # session row whose close the value reflects (-1: the start)


def equity_samples(
    start_date: np.datetime64,
    sessions: np.ndarray,
    close_equity: np.ndarray,
    start_equity: float,
    last_close: np.datetime64 | None = None,
) -> EquitySamples:
    """LEAN's daily equity samples (module docstring) from the equity at each session close.
    ``sessions`` are the window's session dates (datetime64), ``start_date`` <= the first;
    ``last_close`` the time of the last session's close (default 16:00 that day)."""
    times, bars = sample_times(start_date, sessions, last_close)
    return sampled_equity(times, bars, close_equity, start_equity)


def sample_times(
    start_date: np.datetime64, sessions: np.ndarray, last_close: np.datetime64 | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(times, bar_of_sample) of :func:`equity_samples`: they depend on the window only."""
    session_days = np.asarray(sessions).astype("datetime64[D]")
    start = np.datetime64(start_date, "D")
    midnights = np.arange(start + DAY, session_days[-1] + DAY, DAY)
    bar = np.searchsorted(session_days, midnights, side="left") - 1
    if last_close is None:
        last_close = session_days[-1].astype("datetime64[s]") + SESSION_CLOSE
    times = np.concatenate(
        (
            [start.astype("datetime64[s]")],
            midnights.astype("datetime64[s]"),
            [np.datetime64(last_close, "s")],
        )
    )
    bars = np.concatenate(([-1], bar, [len(session_days) - 1]))
    return times, bars


def sampled_equity(
    times: np.ndarray, bar_of_sample: np.ndarray, close_equity: np.ndarray, start_equity: float
) -> EquitySamples:
    """The :class:`EquitySamples` at ``times`` (:func:`sample_times`): the close equity of
    each sample's bar, the start equity before the first, rounded to 4 decimals."""
    values = compiled_loops().sample_values(
        np.asarray(bar_of_sample, dtype=np.int64),
        np.ascontiguousarray(close_equity, dtype=float),
        float(start_equity),
    )
    return EquitySamples(times, values, bar_of_sample)


def round_significant(values: np.ndarray, digits: int = 7) -> np.ndarray:
    """Each value rounded to ``digits`` significant digits (0 stays 0)."""
    values = np.asarray(values, dtype=float)
    out = np.zeros_like(values)
    nonzero = values != 0
    magnitude = np.floor(np.log10(np.abs(values[nonzero])))
    scale = 10.0 ** (digits - 1 - magnitude)
    out[nonzero] = np.round(values[nonzero] * scale) / scale
    return out


def benchmark_samples(
    sample_times: np.ndarray, bar_end_times: np.ndarray, bar_close: np.ndarray
) -> np.ndarray:
    """The last close at or before each sample time (0 before the first bar), 7 significant
    digits. ``bar_end_times`` ascending datetime64."""
    position = np.searchsorted(np.asarray(bar_end_times), sample_times, side="right") - 1
    values = np.where(position >= 0, np.asarray(bar_close)[np.maximum(position, 0)], 0.0)
    return round_significant(values)


def performance_returns(values: np.ndarray) -> np.ndarray:
    """LEAN's daily performance as fractions: round((E[k] - E[k-1]) * 100 / E[k-1], 10) / 100
    for k >= 1 (0 when E[k-1] is 0)."""
    return compiled_loops().performance_fractions(np.ascontiguousarray(values, dtype=float))


def benchmark_returns(benchmark: np.ndarray) -> np.ndarray:
    """B[k] / B[k-1] - 1 for k >= 1, 0 where B[k-1] is 0."""
    benchmark = np.asarray(benchmark, dtype=float)
    previous = benchmark[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(previous != 0, benchmark[1:] / np.where(previous != 0, previous, 1) - 1, 0)


def statistics_lists(
    equity: np.ndarray, benchmark: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The performance and benchmark lists the statistics use: the returns from the second
    sample on (LEAN drops the first two performance values; the first one is the start)."""
    performance = performance_returns(equity)[1:]
    if benchmark is None:
        return performance, None
    return performance, benchmark_returns(benchmark)[1:]


def read_interest_rates(path: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(dates, rates as fractions) of a LEAN interest-rate CSV (``DATE,PCREDIT8`` in percent);
    the project's copy by default."""
    frame = pd.read_csv(path or PROJECT_INTEREST_RATE_FILE)
    dates = pd.to_datetime(frame.iloc[:, 0]).to_numpy().astype("datetime64[D]")
    order = np.argsort(dates, kind="stable")
    return dates[order], frame.iloc[:, 1].to_numpy(dtype=float)[order] / 100.0


def mean_risk_free_rate(sample_times: np.ndarray, rates: tuple[np.ndarray, np.ndarray]) -> float:
    """Mean over the samples' dates of the rate in force on each (forward-filled; the first
    rate before the first date)."""
    dates, values = rates
    days = np.asarray(sample_times).astype("datetime64[D]")
    position = np.maximum(np.searchsorted(dates, days, side="right") - 1, 0)
    return float(np.mean(values[position]))


def turnover_per_sample(samples: EquitySamples, traded_value: np.ndarray) -> np.ndarray:
    """For each sample after the first: value traded since the previous sample / equity at
    the sample. A session's fills (at its open or close) land in the first sample after them:
    the next midnight, or the final close sample for the last session."""
    # The bars of the samples never decrease: the first sample reflecting session r's close is
    # the midnight after r (or the final sample for the last session).
    return compiled_loops().turnover_fractions(
        np.asarray(samples.bar_of_sample, dtype=np.int64),
        np.ascontiguousarray(samples.values, dtype=float),
        np.ascontiguousarray(traded_value, dtype=float),
    )


def drawdown_recovery_days(values: np.ndarray, times: np.ndarray) -> int:
    """Longest recovery over the drawdowns that recovered, in days rounded up: from the first
    sample below a peak to the first sample back at or above it (0 if none). Matches LEAN's
    printed "Drawdown Recovery" on its regression cases (1, 126 and 3 days).

    A sample is at a peak when it is >= every earlier one (NaN never is, nor moves the peak);
    a drawdown is a run of samples below the peak, recovered by the next sample at one:
    days = ceil((t[recovery] - t[first below]) / 86400 s), the longest such."""
    seconds = np.asarray(times, dtype="datetime64[s]").view(np.int64)
    values = np.ascontiguousarray(values, dtype=float)
    return int(compiled_loops().longest_recovery_days(values, seconds))


# LEAN's BacktestingResultHandler also samples the "Strategy Equity" chart between the daily
# samples: at a time slice whose UTC time is past the previous chart sample by more than the
# resample period, (end date's last tick - start date) / 4000, at least 4 minutes. The
# statistics read that chart, so these points count in the risk-free average, the drawdown and
# the drawdown recovery (not in the performance and benchmark lists, a separate daily series).
CHART_SAMPLES = 4000
MINIMUM_RESAMPLE_MINUTES = 4.0
EXCHANGE_TIME_ZONE = "America/New_York"


def resample_period_seconds(start_date: np.datetime64, end_date: np.datetime64) -> float:
    """LEAN's resample period in seconds: the minutes from the start date's midnight to the
    end date's last tick (23:59:59.9999999) over 4000 samples, at least 4 minutes."""
    days = (np.datetime64(end_date, "D") - np.datetime64(start_date, "D")) / DAY + 1
    total_minutes = days * 1440.0 - 1e-7 / 60.0
    if total_minutes < MINIMUM_RESAMPLE_MINUTES * CHART_SAMPLES:
        return MINIMUM_RESAMPLE_MINUTES * 60.0
    return total_minutes / CHART_SAMPLES * 60.0


def lean_slice_times(
    start_date: np.datetime64,
    end_date: np.datetime64,
    session_closes: np.ndarray,
    benchmark_bar_ends: np.ndarray | None,
    event_days: np.ndarray,
) -> np.ndarray:
    """The New York times of the time slices a LEAN daily-resolution backtest steps through
    (datetime64[s], sorted, unique): its start, each session's close (the daily bars), the
    benchmark feed's bar ends inside the run, and midnight of each day with a dividend, split
    or split warning of a traded security (LEAN's auxiliary data)."""
    start = np.datetime64(start_date, "D").astype("datetime64[s]")
    stop = (np.datetime64(end_date, "D") + DAY).astype("datetime64[s]")
    parts = [
        np.array([start]),
        np.asarray(session_closes).astype("datetime64[s]"),
        np.asarray(event_days).astype("datetime64[D]").astype("datetime64[s]"),
    ]
    if benchmark_bar_ends is not None:
        ends = np.asarray(benchmark_bar_ends)  # ascending: cut the run's stretch first
        first, last = np.searchsorted(ends, np.array([start, stop]).astype(ends.dtype), "right")
        parts.append(ends[first:last].astype("datetime64[s]"))
    times = np.sort(np.concatenate(parts))
    times = times[(times >= start) & (times < stop)]
    return times[np.concatenate(([True], times[1:] != times[:-1]))]


def chart_sample_times(slice_times: np.ndarray, period_seconds: float) -> np.ndarray:
    """The slices (New York times) at which LEAN samples the equity chart: the first slice,
    then each first slice whose UTC time exceeds the previous sample's by the period."""
    local = pd.DatetimeIndex(np.asarray(slice_times).astype("datetime64[ns]"))
    utc_seconds = (
        local.tz_localize(EXCHANGE_TIME_ZONE, ambiguous=False, nonexistent="shift_forward").asi8
        / 1e9
    )
    # following[i]: the first slice a sample at slice i lets through; then walk the chain.
    following = np.searchsorted(utc_seconds, utc_seconds + period_seconds, side="right").tolist()
    chosen = []
    position = 0
    while position < len(following):
        chosen.append(position)
        position = following[position]
    return np.asarray(slice_times)[chosen]


def equity_between_closes(
    times: np.ndarray,
    session_days: np.ndarray,
    session_closes: np.ndarray,
    close_equity: np.ndarray,
    start_equity: float,
    dividend_cash: np.ndarray | None,
) -> np.ndarray:
    """Portfolio value at arbitrary times of a daily-bar run, rounded to 4 decimals: the last
    session close's equity (start equity before the first), plus the dividend cash a raw-mode
    position receives at midnight of the next session, the ex-date, before that close."""
    times = np.asarray(times).astype("datetime64[s]")
    last = np.searchsorted(np.asarray(session_closes).astype("datetime64[s]"), times, "right") - 1
    values = np.where(last >= 0, np.asarray(close_equity)[np.maximum(last, 0)], start_equity)
    if dividend_cash is not None:
        following = last + 1
        valid = following < len(session_days)
        following = np.where(valid, following, 0)
        midnight = np.asarray(session_days).astype("datetime64[D]").astype("datetime64[s]")
        paid = valid & (midnight[following] <= times)
        values = values + np.where(paid, np.asarray(dividend_cash)[following], 0.0)
    return np.round(values.astype(float), 4)


def merge_chart_points(
    samples: EquitySamples, times: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The equity chart: the daily samples and the extra chart points, by time; a point at a
    time the chart already has is dropped (LEAN keeps a point only when it is later)."""
    times = np.asarray(times).astype("datetime64[s]")
    position = np.minimum(np.searchsorted(samples.times, times), len(samples.times) - 1)
    extra = samples.times[position] != times
    all_times = np.concatenate((samples.times, times[extra]))
    all_values = np.concatenate((samples.values, np.asarray(values, dtype=float)[extra]))
    order = np.argsort(all_times, kind="stable")
    return all_times[order], all_values[order]
