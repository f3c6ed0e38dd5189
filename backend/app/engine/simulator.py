"""Daily-bar portfolio simulator, LEAN-compatible by default (DESIGN §5).

A strategy hands over a *target schedule*: on decision session t (after its close) the
portfolio should hold ``weights[k]`` of its value in each asset. By default the orders fill
at session t+1's open, in whole shares (rounded toward zero), sells before buys, with
Interactive Brokers US-equity fees, sizing on the decision close and on the portfolio value
less the 0.25 % kept free. In raw mode dividends arrive as cash on the ex-date and splits
change share counts. The loop visits only the sessions where something happens (a decision,
a fill, a dividend, a split) and there only the assets that hold shares or get a weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from app.engine.errors import BacktestInputError

FILL_MODELS = ("next_open", "close")
FEE_MODELS = ("interactive_brokers", "bps", "none")
NORMALIZATIONS = ("adjusted", "raw")

IB_FEE_PER_SHARE = 0.005
IB_MINIMUM_FEE = 1.0
IB_MAXIMUM_FEE_FRACTION = 0.01


@dataclass(frozen=True)
class ExecutionSettings:
    fill_model: str = "next_open"
    fractional_shares: bool = False
    fee_model: str = "interactive_brokers"
    fee_bps: float = 0.0
    free_portfolio_value_percentage: float = 0.0025
    data_normalization: str = "adjusted"


def interactive_brokers_fees(quantity: np.ndarray, price: np.ndarray) -> np.ndarray:
    """IB US equity fixed pricing per order: min(max($1, $0.005 * |shares|), 1 % of the order's
    value); 0 for an empty order."""
    shares = np.abs(quantity)
    fee = np.minimum(
        np.maximum(IB_MINIMUM_FEE, IB_FEE_PER_SHARE * shares),
        IB_MAXIMUM_FEE_FRACTION * shares * price,
    )
    return np.where(shares > 0, fee, 0.0)


def order_fees(quantity: np.ndarray, price: np.ndarray, settings: ExecutionSettings) -> np.ndarray:
    """Fee of each order under ``settings.fee_model`` (``bps``: |value| * fee_bps / 10000)."""
    if settings.fee_model == "none":
        return np.zeros(price.shape)
    if settings.fee_model == "interactive_brokers":
        return interactive_brokers_fees(quantity, price)
    return np.abs(quantity) * price * settings.fee_bps / 10000.0


def target_quantities(
    weights: np.ndarray, portfolio_value: float, price: np.ndarray, settings: ExecutionSettings
) -> np.ndarray:
    """Shares to hold: weight * portfolio_value * (1 - free_fraction) / price, rounded toward
    zero unless fractional shares are on (LEAN's SetHoldings sizing). Every price must be
    valid (finite, > 0); a zero weight then gives 0 shares."""
    usable = portfolio_value * (1.0 - settings.free_portfolio_value_percentage)
    quantity = weights * usable / price
    return quantity if settings.fractional_shares else np.trunc(quantity, out=quantity)


def valid_prices(price: np.ndarray) -> np.ndarray:
    """True where a price can be traded or sized on: finite and > 0."""
    return np.isfinite(price) & (price > 0)


def forward_filled(price: np.ndarray) -> np.ndarray:
    """Each column's last non-NaN value up to each row (0 before its first value)."""
    filled = price.copy()
    gapped = np.flatnonzero(np.isnan(price).any(axis=0))
    if gapped.size:
        column = price[:, gapped]
        rows = np.arange(price.shape[0])[:, None]
        last_seen = np.maximum.accumulate(np.where(np.isnan(column), 0, rows), axis=0)
        column = column[last_seen, np.arange(gapped.size)]
        filled[:, gapped] = np.where(np.isnan(column), 0.0, column)
    return filled


def concatenate_fills(chunks: list[tuple]) -> tuple[np.ndarray, ...]:
    """(decided_row, fill_row, asset, quantity, price, fee) arrays, one entry per fill, from
    the per-session (decided_row, fill_row, assets, quantities, prices, fees) chunks."""
    if not chunks:
        rows = np.zeros(0, dtype=np.int64)
        return rows, rows, rows, np.zeros(0), np.zeros(0), np.zeros(0)
    sizes = [len(chunk[2]) for chunk in chunks]
    decided = np.repeat([chunk[0] for chunk in chunks], sizes)
    filled = np.repeat([chunk[1] for chunk in chunks], sizes)
    assets, quantity, price, fee = (
        np.concatenate([chunk[k] for chunk in chunks]) for k in (2, 3, 4, 5)
    )
    return decided, filled, assets, quantity, price, fee


def orders_frame(
    fills: tuple[np.ndarray, ...], sessions: pd.DatetimeIndex, symbols
) -> pd.DataFrame:
    """One row per fill from the :func:`concatenate_fills` arrays."""
    decided, filled, assets, quantity, price, fee = fills
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
    orders: pd.DataFrame
    realized_pnl: np.ndarray  # per closing fill, in fill order (net of that order's fee)
    traded_value: np.ndarray  # (n_sessions,) absolute value filled each session
    total_fees: float


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
) -> SimulationOutput:
    """Run a target schedule over a window of ``sessions`` (all arrays are
    ``(n_sessions, n_assets)`` for the traded assets only, prices already in the run's
    normalization). ``decision_rows[k]`` is the session row whose close decides
    ``target_weights[k]``. ``dividends``/``split_ratio`` are applied only when given (raw mode).

    Between events (decisions, fills, dividends, splits) nothing changes but prices, so the
    loop visits event rows only, and there only the assets that hold shares or get a weight.
    The daily series follow from the event snapshots: with e the latest event row <= t,
    holdings[t] = shares[e], cash[t] = cash[e], equity[t] = cash[e] + holdings[t] . mark[t].
    """
    n_sessions, n_assets = close_price.shape
    # Valuation uses the last known close of each asset (a missing bar keeps its old mark).
    mark = forward_filled(close_price) if np.isnan(close_price).any() else close_price
    decision_rows = np.asarray(decision_rows, dtype=np.int64)
    fill_next_open = settings.fill_model == "next_open"

    # Per-rebalance arrays for the whole schedule at once: an event row only indexes them.
    decision_at = {row: k for k, row in enumerate(decision_rows.tolist())}
    weighted = target_weights != 0
    decision_price_valid = valid_prices(close_price[decision_rows])
    # Rows whose prices are all valid (the usual case) skip the per-asset check.
    decision_all_valid = decision_price_valid.all(axis=1).tolist()
    fill_rows = decision_rows[decision_rows + 1 < n_sessions] + 1 if fill_next_open else None
    if fill_rows is not None:
        fill_at = {row: k for k, row in enumerate(fill_rows.tolist())}
        fill_price_valid = valid_prices(open_price[fill_rows])
        fill_all_valid = fill_price_valid.all(axis=1).tolist()

    event = np.zeros(n_sessions, dtype=bool)
    event[0] = True
    event[decision_rows] = True
    if fill_rows is not None:
        event[fill_rows] = True
    has_dividends = dividends is not None and bool(np.any(dividends))
    has_splits = split_ratio is not None and bool(np.any(split_ratio != 1.0))
    if has_dividends:
        event |= np.any(dividends != 0, axis=1)
    if has_splits:
        event |= np.any(split_ratio != 1.0, axis=1)
    event_rows = np.nonzero(event)[0]

    shares = np.zeros(n_assets)
    average_cost = np.zeros(n_assets)
    cash = float(initial_cash)
    snapshot_shares = np.empty((len(event_rows), n_assets))
    snapshot_cash = np.empty(len(event_rows))
    traded_value = [0.0] * n_sessions  # a list: cheaper to add to one item at a time
    # Orders waiting for the next open: (sells, sell quantities, buys, buy quantities, decided).
    pending: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int] | None = None
    order_chunks: list[tuple] = []
    # Average cost of each sold asset before its sell, in fill order, for the realized P&L.
    cost_basis: list[np.ndarray] = []
    total_fees = 0.0
    # Without fees every fee array is zeros, and their sums (0.0) need not be taken.
    charges_fees = settings.fee_model != "none"

    def fill(orders: tuple, price_row: np.ndarray, row: int) -> None:
        """Fill ``orders`` = (sells, their quantities < 0, buys, their quantities > 0, decision
        row), assets ascending, at ``price_row``: the sells first, then the buys, scaled down
        to the cash left if they cost more."""
        nonlocal cash, total_fees
        sells, sell_quantity, buys, buy_quantity, decided_row = orders
        if sells.size == 0 and buys.size == 0:
            return
        if sells.size:
            q, p = sell_quantity, price_row[sells]
            fee = order_fees(q, p, settings)
            proceeds = -float((q * p).sum())  # = sum(-q * p): negation is exact
            fees = float(fee.sum()) if charges_fees else 0.0
            cash += proceeds - fees
            cost_basis.append(average_cost[sells])
            shares[sells] += q
            total_fees += fees
            traded_value[row] += proceeds
            order_chunks.append((decided_row, row, sells, q, p, fee))
        if buys.size:
            q, p = buy_quantity, price_row[buys]
            fee = order_fees(q, p, settings)
            value = q * p
            bought = float(value.sum())
            fees = float(fee.sum()) if charges_fees else 0.0
            cost = bought + fees
            if cost > cash:
                # Scale the buys down to the cash available (whole shares stay whole).
                scale = max(cash, 0.0) / cost
                for _ in range(50):
                    q = buy_quantity * scale
                    if not settings.fractional_shares:
                        q = np.floor(q)
                    fee = order_fees(q, p, settings)
                    value = q * p
                    bought = float(value.sum())
                    fees = float(fee.sum()) if charges_fees else 0.0
                    cost = bought + fees
                    if cost <= cash + 1e-9:
                        break
                    scale *= max(cash, 0.0) / cost * (1 - 1e-12)
                keep = q > 0
                if not keep.all():
                    q, p, fee, buys, value = q[keep], p[keep], fee[keep], buys[keep], value[keep]
                    bought, fees = float(value.sum()), float(fee.sum())
                    cost = bought + fees
            held = shares[buys]
            after = held + q
            average_cost[buys] = (held * average_cost[buys] + value) / after
            shares[buys] = after
            cash -= cost
            total_fees += fees
            traded_value[row] += bought
            order_chunks.append((decided_row, row, buys, q, p, fee))
        average_cost[shares == 0] = 0.0

    def check_fill_prices(orders: tuple, valid: np.ndarray, row: int) -> None:
        """Raise on the first (lowest-column) order whose fill price is not valid."""
        sells, _, buys, _, _ = orders
        traded = np.sort(np.concatenate([sells, buys]))
        bad = traded[~valid[traded]]
        if bad.size:
            raise BacktestInputError(
                f"no valid fill price for {symbols[bad[0]]} on {sessions[row].date()}"
            )

    for event_index, row in enumerate(event_rows.tolist()):
        if has_splits:
            ratio = split_ratio[row]
            split_assets = np.nonzero((ratio != 1.0) & (shares != 0))[0]
            if split_assets.size:
                new_shares = shares[split_assets] * ratio[split_assets]
                if not settings.fractional_shares:
                    # Fractional shares left by the split are paid out in cash at the open.
                    whole = np.trunc(new_shares)
                    cash += float(((new_shares - whole) * open_price[row, split_assets]).sum())
                    new_shares = whole
                average_cost[split_assets] *= shares[split_assets] / np.where(
                    new_shares == 0, 1, new_shares
                )
                shares[split_assets] = new_shares
            if pending is not None:
                sells, sell_quantity, buys, buy_quantity, decided_row = pending
                sell_quantity = sell_quantity * ratio[sells]
                buy_quantity = buy_quantity * ratio[buys]
                if not settings.fractional_shares:
                    sell_quantity, buy_quantity = np.trunc(sell_quantity), np.trunc(buy_quantity)
                sells, sell_quantity = sells[sell_quantity != 0], sell_quantity[sell_quantity != 0]
                buys, buy_quantity = buys[buy_quantity != 0], buy_quantity[buy_quantity != 0]
                pending = sells, sell_quantity, buys, buy_quantity, decided_row
        if has_dividends:
            cash += float(shares @ dividends[row])
        if pending is not None:
            fill_index = fill_at[row]
            if not fill_all_valid[fill_index]:
                check_fill_prices(pending, fill_price_valid[fill_index], row)
            fill(pending, open_price[row], row)
            pending = None
        decision = decision_at.get(row)
        if decision is not None:
            needed = (weighted[decision] | (shares != 0)).nonzero()[0]
            if not decision_all_valid[decision]:
                valid = decision_price_valid[decision, needed]
                if not valid.all():
                    raise BacktestInputError(
                        f"missing or non-positive price for {symbols[needed[~valid][0]]} "
                        f"on {sessions[row].date()}"
                    )
            portfolio_value = cash + float(shares @ mark[row])
            if portfolio_value < 0:
                raise BacktestInputError(
                    f"portfolio value turned negative on {sessions[row].date()}"
                )
            price = close_price[row]
            # Row first, then the assets: one fancy index instead of a mixed one (faster).
            wanted = target_quantities(
                target_weights[decision][needed], portfolio_value, price[needed], settings
            )
            delta = wanted - shares[needed]
            selling, buying = delta < 0, delta > 0
            orders = needed[selling], delta[selling], needed[buying], delta[buying], row
            if fill_next_open:
                if row + 1 < n_sessions:
                    pending = orders
            else:
                # The decision check above already covered every traded asset at this close.
                fill(orders, price, row)
        snapshot_shares[event_index] = shares
        snapshot_cash[event_index] = cash

    segment_lengths = np.diff(np.append(event_rows, n_sessions))
    # The holdings take the memory order of the marks: einsum's summation order, and so the
    # last bit of the equity, follows the layout, and a shared layout is the fast one. Prices
    # picked by column (as run_backtest does) are asset-major, which pandas also copies as is.
    if mark.flags.f_contiguous:
        holdings = np.repeat(snapshot_shares.T, segment_lengths, axis=1).T
    else:
        holdings = np.repeat(snapshot_shares, segment_lengths, axis=0)
    cash_series = np.repeat(snapshot_cash, segment_lengths)
    equity = cash_series + np.einsum("ij,ij->i", holdings, mark)

    fills = concatenate_fills(order_chunks)
    # Realized P&L of each sell, net of its fee: -quantity * (price - average cost) - fee.
    quantity, price, fee = fills[3:]
    sold = quantity < 0
    basis = np.concatenate(cost_basis) if cost_basis else np.zeros(0)
    realized_pnl = -quantity[sold] * (price[sold] - basis) - fee[sold]
    orders = orders_frame(fills, sessions, symbols)
    return SimulationOutput(
        equity=equity,
        holdings=holdings,
        cash=cash_series,
        orders=orders,
        realized_pnl=realized_pnl,
        traded_value=np.array(traded_value),
        total_fees=total_fees,
    )
