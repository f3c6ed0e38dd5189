"""Daily-bar portfolio simulator, LEAN-compatible by default (DESIGN §5).

A strategy hands over a *target schedule*: on decision session t (after its close) the
portfolio should hold ``weights[k]`` of its value in each asset (NaN: no target for that
asset, its holding is left alone). Each target is sized like LEAN's SetHoldings
(:func:`app.engine.orders.set_holdings_quantity`: 0.25 % of portfolio value kept free, no
order under 0.1 % of it, the quantity reduced while cost plus fee exceeds the target). The
orders fill at session t+1's open (market-on-open), reducing orders first, in whole shares,
with Interactive Brokers fees; cash may go negative within the leverage (LEAN's margin
account): an order whose added margin (value / leverage + fee) exceeds the margin left is
invalid, counted but never filled. In raw mode dividends arrive as cash on the ex-date and
splits change share counts (longs and shorts alike). A held asset whose data ends inside the
window is closed at its last close (LEAN's delisting). The loop
(:func:`app.engine.event_loop.run_events`, compiled) visits only the sessions where something
happens and there only the assets involved; this module prepares its arrays and turns its
output into a :class:`SimulationOutput`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from app.engine.errors import BacktestInputError
from app.engine.execution import (
    BAD_DECISION_PRICE,
    BAD_FILL_PRICE,
    DECIDE_ALWAYS,
    DECIDE_UNHELD,
    DECIDE_WHEN_FLAT,
    DEFAULT_LEVERAGE,
    FEE_MODELS,
    FILL_MODELS,
    NEGATIVE_PORTFOLIO,
    NORMALIZATIONS,
    ExecutionSettings,
)
from app.engine.market import forward_filled
from app.engine.second_thread import second_thread

__all__ = [
    "DECIDE_ALWAYS",
    "DECIDE_UNHELD",
    "DECIDE_WHEN_FLAT",
    "FEE_MODELS",
    "FILL_MODELS",
    "NORMALIZATIONS",
    "ExecutionSettings",
    "SimulationOutput",
    "simulate",
]


def orders_frame(
    fills: np.ndarray, fill_rows: np.ndarray, sessions: pd.DatetimeIndex, symbols
) -> pd.DataFrame:
    """One row per fill from the loop's ``fills`` (asset, quantity, price, fee) and
    ``fill_rows`` (decision row, fill row)."""
    assets = fills[:, 0].astype(np.int64)
    quantity, price, fee = (np.ascontiguousarray(fills[:, k]) for k in (1, 2, 3))
    # Taking from pandas' own array of the names infers their dtype once, not once per fill.
    names = pd.Series(np.asarray(symbols, dtype=object)).array
    return pd.DataFrame(
        {
            "decision_date": sessions[fill_rows[:, 0]],
            "fill_date": sessions[fill_rows[:, 1]],
            "symbol": names.take(assets),
            "quantity": quantity,
            "price": price,
            "fee": fee,
            "value": quantity * price,
        },
        copy=False,  # every column is a fresh array
    )


@dataclass
class SimulationOutput:
    equity: np.ndarray  # (n_sessions,) at each session close
    realized_pnl: np.ndarray  # per reducing fill, in fill order: P&L less twice its fee
    traded_value: np.ndarray  # (n_sessions,) absolute value filled each session
    total_fees: float
    order_count: int  # orders submitted, the invalid ones included
    sessions: pd.DatetimeIndex
    symbols: tuple[str, ...] | list[str]
    # Each fill's asset, quantity, price and fee (empty: no fees), in fill order, and the
    # batches of fills: (decision row, fill row, number of fills).
    fill_assets: np.ndarray
    fill_quantity: np.ndarray
    fill_price: np.ndarray
    fill_fees: np.ndarray
    fill_batches: np.ndarray
    # Shares and cash after each event session, and how many sessions each holds for.
    event_shares: np.ndarray
    event_cash: np.ndarray
    event_lengths: np.ndarray

    @cached_property
    def fills(self) -> np.ndarray:
        """(n_fills, 4): each fill's (asset, quantity, price, fee), built when asked (a
        backtest's statistics need none of it)."""
        fills = np.empty((self.fill_assets.size, 4))
        fills[:, 0] = self.fill_assets
        fills[:, 1] = self.fill_quantity
        fills[:, 2] = self.fill_price
        fills[:, 3] = self.fill_fees if self.fill_fees.size else 0.0
        return fills

    @cached_property
    def fill_rows(self) -> np.ndarray:
        """(n_fills, 2): each fill's (decision row, fill row)."""
        return np.repeat(self.fill_batches[:, :2], self.fill_batches[:, 2], axis=0)

    @cached_property
    def orders(self) -> pd.DataFrame:
        """One row per fill (built when asked: a sweep's trials only store the arrays)."""
        return orders_frame(self.fills, self.fill_rows, self.sessions, self.symbols)

    @property
    def holdings(self) -> np.ndarray:
        """(n_sessions, n_assets) shares after each session's close."""
        return np.repeat(self.event_shares, self.event_lengths, axis=0)

    @property
    def cash(self) -> np.ndarray:
        """(n_sessions,) cash after each session's close."""
        return np.repeat(self.event_cash, self.event_lengths)


