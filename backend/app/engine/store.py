"""Market data stores behind one interface (DESIGN §5).

Parquet directory layout (the default store, ``var/data``)::

    <dir>/bars.parquet    long table, one row per (session, symbol) bar, sorted by symbol then
                          session: session (date32), symbol (dictionary string), open, high,
                          low, close (adjusted, float64), volume (float64), raw_open,
                          raw_close (float64), dividend (cash per share on its ex-date),
                          split_factor (new shares per old share on the split date, else 1)
    <dir>/metadata.json   {"format": "stocklean-parquet", "version": 1, "calendar": "XNYS",
                           "provenance": {...}, "symbols": [...], "first_session",
                           "last_session", "sessions": n}

Loading scatters the long columns into dense ``(sessions, symbols)`` arrays with integer
indexing (no pivot), which keeps 500 symbols x 2270 sessions well under half a second.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from app.engine.calendar import xnys_sessions
from app.engine.errors import BacktestInputError
from app.engine.market import PANEL_FIELDS, MarketData
from app.memory import release_free_memory

BARS_FILE = "bars.parquet"
METADATA_FILE = "metadata.json"
STORE_FORMAT = "stocklean-parquet"
PRICE_FIELDS = ("open", "high", "low", "close")
SOURCES = ("parquet", "lean", "csv")


def write_parquet_store(data: MarketData, directory: str | Path) -> Path:
    """Write ``data`` as a Parquet store directory (layout in the module docstring)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    n_sessions = data.close.shape[0]
    present = ~np.isnan(data.close)
    # Column-major order gives rows sorted by symbol then session.
    row_index, col_index = np.nonzero(present.T)[::-1]
    raw_open = data.raw_open if data.raw_open is not None else data.open
    raw_close = data.raw_close if data.raw_close is not None else data.close
    dividends = data.dividends if data.dividends is not None else np.zeros_like(data.close)
    splits = data.split_factor if data.split_factor is not None else np.ones_like(data.close)
    session_days = data.sessions.values.astype("datetime64[D]")
    columns = {
        "session": pa.array(session_days[row_index]),
        "symbol": pa.DictionaryArray.from_arrays(
            pa.array(col_index.astype(np.int32)), pa.array(list(data.symbols))
        ),
    }
    for name, array in (
        ("open", data.open),
        ("high", data.high),
        ("low", data.low),
        ("close", data.close),
        ("volume", data.volume),
        ("raw_open", raw_open),
        ("raw_close", raw_close),
        ("dividend", dividends),
        ("split_factor", splits),
    ):
        columns[name] = pa.array(np.asarray(array, dtype=np.float64)[row_index, col_index])
    pq.write_table(pa.table(columns), directory / BARS_FILE, compression="zstd")
    metadata = {
        "format": STORE_FORMAT,
        "version": 1,
        "calendar": "XNYS",
        "provenance": data.provenance,
        "symbols": list(data.symbols),
        "first_session": data.sessions[0].date().isoformat() if n_sessions else None,
        "last_session": data.sessions[-1].date().isoformat() if n_sessions else None,
        "sessions": int(n_sessions),
    }
    (directory / METADATA_FILE).write_text(json.dumps(metadata, indent=2) + "\n")
    return directory


