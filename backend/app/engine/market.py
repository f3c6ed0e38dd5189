"""The in-memory market panel every engine component works on."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd


def forward_filled(price: np.ndarray) -> np.ndarray:
    """Each column's last non-NaN value up to each row (0 before its first value)."""
    frame = pd.DataFrame(price).ffill().fillna(0.0)
    return np.ascontiguousarray(frame.to_numpy())


# The (sessions x symbols) array fields of a panel, as named in MarketData.
PANEL_FIELDS = (
    "open",
    "high",
    "low",
    "close",
    "volume",
    "raw_open",
    "raw_close",
    "dividends",
    "split_factor",
)


@dataclass(frozen=True, eq=False)
class MarketData:
    """Daily bars as dense ``(n_sessions, n_symbols)`` float64 arrays.

    ``open``/``high``/``low``/``close`` are *adjusted* prices (splits and dividends folded in,
    LEAN's default normalization). ``raw_open``/``raw_close`` are the traded prices and
    ``dividends`` the cash dividend per share on its ex-date (raw mode); ``split_factor`` is
    the number of new shares per old share on a split date (1.0 elsewhere). Where a symbol
    does not trade on a session every price is NaN. A backtest worker's panel (:meth:`only`
    the fields of ``app.engine.backtest.panel_fields``) has None for those its backtests do
    not read: ``high``, ``low``, ``volume``, and the raw prices in adjusted mode.

    ``hourly_close`` and ``interest_rates`` feed the benchmark and risk-free statistics.
    ``provenance`` says where the numbers come from: ``{"source": ..., "synthetic": bool,
    "description": ...}``. Anything built on synthetic data must say so.
    """

    sessions: pd.DatetimeIndex
    symbols: tuple[str, ...]
    open: np.ndarray
    high: np.ndarray | None
    low: np.ndarray | None
    close: np.ndarray
    volume: np.ndarray | None
    raw_open: np.ndarray | None = None
    raw_close: np.ndarray | None = None
    dividends: np.ndarray | None = None
    split_factor: np.ndarray | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    # Intraday closes for the benchmark: symbol -> (bar end times as datetime64[s], adjusted
    # closes). LEAN samples its SPY benchmark from the hourly feed when there is one.
    hourly_close: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    # (dates, rates as fractions) of the risk-free rate; None: the project's copy of LEAN's
    # interest-rate file (app/engine/data/interest-rate.csv).
    interest_rates: tuple[np.ndarray, np.ndarray] | None = None

    def __post_init__(self) -> None:
        shape = (len(self.sessions), len(self.symbols))
        for name in ("open", "high", "low", "close", "volume"):
            array = getattr(self, name)
            if array is not None and array.shape != shape:
                raise ValueError(f"{name} has shape {array.shape}, expected {shape}")
        object.__setattr__(self, "_column", {symbol: i for i, symbol in enumerate(self.symbols)})
        object.__setattr__(self, "_marks", {})
        object.__setattr__(self, "_sorted_symbols", None)

    def only(self, fields: tuple[str, ...]) -> MarketData:
        """This panel with the array fields not in ``fields`` (of :data:`PANEL_FIELDS`) set
        to None; ``open`` and ``close`` are always kept. None reads as absent (no dividends,
        no raw prices), so a caller asks for every field it reads."""
        dropped = {name: None for name in PANEL_FIELDS if name not in (*fields, "open", "close")}
        return replace(self, **dropped) if dropped else self

    def column(self, symbol: str) -> int:
        """Column index of ``symbol``; KeyError if it is not in the panel."""
        return self._column[symbol]  # type: ignore[attr-defined]

    def has_symbol(self, symbol: str) -> bool:
        return symbol in self._column  # type: ignore[attr-defined]

    def columns_of(self, symbols) -> np.ndarray:
        """Column index of each of ``symbols`` (a sequence or array of str), -1 for those
        not in the panel: one binary search over the sorted symbols (built once per panel)
        instead of a dictionary lookup per symbol."""
        if self._sorted_symbols is None:  # type: ignore[attr-defined]
            names = np.array(self.symbols, dtype=str)
            order = np.argsort(names, kind="stable")
            object.__setattr__(self, "_sorted_symbols", (names[order], order))
        names, order = self._sorted_symbols  # type: ignore[attr-defined]
        wanted = np.asarray(symbols, dtype=str)
        if not names.size:
            return np.full(wanted.shape, -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(names, wanted), names.size - 1)
        return np.where(names[at] == wanted, order[at], -1).astype(np.int64)

    @property
    def synthetic(self) -> bool:
        return bool(self.provenance.get("synthetic", False))

    def marks(self, raw: bool = False) -> np.ndarray:
        """The (raw or adjusted) closes forward-filled down each column, 0 before a symbol's
        first close: the price a holding is marked at. Computed once per panel, as every
        backtest on it needs it."""
        if raw not in self._marks:  # type: ignore[attr-defined]
            close = self.raw_close if raw else self.close
            self._marks[raw] = forward_filled(close) if np.isnan(close).any() else close  # type: ignore[attr-defined]
        return self._marks[raw]  # type: ignore[attr-defined]

    def close_frame(self) -> pd.DataFrame:
        """Adjusted closes as a DataFrame (sessions x symbols)."""
        return pd.DataFrame(self.close, index=self.sessions, columns=list(self.symbols))