# Events x assets from which the equity is marked in two halves at once.
_SPLIT_EVENT_CELLS = 20_000


def simulate(
    *,
    sessions: pd.DatetimeIndex,
    symbols: tuple[str, ...] | list[str],
    open_price: np.ndarray,
    close_price: np.ndarray,
    decision_rows: np.ndarray,
    target_weights: np.ndarray,
    initial_cash: float,
    settings: ExecutionSettings,
    dividends: np.ndarray | None = None,
    split_ratio: np.ndarray | None = None,
    decision_modes: np.ndarray | None = None,
    leverage: np.ndarray | None = None,
    last_rows: np.ndarray | None = None,
    columns: np.ndarray | None = None,
    first_row: int = 0,
    mark_price: np.ndarray | None = None,
) -> SimulationOutput:
    """Run a target schedule over a window of ``sessions``. ``decision_rows[k]`` is the
    window row whose close decides ``target_weights[k]`` (mode ``decision_modes[k]``, default
    DECIDE_ALWAYS); ``leverage`` per asset (default 2); ``last_rows[a]`` the row of asset a's
    last bar when its data ends inside the window (delisting), else ``n_sessions``.

    Prices (in the run's normalization), ``dividends`` and ``split_ratio`` are either arrays
    ``(n_sessions, n_assets)`` for the traded assets only, or, with ``columns``, a market's
    whole panels read at rows ``first_row + t`` and the traded assets' ``columns`` (no copy);
    ``mark_price`` is then the panel's closes forward-filled (0 before a first close), which
    a market keeps (:meth:`app.engine.market.MarketData.marks`).

    equity[t] = cash[t] + sum over held assets, in column order, of shares * mark[t],
    mark = last known close."""
    # Imported here: numba is only loaded by the processes that run backtests.
    from app.engine.event_loop import run_events
    from app.engine.loop_steps import mark_events

    n_sessions = len(sessions)
    if columns is None:
        n_assets = close_price.shape[1]
        columns = np.arange(n_assets, dtype=np.int64)
        window = slice(0, n_sessions)
        mark_price = forward_filled(close_price) if np.isnan(close_price).any() else close_price
    else:
        columns = np.asarray(columns, dtype=np.int64)
        n_assets = columns.size
        window = slice(first_row, first_row + n_sessions)
        if mark_price is None:
            mark_price = forward_filled(close_price)
    mark_price = np.ascontiguousarray(mark_price, dtype=np.float64)
    decision_rows = np.asarray(decision_rows, dtype=np.int64)
    modes = (
        np.zeros(len(decision_rows), dtype=np.int64)
        if decision_modes is None
        else np.asarray(decision_modes, dtype=np.int64)
    )
    leverage = (
        np.full(n_assets, DEFAULT_LEVERAGE)
        if leverage is None
        else np.asarray(leverage, dtype=np.float64)
    )
    if not (leverage > 0).all():
        # The loop divides by it unchecked (numba's numpy error model).
        raise BacktestInputError("leverage must be > 0")
    last_rows = (
        np.full(n_assets, n_sessions, dtype=np.int64)
        if last_rows is None
        else np.asarray(last_rows, dtype=np.int64)
    )
    fill_next_open = settings.fill_model == "next_open"

    event = np.zeros(n_sessions, dtype=bool)
    event[0] = True
    event[decision_rows] = True
    if fill_next_open:
        event[decision_rows[decision_rows + 1 < n_sessions] + 1] = True
    no_rows = np.zeros((0, 0))
    if dividends is not None and np.any(paid := dividends[window][:, columns] != 0):
        event |= np.any(paid, axis=1)
        dividends = np.ascontiguousarray(dividends, dtype=np.float64)
    else:
        dividends = no_rows
    if split_ratio is not None and np.any(splits := split_ratio[window][:, columns] != 1.0):
        event |= np.any(splits, axis=1)
        split_ratio = np.ascontiguousarray(split_ratio, dtype=np.float64)
    else:
        split_ratio = no_rows
    event[last_rows[last_rows < n_sessions]] = True
    event_rows = np.nonzero(event)[0]

    (
        event_shares,
        event_cash,
        traded_value,
        (fill_assets, fill_quantity, fill_price, fill_fees),
        fill_batches,
        realized_pnl,
        money,
        counts,
        error,
    ) = run_events(
        event_rows,
        decision_rows,
        np.argsort(decision_rows, kind="stable"),
        np.ascontiguousarray(target_weights, dtype=np.float64),
        modes,
        np.ascontiguousarray(open_price, dtype=np.float64),
        np.ascontiguousarray(close_price, dtype=np.float64),
        mark_price,
        columns,
        window.start,
        n_sessions,
        leverage,
        last_rows,
        dividends,
        split_ratio,
        float(initial_cash),
        fill_next_open,
        (
            settings.fractional_shares,
            float(settings.free_portfolio_value_percentage),
            float(settings.minimum_order_margin_percentage),
            settings.fee_model_code,
            float(settings.fee_bps),
        ),
    )
    code, row, asset = error.tolist()
    if code == BAD_DECISION_PRICE:
        raise BacktestInputError(
            f"missing or non-positive price for {symbols[asset]} on {sessions[row].date()}"
        )
    if code == NEGATIVE_PORTFOLIO:
        raise BacktestInputError(f"portfolio value turned negative on {sessions[row].date()}")
    if code == BAD_FILL_PRICE:
        raise BacktestInputError(
            f"no valid fill price for {symbols[asset]} on {sessions[row].date()}"
        )
    # The equity at each close, from the holdings after each event: the first half of the
    # events here, the second half on the second thread (together about 0.5 ms for 500
    # assets held over 1,500 sessions).
    equity = np.empty(n_sessions)
    n_events = len(event_rows)
    marks = (n_sessions, window.start, event_cash, event_shares, columns, mark_price)
    second = second_thread() if n_events * n_assets >= _SPLIT_EVENT_CELLS else None
    if second is None:
        mark_events(equity, event_rows, 0, n_events, *marks)
    else:
        half = n_events // 2
        second_half = second.submit(mark_events, equity, event_rows, half, n_events, *marks)
        mark_events(equity, event_rows, 0, half, *marks)
        second_half.result()
    return SimulationOutput(
        equity=equity,
        realized_pnl=realized_pnl,
        traded_value=traded_value,
        total_fees=float(money[1]),
        order_count=int(counts[2]),
        sessions=sessions,
        symbols=symbols,
        fill_assets=fill_assets,
        fill_quantity=fill_quantity,
        fill_price=fill_price,
        fill_fees=fill_fees,
        fill_batches=fill_batches,
        event_shares=event_shares,
        event_cash=event_cash,
        event_lengths=np.diff(np.append(event_rows, n_sessions)),
    )