def read_parquet_store(directory: str | Path, fields: tuple[str, ...] = PANEL_FIELDS) -> MarketData:
    """Load a Parquet store directory into a dense :class:`MarketData` panel; only the array
    ``fields`` (and ``open``, ``close``) are read, the others are None (:meth:`MarketData.only`)."""
    directory = Path(directory)
    bars_path = directory / BARS_FILE
    if not bars_path.is_file():
        raise BacktestInputError(
            f"no market data at {directory}: {BARS_FILE} is missing "
            "(create it with `stocklean data synth` or `stocklean data import-csv`)"
        )
    metadata_path = directory / METADATA_FILE
    metadata = json.loads(metadata_path.read_text()) if metadata_path.is_file() else {}
    bars = pq.ParquetFile(bars_path)
    # Read on this thread: with Arrow's reader threads ~13 MB of its allocator's pages stayed
    # resident after release_unused (the demo market), and reading took twice as long.
    keys = bars.read(columns=["symbol", "session"], use_threads=False)
    symbol_column = keys.column("symbol").combine_chunks()
    if isinstance(symbol_column, pa.DictionaryArray):
        symbols = [str(s) for s in symbol_column.dictionary.to_pylist()]
        col_index = symbol_column.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    else:
        symbols, col_index = np.unique(
            symbol_column.to_numpy(zero_copy_only=False), return_inverse=True
        )
        symbols = [str(s) for s in symbols]
    session_days = keys.column("session").to_numpy().astype("datetime64[D]")
    unique_days, row_index = np.unique(session_days, return_inverse=True)
    shape = (len(unique_days), len(symbols))
    keys = symbol_column = None

    def dense(name: str, column: str, fill: float) -> np.ndarray | None:
        if name not in (*fields, "open", "close"):
            return None
        # One column at a time, its Arrow buffers handed back before the next: a worker's
        # peak stays near the dense arrays themselves instead of arrays + whole table.
        out = np.full(shape, fill)
        values = bars.read(columns=[column], use_threads=False).column(0).to_numpy()
        out[row_index, col_index] = values
        release_free_memory()
        return out

    arrays = {
        name: dense(name, column, fill)
        for name, column, fill in (
            *((name, name, np.nan) for name in (*PRICE_FIELDS, "raw_open", "raw_close")),
            ("volume", "volume", 0.0),
            ("dividends", "dividend", 0.0),
            ("split_factor", "split_factor", 1.0),
        )
    }
    return MarketData(
        sessions=pd.DatetimeIndex(unique_days.astype("datetime64[ns]")),
        symbols=tuple(symbols),
        provenance=dict(metadata.get("provenance") or {"source": "parquet", "synthetic": False}),
        **arrays,
    )


CSV_COLUMNS = ("date", "symbol", "open", "high", "low", "close", "volume")


def _csv_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if files:
            return files
    raise BacktestInputError(f"no CSV files at {path}")


def read_csv_bars(path: str | Path) -> MarketData:
    """Read CSV file(s) with columns ``date,symbol,open,high,low,close,volume`` (one file or a
    directory of ``*.csv``). Prices are taken as already adjusted; raw prices equal them and
    there are no dividends or splits. Sessions are XNYS sessions between the first and last
    date; a bar dated on a non-session is refused."""
    path = Path(path)
    frames = []
    for file in _csv_files(path):
        frame = pd.read_csv(file)
        frame.columns = [str(c).strip().lower() for c in frame.columns]
        missing = [c for c in CSV_COLUMNS if c not in frame.columns]
        if missing:
            raise BacktestInputError(f"{file.name}: missing columns: {', '.join(missing)}")
        frames.append(frame[list(CSV_COLUMNS)])
    bars = pd.concat(frames, ignore_index=True)
    if bars.empty:
        raise BacktestInputError(f"no rows in the CSV data at {path}")
    dates = pd.to_datetime(bars["date"], errors="coerce")
    if dates.isna().any():
        bad = bars.loc[dates.isna(), "date"].astype(str).iloc[0]
        raise BacktestInputError(f"unreadable date in CSV data: {bad!r}")
    bars["date"] = dates.dt.normalize()
    bars["symbol"] = bars["symbol"].astype(str).str.strip().str.upper()
    for name in ("open", "high", "low", "close", "volume"):
        values = pd.to_numeric(bars[name], errors="coerce")
        if values.isna().any():
            raise BacktestInputError(f"non-numeric or missing {name} values in CSV data")
        bars[name] = values.astype(float)
    if (bars[list(PRICE_FIELDS)] <= 0).any().any():
        bad = bars.loc[(bars[list(PRICE_FIELDS)] <= 0).any(axis=1)].iloc[0]
        raise BacktestInputError(
            f"non-positive price in CSV data: {bad['symbol']} on {bad['date'].date()}"
        )
    duplicated = bars.duplicated(["date", "symbol"])
    if duplicated.any():
        bad = bars.loc[duplicated].iloc[0]
        raise BacktestInputError(
            f"duplicate bar in CSV data: {bad['symbol']} on {bad['date'].date()}"
        )
    sessions = xnys_sessions(bars["date"].min(), bars["date"].max())
    row_index = sessions.get_indexer(bars["date"])
    if (row_index < 0).any():
        bad = bars.loc[row_index < 0, "date"].iloc[0]
        raise BacktestInputError(
            f"CSV data has a bar on {bad.date()}, which is not an XNYS session"
        )
    symbols = tuple(sorted(bars["symbol"].unique()))
    col_index = pd.Index(symbols).get_indexer(bars["symbol"])
    shape = (len(sessions), len(symbols))

    def dense(name: str, fill: float) -> np.ndarray:
        out = np.full(shape, fill)
        out[row_index, col_index] = bars[name].to_numpy()
        return out

    prices = {name: dense(name, np.nan) for name in PRICE_FIELDS}
    return MarketData(
        sessions=sessions,
        symbols=symbols,
        volume=dense("volume", 0.0),
        raw_open=prices["open"].copy(),
        raw_close=prices["close"].copy(),
        dividends=np.zeros(shape),
        split_factor=np.ones(shape),
        provenance={
            "source": "csv",
            "synthetic": False,
            "description": f"CSV bars imported from {path}",
        },
        **prices,
    )


