"""Reader for a LEAN data folder (``equity/usa/daily`` + ``factor_files``).

Daily zips hold one CSV of ``yyyyMMdd 00:00,open,high,low,close,volume`` with prices in
deci-cents (x 10000) and *raw* (unadjusted) prices. A factor file has rows
``yyyyMMdd,price_factor,split_factor,reference_price``; following LEAN's FactorFile, the
factor for a bar dated d comes from the first row whose date is >= d (a row dated the day
before an ex-date covers everything up to that day), and the adjusted price is
``raw * price_factor * split_factor``. Between consecutive rows k and k+1 a change in
price_factor is a cash dividend paid on the first session after row k's date,
``reference_price_k * (1 - price_factor_k / price_factor_{k+1})``, rounded to cents; a change in
split_factor is a split with ``split_factor_{k+1} / split_factor_k`` new shares per old.
A map file ``map_files/<ticker>.csv`` (rows ``yyyyMMdd,ticker,exchange``) names the security by
its current ticker (the last row) and says which zip holds each stretch of its history: the
first row's date is the listing date, row k's ticker covers the dates after row k-1's date up to
row k's date. A zip whose name only appears
as an old ticker in another map file is not a security of its own. ``equity/usa/hour/*.zip``
(LEAN's hourly benchmark feed) and ``alternative/interest-rate/usa/interest-rate.csv`` are read
when present.
"""

from __future__ import annotations

import io
import itertools
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from app.engine.calendar import xnys_sessions
from app.engine.errors import BacktestInputError
from app.engine.lean_series import read_interest_rates
from app.engine.market import MarketData
from app.engine.market_hours import open_during_bar

LEAN_PRICE_SCALE = 10000.0


def _daily_dir(root: Path) -> Path:
    for candidate in (root / "equity" / "usa" / "daily", root / "daily", root):
        if candidate.is_dir() and any(candidate.glob("*.zip")):
            return candidate
    raise BacktestInputError(
        f"no LEAN daily equity zips under {root} (expected equity/usa/daily/*.zip)"
    )


def read_daily_zip(path: Path) -> pd.DataFrame:
    """Raw bars of one LEAN daily zip: index = session date, columns open..volume (dollars)."""
    with zipfile.ZipFile(path) as archive:
        name = archive.namelist()[0]
        text = archive.read(name).decode()
    frame = pd.read_csv(
        io.StringIO(text), header=None, names=["time", "open", "high", "low", "close", "volume"]
    )
    frame.index = pd.to_datetime(frame["time"].str.slice(0, 8), format="%Y%m%d")
    frame = frame.drop(columns="time")
    frame[["open", "high", "low", "close"]] /= LEAN_PRICE_SCALE
    return frame.astype(float)


def read_factor_file(path: Path) -> pd.DataFrame:
    """Factor rows sorted by date: columns date, price_factor, split_factor, reference_price."""
    frame = pd.read_csv(
        path, header=None, names=["date", "price_factor", "split_factor", "reference_price"]
    )
    frame["date"] = pd.to_datetime(frame["date"].astype(str), format="%Y%m%d")
    return frame.sort_values("date").reset_index(drop=True)


def factor_for_dates(factors: pd.DataFrame, dates: pd.DatetimeIndex) -> np.ndarray:
    """price_factor * split_factor of the first factor row dated >= each date (1 beyond the
    last row), per LEAN's FactorFile lookup."""
    combined = (factors["price_factor"] * factors["split_factor"]).to_numpy()
    position = np.searchsorted(factors["date"].to_numpy(), dates.to_numpy(), side="left")
    padded = np.append(combined, 1.0)
    return padded[position]