def compile_engine() -> None:
    """Compile the event loop, the scanner of weights and scores files and the statistics'
    loops (or load them from numba's cache beside the sources): tiny runs with the argument
    types every backtest uses. ``make install`` calls it, so that the first backtest of a
    fresh checkout, and each worker process, does not compile them (about half a minute on 2
    cores)."""
    sessions = pd.bdate_range("2020-01-06", periods=3)
    price = np.array([[10.0, 20.0], [11.0, 21.0], [12.0, 22.0]])
    for fill_model in FILL_MODELS:
        simulate(
            sessions=sessions,
            symbols=["A", "B"],
            open_price=price,
            close_price=price,
            decision_rows=np.array([0, 1]),
            target_weights=np.array([[0.5, 0.5], [0.2, np.nan]]),
            initial_cash=10000.0,
            settings=ExecutionSettings(fill_model=fill_model),
            dividends=np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.0]]),
            split_ratio=np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 2.0]]),
        )
    import tempfile
    from pathlib import Path

    from app.engine.dated_csv_scan import scan_file, scatter_rows

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "weights.csv"
        path.write_text("date,symbol,weight\n2020-01-06,A,0.5\n")
        (part,) = scan_file(path).parts
    scatter_rows(
        np.full((1, 1), np.nan),
        np.zeros((1, 1), dtype=np.bool_),
        part.date_run,
        np.zeros(1, dtype=np.int64),
        part.symbol_code,
        np.zeros(1, dtype=np.int64),
        part.values,
    )
    from app.engine.statistics_loops import compile_loops

    compile_loops()
