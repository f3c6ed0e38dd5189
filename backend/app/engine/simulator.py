"""Daily-bar portfolio simulator, LEAN-compatible by default (DESIGN §5).

A strategy hands over a *target schedule*: on decision session t (after its close) the
portfolio should hold ``weights[k]`` of its value in each asset (NaN: no target for that
asset, its holding is left alone). Each target is sized like LEAN's SetHoldings
(:func:`app.engine.orders.set_holdings_quantities`: 0.25 % of portfolio value kept free, no
order under 0.1 % of it, the quantity reduced while cost plus fee exceeds the target). The
orders fill at session t+1's open (market-on-open), reducing orders first, in whole shares,
with Interactive Brokers fees; cash may go negative within the leverage (LEAN's margin
account): an order whose added margin (value / leverage + fee) exceeds the margin left is
invalid, counted but never filled. In raw mode dividends arrive as cash on the ex-date and
splits change share counts (longs and shorts alike). A held asset whose data ends inside the
window is closed at its last close (LEAN's delisting). The loop visits only the sessions
where something happens and there only the assets involved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from app.engine.errors import BacktestInputError
from app.engine.orders import (
    DEFAULT_LEVERAGE,
    ExecutionSettings,
    apply_fills,
    interactive_brokers_fees,
    order_fees,
    set_holdings_quantities,
)

FILL_MODELS = ("next_open", "close")
FEE_MODELS = ("interactive_brokers", "bps", "none")
NORMALIZATIONS = ("adjusted", "raw")
# How a decision applies (TargetSchedule.modes): every time, only while nothing is held
# (LEAN's ``if not Portfolio.Invested``), or only for the assets not held yet.
DECIDE_ALWAYS, DECIDE_WHEN_FLAT, DECIDE_UNHELD = 0, 1, 2

__all__ = [
    "DECIDE_ALWAYS",
    "DECIDE_UNHELD",
    "DECIDE_WHEN_FLAT",
    "ExecutionSettings",
    "SimulationOutput",
    "interactive_brokers_fees",
    "order_fees",
    "simulate",
]


def valid_prices(price: np.ndarray) -> np.ndarray:
    """True where a price can be traded or sized on: finite and > 0."""
    return np.isfinite(price) & (price > 0)


def forward_filled(price: np.ndarray) -> np.ndarray:
    """Each column's last non-NaN value up to each row (0 before its first value)."""
    frame = pd.DataFrame(price).ffill().fillna(0.0)
    return frame.to_numpy()