def corporate_actions(
    factors: pd.DataFrame, sessions: pd.DatetimeIndex, raw_close: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Dividends (cash per share) and split ratios (new shares per old) on their ex-dates."""
    dividends = np.zeros(len(sessions))
    splits = np.ones(len(sessions))
    rows = factors.to_dict("records")
    for current, following in itertools.pairwise(rows):
        ex_position = sessions.searchsorted(current["date"], side="right")
        if ex_position >= len(sessions):
            continue
        if following["split_factor"] != current["split_factor"]:
            # LEAN's split factor is old / new (0.0357143 / 0.25); shares are divided by it.
            splits[ex_position] *= 1.0 / (current["split_factor"] / following["split_factor"])
        if following["price_factor"] != current["price_factor"]:
            reference = current["reference_price"]
            if not reference > 1.0 and ex_position > 0:
                reference = raw_close[ex_position - 1]
            ratio = current["price_factor"] / following["price_factor"]
            dividends[ex_position] += round(reference * (1.0 - ratio), 2)
    return dividends, splits


def read_map_file(path: Path) -> list[tuple[pd.Timestamp, str]]:
    """(last date, ticker) rows of a LEAN map file, sorted by date."""
    frame = pd.read_csv(path, header=None, usecols=[0, 1], names=["date", "ticker"])
    dates = pd.to_datetime(frame["date"].astype(str), format="%Y%m%d")
    rows = sorted(zip(dates, frame["ticker"].astype(str).str.lower(), strict=True))
    return rows


def security_bars(daily_dir: Path, ticker: str, map_rows: list | None) -> pd.DataFrame | None:
    """Raw daily bars of one security: the zip of each map-file stretch, or ``ticker.zip``."""
    if not map_rows:
        path = daily_dir / f"{ticker}.zip"
        return read_daily_zip(path) if path.is_file() else None
    pieces = []
    # The first row is the listing date: earlier bars in the zip belong to another security
    # that once used the ticker (e.g. aaa.zip's 2002-2007 bars are the delisted AAA.1).
    previous = map_rows[0][0] - pd.Timedelta(days=1)
    for last_date, old_ticker in map_rows:
        path = daily_dir / f"{old_ticker}.zip"
        if path.is_file():
            frame = read_daily_zip(path)
            pieces.append(frame.loc[(frame.index > previous) & (frame.index <= last_date)])
        previous = last_date
    pieces = [piece for piece in pieces if len(piece)]
    return pd.concat(pieces) if pieces else None


def read_hourly_closes(
    hour_dir: Path, factor_dir: Path
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """symbol -> (bar end times, adjusted closes) of each ``hour/*.zip`` (bars stamped with
    their start time, one hour long). Only the bars during which the market is open reach a
    LEAN algorithm (:func:`app.engine.market_hours.open_during_bar`): after an early close
    the benchmark keeps the last bar before it, not the late prints the file carries."""
    closes = {}
    for path in sorted(hour_dir.glob("*.zip")) if hour_dir.is_dir() else []:
        with zipfile.ZipFile(path) as archive:
            text = archive.read(archive.namelist()[0]).decode()
        frame = pd.read_csv(io.StringIO(text), header=None, usecols=[0, 4], names=["time", "close"])
        starts = pd.to_datetime(frame["time"], format="%Y%m%d %H:%M")
        close = frame["close"].to_numpy(dtype=float) / LEAN_PRICE_SCALE
        factor_path = factor_dir / f"{path.stem.lower()}.csv"
        if factor_path.is_file():
            close = close * factor_for_dates(
                read_factor_file(factor_path), pd.DatetimeIndex(starts.dt.normalize())
            )
        start_times = starts.to_numpy().astype("datetime64[s]")
        ends = start_times + np.timedelta64(3600, "s")
        kept = open_during_bar(start_times, ends)
        closes[path.stem.upper()] = (ends[kept], close[kept])
    return closes


def read_lean_folder(root: str | Path) -> MarketData:
    """All daily equities of a LEAN data folder as one panel on XNYS sessions."""
    root = Path(root)
    daily_dir = _daily_dir(root)
    factor_dir = daily_dir.parent / "factor_files"
    map_dir = daily_dir.parent / "map_files"
    map_rows = {
        path.stem.lower(): read_map_file(path)
        for path in (sorted(map_dir.glob("*.csv")) if map_dir.is_dir() else [])
    }
    renamed_from = {
        ticker for name, rows in map_rows.items() for _, ticker in rows if ticker != name
    }
    tickers = {path.stem.lower() for path in daily_dir.glob("*.zip")} - renamed_from
    tickers |= {name for name in map_rows if name not in tickers}
    bars = {}
    for ticker in sorted(tickers):
        frame = security_bars(daily_dir, ticker, map_rows.get(ticker))
        if frame is not None and len(frame):
            bars[ticker.upper()] = frame
    if not bars:
        raise BacktestInputError(f"no LEAN daily equity bars under {root}")
    first = min(frame.index.min() for frame in bars.values())
    last = max(frame.index.max() for frame in bars.values())
    sessions = xnys_sessions(first, last)
    symbols = tuple(bars)
    shape = (len(sessions), len(symbols))
    arrays = {
        name: np.full(shape, np.nan)
        for name in ("open", "high", "low", "close", "raw_open", "raw_close")
    }
    volume = np.zeros(shape)
    dividends = np.zeros(shape)
    splits = np.ones(shape)
    dropped_bars = 0
    for column, symbol in enumerate(symbols):
        frame = bars[symbol]
        rows = sessions.get_indexer(frame.index)
        keep = rows >= 0
        dropped_bars += int((~keep).sum())
        rows = rows[keep]
        frame = frame.iloc[keep]
        raw_close_full = np.full(len(sessions), np.nan)
        raw_close_full[rows] = frame["close"].to_numpy()
        factor_path = factor_dir / f"{symbol.lower()}.csv"
        if factor_path.is_file():
            factors = read_factor_file(factor_path)
            factor = factor_for_dates(factors, frame.index)
            dividends[:, column], splits[:, column] = corporate_actions(
                factors, sessions, raw_close_full
            )
            split_only = factors["split_factor"].to_numpy()
            split_position = np.searchsorted(factors["date"].to_numpy(), frame.index.to_numpy())
            volume_scale = np.append(split_only, 1.0)[split_position]
        else:
            factor = np.ones(len(frame))
            volume_scale = np.ones(len(frame))
        for name in ("open", "high", "low", "close"):
            arrays[name][rows, column] = frame[name].to_numpy() * factor
        arrays["raw_open"][rows, column] = frame["open"].to_numpy()
        arrays["raw_close"][rows, column] = frame["close"].to_numpy()
        volume[rows, column] = frame["volume"].to_numpy() / volume_scale
    license_note = "LEAN sample data, Apache-2.0 (QuantConnect)"
    rate_file = root / "alternative" / "interest-rate" / "usa" / "interest-rate.csv"
    return MarketData(
        hourly_close=read_hourly_closes(daily_dir.parent / "hour", factor_dir),
        interest_rates=read_interest_rates(rate_file) if rate_file.is_file() else None,
        sessions=sessions,
        symbols=symbols,
        volume=volume,
        dividends=dividends,
        split_factor=splits,
        provenance={
            "source": "lean",
            "synthetic": False,
            "path": str(root),
            "description": f"LEAN daily equity folder {root} ({license_note})",
            "bars_off_calendar": dropped_bars,
        },
        **arrays,
    )