def load_market_data(
    source: str, path: str | Path, fields: tuple[str, ...] = PANEL_FIELDS
) -> MarketData:
    """Load a market panel. ``source`` is ``"parquet"`` (a store directory), ``"lean"`` (a
    LEAN data folder) or ``"csv"`` (a CSV file or directory); array fields not in ``fields``
    are None (:meth:`MarketData.only`)."""
    path = Path(path)
    if source == "parquet":
        return read_parquet_store(path, fields)
    if source == "lean":
        from app.engine.lean import read_lean_folder

        return read_lean_folder(path).only(fields)
    if source == "csv":
        return read_csv_bars(path).only(fields)
    raise BacktestInputError(
        f"unknown data source {source!r} (expected one of {', '.join(SOURCES)})"
    )


def _fingerprint(path: Path) -> tuple[Any, ...]:
    """(name, mtime_ns, size) of every file under ``path``: changes when new data lands."""
    if path.is_file():
        stat = path.stat()
        return ((path.name, stat.st_mtime_ns, stat.st_size),)
    if not path.exists():
        return ()
    entries = []
    for file in sorted(path.rglob("*")):
        if file.is_file():
            stat = file.stat()
            entries.append((str(file.relative_to(path)), stat.st_mtime_ns, stat.st_size))
    return tuple(entries)


# Per (source, path): the store's fingerprint, the fields loaded, the panel.
_cache: dict[tuple[str, str], tuple[tuple[Any, ...], frozenset[str], MarketData]] = {}
_cache_lock = threading.Lock()


def get_market_data(
    source: str, path: str | Path, fields: tuple[str, ...] = PANEL_FIELDS
) -> MarketData:
    """:func:`load_market_data` cached per process. The cache key includes the names, mtimes
    and sizes of the files under ``path``, so a rewritten store is reloaded. A cached panel
    serves any request for fields it holds; one asking for more is loaded again with both
    (a backtest worker asks for :func:`app.engine.backtest.panel_fields`, a train job for
    all)."""
    resolved = Path(path).resolve()
    key = (source, str(resolved))
    fingerprint = _fingerprint(resolved)
    wanted = frozenset((*fields, "open", "close"))
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None and cached[0] == fingerprint:
        if wanted <= cached[1]:
            return cached[2]
        wanted |= cached[1]
    loading = tuple(name for name in PANEL_FIELDS if name in wanted)
    data = load_market_data(source, resolved, loading)
    with _cache_lock:
        _cache[key] = (fingerprint, wanted, data)
    return data