def orders_frame(chunks: list[tuple], sessions: pd.DatetimeIndex, symbols) -> pd.DataFrame:
    """One row per fill from per-batch (decided_row, fill_row, assets, quantities, prices,
    fees) chunks."""
    if chunks:
        sizes = [len(chunk[2]) for chunk in chunks]
        decided = np.repeat([chunk[0] for chunk in chunks], sizes)
        filled = np.repeat([chunk[1] for chunk in chunks], sizes)
        assets, quantity, price, fee = (
            np.concatenate([chunk[k] for chunk in chunks]) for k in (2, 3, 4, 5)
        )
    else:
        decided = filled = assets = np.zeros(0, dtype=np.int64)
        quantity = price = fee = np.zeros(0)
    # Taking from pandas' own array of the names infers their dtype once, not once per fill.
    names = pd.Series(np.asarray(symbols, dtype=object)).array
    return pd.DataFrame(
        {
            "decision_date": sessions[decided],
            "fill_date": sessions[filled],
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
    holdings: np.ndarray  # (n_sessions, n_assets) shares after the close
    cash: np.ndarray  # (n_sessions,)
    orders: pd.DataFrame  # one row per fill
    realized_pnl: np.ndarray  # per reducing fill, in fill order: P&L less twice its fee
    traded_value: np.ndarray  # (n_sessions,) absolute value filled each session
    total_fees: float
    order_count: int  # orders submitted, the invalid ones included


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
) -> SimulationOutput:
    """Run a target schedule over a window of ``sessions`` (arrays ``(n_sessions, n_assets)``
    for the traded assets only, prices in the run's normalization). ``decision_rows[k]`` is
    the row whose close decides ``target_weights[k]`` (mode ``decision_modes[k]``, default
    DECIDE_ALWAYS); ``leverage`` per asset (default 2); ``last_rows[a]`` the row of asset a's
    last bar when its data ends inside the window (delisting), else ``n_sessions``.

    equity[t] = cash[t] + holdings[t] . mark[t], mark = last known close."""
    n_sessions, n_assets = close_price.shape
    mark = forward_filled(close_price) if np.isnan(close_price).any() else close_price
    decision_rows = np.asarray(decision_rows, dtype=np.int64)
    modes = (
        np.zeros(len(decision_rows), dtype=np.int64)
        if decision_modes is None
        else np.asarray(decision_modes)
    )
    leverage = np.full(n_assets, DEFAULT_LEVERAGE) if leverage is None else np.asarray(leverage)
    last_rows = np.full(n_assets, n_sessions) if last_rows is None else np.asarray(last_rows)
    fill_next_open = settings.fill_model == "next_open"
    decision_at: dict[int, list[int]] = {}
    for k, row in enumerate(decision_rows.tolist()):
        decision_at.setdefault(row, []).append(k)
    # Per decision, computed for the whole schedule at once: which assets have a target, which
    # want shares, and whether every decision price is valid (the usual case skips the check).
    has_target = np.isfinite(target_weights)
    wants_shares = has_target & (target_weights != 0)
    decision_price_ok = valid_prices(close_price[decision_rows])
    delisting_at = set(last_rows[last_rows < n_sessions].tolist())
    alive = np.ones(n_assets, dtype=bool)  # assets that can still take orders
    # Margin used per share held, at each decision's close.
    mark_over_leverage = mark[decision_rows] / leverage
    lowest_leverage = float(leverage.min()) if n_assets else 1.0

    event = np.zeros(n_sessions, dtype=bool)
    event[0] = True
    event[decision_rows] = True
    if fill_next_open:
        event[decision_rows[decision_rows + 1 < n_sessions] + 1] = True
    has_dividends = dividends is not None and bool(np.any(dividends))
    has_splits = split_ratio is not None and bool(np.any(split_ratio != 1.0))
    if has_dividends:
        event |= np.any(dividends != 0, axis=1)
    if has_splits:
        event |= np.any(split_ratio != 1.0, axis=1)
    delisted_rows = last_rows[last_rows < n_sessions]
    event[delisted_rows] = True
    event_rows = np.nonzero(event)[0]

    shares = np.zeros(n_assets)
    average_price = np.zeros(n_assets)
    cash = float(initial_cash)
    snapshot_shares = np.empty((len(event_rows), n_assets))
    snapshot_cash = np.empty(len(event_rows))
    traded_value = np.zeros(n_sessions)
    fills: list[tuple] = []
    closing_pnl: list[np.ndarray] = []
    total_fees = 0.0
    order_count = 0
    # Orders waiting for the next open: (assets, signed quantities, decision row).
    pending: tuple[np.ndarray, np.ndarray, int] | None = None

    charges_fees = settings.fee_model != "none"
    no_fees = np.zeros(n_assets)

    def fill(assets: np.ndarray, quantity: np.ndarray, price: np.ndarray, row: int, decided: int):
        nonlocal cash, total_fees
        if assets.size == 0:
            return
        realized, reducing = apply_fills(shares, average_price, assets, quantity, price)
        value = quantity * price
        if charges_fees:
            fee = order_fees(quantity, price, settings)
            fees = float(fee.sum())
        else:
            fee, fees = no_fees[: assets.size], 0.0
        if realized.size:
            # LEAN's trade record: each reducing fill's P&L less twice its fee.
            closing_pnl.append(realized - 2.0 * fee[reducing] if charges_fees else realized)
        cash -= float(value.sum()) + fees
        total_fees += fees
        traded_value[row] += float(np.abs(value).sum())
        fills.append((decided, row, assets, quantity, price, fee))

    def decide(decision: int, row: int, held_now: np.ndarray):
        """Orders of one decision: (assets, signed quantities), or None.
        ``held_now``: shares plus those in orders already placed at this bar."""
        nonlocal order_count
        mode = modes[decision]
        held_any = held_now != 0
        if mode == DECIDE_WHEN_FLAT and held_any.any():
            return None
        if mode == DECIDE_UNHELD:
            targeted = wants_shares[decision] & ~held_any
        else:
            targeted = wants_shares[decision] | (held_any & has_target[decision])
        if delisting_at:
            targeted &= alive
        needed = np.nonzero(targeted)[0]
        if needed.size == 0:
            return None
        price = close_price[row, needed]
        price_ok = decision_price_ok[decision, needed]
        if not price_ok.all():
            invalid = ~price_ok
            if invalid.any():
                raise BacktestInputError(
                    f"missing or non-positive price for {symbols[needed[invalid][0]]} "
                    f"on {sessions[row].date()}"
                )
        portfolio_value = cash + float(shares @ mark[row])
        if portfolio_value < 0:
            raise BacktestInputError(f"portfolio value turned negative on {sessions[row].date()}")
        held = held_now[needed]
        asset_leverage = leverage[needed]
        quantity = set_holdings_quantities(
            target_weights[decision, needed], held, price, portfolio_value, asset_leverage, settings
        )
        placed = np.nonzero(quantity)[0]
        if placed.size == 0:
            return None
        if placed.size < needed.size:
            needed, quantity, price, held, asset_leverage = (
                a[placed] for a in (needed, quantity, price, held, asset_leverage)
            )
        order_count += int(needed.size)
        # LEAN's margin check: an order adding margin (value / leverage + fee) beyond what is
        # left is invalid. The usual case is settled at once by a bound: all orders' value at
        # the lowest leverage plus fees of at most $1 + 0.5 % of the value (or the bps fee).
        value = float(np.abs(quantity * price).sum())
        margin_left = portfolio_value - float(np.abs(shares) @ mark_over_leverage[decision])
        fee_rate = 0.005 + settings.fee_bps / 10000.0
        if value / lowest_leverage + needed.size + fee_rate * value <= margin_left:
            return needed, quantity
        added_margin = np.maximum(np.abs(held + quantity) - np.abs(held), 0.0) * price
        added_margin /= asset_leverage
        growing = added_margin > 0
        fee = order_fees(quantity, price, settings)
        valid = np.ones(needed.size, dtype=bool)
        for k in np.nonzero(growing)[0]:
            if added_margin[k] + fee[k] > margin_left + 1e-9:
                valid[k] = False
            else:
                margin_left -= added_margin[k]
        return needed[valid], quantity[valid]

    for event_index, row in enumerate(event_rows.tolist()):
        if has_splits:
            ratio = split_ratio[row]
            split_assets = np.nonzero((ratio != 1.0) & (shares != 0))[0]
            if split_assets.size:
                new_shares = shares[split_assets] * ratio[split_assets]
                if not settings.fractional_shares:
                    # LEAN truncates toward zero and pays the fraction in cash at the
                    # split-adjusted reference price: the last close / the ratio.
                    whole = np.trunc(new_shares)
                    reference = (
                        mark[row - 1, split_assets] if row > 0 else open_price[row, split_assets]
                    )
                    adjusted = reference / ratio[split_assets]
                    cash += float(((new_shares - whole) * adjusted).sum())
                    new_shares = whole
                with np.errstate(invalid="ignore", divide="ignore"):
                    average_price[split_assets] *= np.where(
                        new_shares == 0, 0.0, shares[split_assets] / new_shares
                    )
                shares[split_assets] = new_shares
            if pending is not None:
                assets, quantity, decided = pending
                quantity = quantity * ratio[assets]
                if not settings.fractional_shares:
                    quantity = np.trunc(quantity)
                pending = assets[quantity != 0], quantity[quantity != 0], decided
        if has_dividends:
            cash += float(shares @ dividends[row])
        if pending is not None:
            assets, quantity, decided = pending
            price = open_price[row, assets]
            bad = ~valid_prices(price)
            if bad.any():
                raise BacktestInputError(
                    f"no valid fill price for {symbols[assets[bad][0]]} on {sessions[row].date()}"
                )
            fill(assets, quantity, price, row, decided)
            pending = None
        if row in delisting_at and fill_next_open:
            alive &= last_rows > row  # no bar left to fill an order placed now
        decisions = decision_at.get(row)
        if decisions is not None:
            if len(decisions) == 1:
                orders = decide(decisions[0], row, shares)
            else:
                placed = np.zeros(n_assets)
                for decision in decisions:
                    orders = decide(decision, row, shares + placed)
                    if orders is not None:
                        placed[orders[0]] += orders[1]
                combined = np.nonzero(placed)[0]
                orders = (combined, placed[combined]) if combined.size else None
            if orders is not None:
                assets, quantity = orders
                # Reducing orders fill first (LEAN submits SetHoldings targets by margin
                # impact): a sell of a long or a buy of a short.
                held = shares[assets]
                growing = held * quantity >= 0
                if growing.any() and not growing.all():
                    order = np.argsort(growing, kind="stable")
                    assets, quantity = assets[order], quantity[order]
                if not fill_next_open:
                    fill(assets, quantity, close_price[row, assets], row, row)
                elif row + 1 < n_sessions:
                    pending = (assets, quantity, row)
        if row in delisting_at:
            ending = np.nonzero((last_rows == row) & (shares != 0))[0]
            if ending.size:
                order_count += int(ending.size)
                fill(ending, -shares[ending], close_price[row, ending], row, row)
            alive &= last_rows > row
        snapshot_shares[event_index] = shares
        snapshot_cash[event_index] = cash

    segment_lengths = np.diff(np.append(event_rows, n_sessions))
    holdings = np.repeat(snapshot_shares, segment_lengths, axis=0)
    cash_series = np.repeat(snapshot_cash, segment_lengths)
    equity = cash_series + np.einsum("ij,ij->i", holdings, mark)
    return SimulationOutput(
        equity=equity,
        holdings=holdings,
        cash=cash_series,
        orders=orders_frame(fills, sessions, symbols),
        realized_pnl=np.concatenate(closing_pnl) if closing_pnl else np.zeros(0),
        traded_value=traded_value,
        total_fees=total_fees,
        order_count=order_count,
    )
