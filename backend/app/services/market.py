"""The market data the services validate requests against (sessions, symbols, provenance).

The server checks requests (a sweep's window and risk-off symbols, a train job's dates and
universe, an imported scores file's symbols and dates) but never prices: the workers run
the backtests. So for a Parquet store it reads only the store's session and symbol columns
(``MarketIndex``, about 1 MB for the demo market) instead of the dense price panel (about
100 MB held for the server's lifetime); other sources load the panel, which has the same
attributes.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from app.config import Settings
from app.errors import Conflict


def load_market(settings: Settings):
    """The configured market data store; a missing or unreadable store is a 409 that says
    how to make one."""
    from app.engine import BacktestInputError, get_market_data

    try:
        return get_market_data(settings.data_source, settings.data_dir)
    except (BacktestInputError, OSError) as exc:
        raise _unavailable(settings, exc) from exc


def _unavailable(settings: Settings, exc: Exception) -> Conflict:
    return Conflict(
        f"market data is not available ({settings.data_source} at {settings.data_dir}): "
        f"{exc}. Run `stocklean data synth` or point STOCKLEAN_DATA_DIR at a data store."
    )


@dataclass(frozen=True)
class MarketIndex:
    """The sessions, symbols and provenance of a market panel, without its prices: the part
    of ``app.engine.MarketData`` that request checks read."""

    sessions: pd.DatetimeIndex
    symbols: tuple[str, ...]
    provenance: dict[str, Any]
    _column: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_column", {s: i for i, s in enumerate(self.symbols)})

    def column(self, symbol: str) -> int:
        return self._column[symbol]

    def has_symbol(self, symbol: str) -> bool:
        return symbol in self._column

    @property
    def synthetic(self) -> bool:
        return bool(self.provenance.get("synthetic", False))


def read_parquet_index(directory: Path) -> MarketIndex:
    """Sessions and symbols as ``app.engine.store.read_parquet_store`` derives them (the
    sorted distinct session dates; the symbol dictionary's order, or the sorted distinct
    symbols), from the store's two key columns only."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from app.engine import BacktestInputError
    from app.engine.store import BARS_FILE, METADATA_FILE

    bars_path = directory / BARS_FILE
    if not bars_path.is_file():
        raise BacktestInputError(f"no market data at {directory}: {BARS_FILE} is missing")
    metadata_path = directory / METADATA_FILE
    metadata = json.loads(metadata_path.read_text()) if metadata_path.is_file() else {}
    # On this thread, as read_parquet_store does: Arrow's reader threads left ~12 MB of its
    # allocator's pages resident in the server for good (measured).
    keys = pq.ParquetFile(bars_path).read(columns=["symbol", "session"], use_threads=False)
    symbol_column = keys.column("symbol").combine_chunks()
    if isinstance(symbol_column, pa.DictionaryArray):
        symbols = [str(s) for s in symbol_column.dictionary.to_pylist()]
    else:
        symbols = [str(s) for s in np.unique(symbol_column.to_numpy(zero_copy_only=False))]
    days = np.unique(keys.column("session").to_numpy().astype("datetime64[D]"))
    return MarketIndex(
        sessions=pd.DatetimeIndex(days.astype("datetime64[ns]")),
        symbols=tuple(symbols),
        provenance=dict(metadata.get("provenance") or {"source": "parquet", "synthetic": False}),
    )


_index_cache: dict[str, tuple[tuple, MarketIndex]] = {}
_index_lock = threading.Lock()


def load_market_index(settings: Settings):
    """The market's sessions, symbols and provenance for request checks: a ``MarketIndex``
    for a Parquet store (cached per store while its files are unchanged), else the loaded
    panel. A missing or unreadable store is a 409, as for ``load_market``."""
    if settings.data_source != "parquet":
        return load_market(settings)
    from app.engine import BacktestInputError
    from app.engine.store import BARS_FILE, METADATA_FILE

    directory = Path(settings.data_dir).resolve()
    try:
        stamp = tuple(
            (path.stat().st_mtime_ns, path.stat().st_size) if path.is_file() else None
            for path in (directory / BARS_FILE, directory / METADATA_FILE)
        )
        with _index_lock:
            cached = _index_cache.get(str(directory))
        if cached is not None and cached[0] == stamp:
            return cached[1]
        index = read_parquet_index(directory)
    except (BacktestInputError, OSError, ValueError) as exc:
        raise _unavailable(settings, exc) from exc
    with _index_lock:
        _index_cache[str(directory)] = (stamp, index)
    return index
