"""Daily-bar portfolio simulator, LEAN-compatible by default (DESIGN §5).

A strategy hands over a *target schedule*: on decision session t (after its close) the
portfolio should hold ``weights[k]`` of its value in each asset. By default the orders fill
at session t+1's open, in whole shares (rounded toward zero), sells before buys, with
Interactive Brokers US-equity fees, sizing on the decision close and on the portfolio value
less the 0.25 % kept free. In raw mode dividends arrive as cash on the ex-date and splits
change share counts. The loop runs over sessions with numpy rows only.
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
    if settings.fee_model == "interactive_brokers":
        return interactive_brokers_fees(quantity, price)
    if settings.fee_model == "bps":
        return np.abs(quantity) * price * settings.fee_bps / 10000.0
    return np.zeros_like(price)


def target_quantities(
    weights: np.ndarray, portfolio_value: float, price: np.ndarray, settings: ExecutionSettings
) -> np.ndarray:
    """Shares to hold: weight * portfolio_value * (1 - free_fraction) / price, rounded toward
    zero unless fractional shares are on (LEAN's SetHoldings sizing)."""
    usable = portfolio_value * (1.0 - settings.free_portfolio_value_percentage)
    with np.errstate(divide="ignore", invalid="ignore"):
        quantity = np.where(weights != 0, weights * usable / price, 0.0)
    return quantity if settings.fractional_shares else np.trunc(quantity)


def orders_frame(chunks: list[tuple], sessions: pd.DatetimeIndex, symbols) -> pd.DataFrame:
    """One row per fill from the (decided_row, fill_row, assets, qty, price, fee) chunks."""
    if chunks:
        sizes = [len(chunk[2]) for chunk in chunks]
        decided = np.repeat([chunk[0] for chunk in chunks], sizes)
        filled = np.repeat([chunk[1] for chunk in chunks], sizes)
        assets = np.concatenate([chunk[2] for chunk in chunks])
        quantity, price, fee = (np.concatenate([chunk[k] for chunk in chunks]) for k in (3, 4, 5))
    else:
        decided = filled = assets = np.zeros(0, dtype=np.int64)
        quantity = price = fee = np.zeros(0)
    return pd.DataFrame(
        {
            "decision_date": sessions[decided],
            "fill_date": sessions[filled],
            "symbol": np.asarray(symbols, dtype=object)[assets],
            "quantity": quantity,
            "price": price,
            "fee": fee,
            "value": quantity * price,
        }
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
    ``target_weights[k]``. ``dividends``/``split_ratio`` are applied only when given (raw mode)."""
    n_sessions, n_assets = close_price.shape
    # Valuation uses the last known close of each asset (a missing bar keeps its old mark).
    mark = close_price
    if np.isnan(mark).any():
        mark = pd.DataFrame(close_price).ffill().fillna(0.0).to_numpy()
    decisions_at = np.full(n_sessions, -1, dtype=np.int64)
    decisions_at[np.asarray(decision_rows, dtype=np.int64)] = np.arange(len(decision_rows))
    fill_next_open = settings.fill_model == "next_open"

    shares = np.zeros(n_assets)
    average_cost = np.zeros(n_assets)
    cash = float(initial_cash)
    # Between events (decisions, fills, dividends, splits) nothing changes but prices, so
    # the loop visits event rows only and the daily series are filled in afterwards.
    event = np.zeros(n_sessions, dtype=bool)
    event[0] = True
    decision_rows = np.asarray(decision_rows, dtype=np.int64)
    event[decision_rows] = True
    if fill_next_open:
        event[decision_rows[decision_rows + 1 < n_sessions] + 1] = True
    has_dividends = dividends is not None and bool(np.any(dividends))
    has_splits = split_ratio is not None and bool(np.any(split_ratio != 1.0))
    if has_dividends:
        event |= np.any(dividends != 0, axis=1)
    if has_splits:
        event |= np.any(split_ratio != 1.0, axis=1)
    event_rows = np.nonzero(event)[0]
    snapshot_shares = np.empty((len(event_rows), n_assets))
    snapshot_cash = np.empty(len(event_rows))
    traded_value = np.zeros(n_sessions)
    pending: np.ndarray | None = None  # order quantities waiting for the next open
    pending_decided = -1
    order_chunks: list[tuple] = []
    realized: list[float] = []
    total_fees = 0.0

    def execute(quantity: np.ndarray, price: np.ndarray, row: int, decided_row: int) -> None:
        nonlocal cash, total_fees
        traded = np.nonzero(quantity)[0]
        if traded.size == 0:
            return
        bad = traded[~(np.isfinite(price[traded]) & (price[traded] > 0))]
        if bad.size:
            raise BacktestInputError(
                f"no valid fill price for {symbols[bad[0]]} on {sessions[row].date()}"
            )
        sells = traded[quantity[traded] < 0]
        buys = traded[quantity[traded] > 0]
        if sells.size:
            q = quantity[sells]
            p = price[sells]
            fee = order_fees(q, p, settings)
            proceeds = -q * p
            cash += float(proceeds.sum() - fee.sum())
            pnl = -q * (p - average_cost[sells]) - fee
            realized.extend(pnl.tolist())
            shares[sells] += q
            total_fees += float(fee.sum())
            traded_value[row] += float(proceeds.sum())
            order_chunks.append((decided_row, row, sells, q, p, fee))
        if buys.size:
            q = quantity[buys]
            p = price[buys]
            fee = order_fees(q, p, settings)
            cost = float((q * p).sum() + fee.sum())
            if cost > cash:
                # Scale the buys down to the cash available (whole shares stay whole).
                scale = max(cash, 0.0) / cost
                for _ in range(50):
                    scaled = q * scale if settings.fractional_shares else np.floor(q * scale)
                    fee = order_fees(scaled, p, settings)
                    cost = float((scaled * p).sum() + fee.sum())
                    if cost <= cash + 1e-9:
                        break
                    scale *= max(cash, 0.0) / cost * (1 - 1e-12)
                keep = scaled > 0
                q, p, fee, buys = scaled[keep], p[keep], fee[keep], buys[keep]
                cost = float((q * p).sum() + fee.sum())
            held = shares[buys]
            average_cost[buys] = (held * average_cost[buys] + q * p) / (held + q)
            shares[buys] += q
            cash -= cost
            total_fees += float(fee.sum())
            traded_value[row] += float((q * p).sum())
            order_chunks.append((decided_row, row, buys, q, p, fee))
        flat = shares == 0
        average_cost[flat] = 0.0

    for event_index, row in enumerate(event_rows):
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
                pending = (
                    np.trunc(pending * ratio) if not settings.fractional_shares else pending * ratio
                )
        if has_dividends:
            cash += float(shares @ dividends[row])
        if pending is not None:
            execute(pending, open_price[row], row, pending_decided)
            pending = None
        decision = decisions_at[row]
        if decision >= 0:
            price = close_price[row]
            weights = target_weights[decision]
            needed = np.nonzero((weights != 0) | (shares != 0))[0]
            bad = needed[~(np.isfinite(price[needed]) & (price[needed] > 0))]
            if bad.size:
                raise BacktestInputError(
                    f"missing or non-positive price for {symbols[bad[0]]} on {sessions[row].date()}"
                )
            portfolio_value = cash + float(shares @ mark[row])
            if portfolio_value < 0:
                raise BacktestInputError(
                    f"portfolio value turned negative on {sessions[row].date()}"
                )
            wanted = target_quantities(weights, portfolio_value, price, settings)
            delta = wanted - shares
            if fill_next_open:
                if row + 1 < n_sessions:
                    pending, pending_decided = delta, row
            else:
                execute(delta, price, row, row)
        snapshot_shares[event_index] = shares
        snapshot_cash[event_index] = cash

    latest_event = np.searchsorted(event_rows, np.arange(n_sessions), side="right") - 1
    holdings = snapshot_shares[latest_event]
    cash_series = snapshot_cash[latest_event]
    equity = cash_series + np.einsum("ij,ij->i", holdings, mark)

    orders = orders_frame(order_chunks, sessions, symbols)
    return SimulationOutput(
        equity=equity,
        holdings=holdings,
        cash=cash_series,
        orders=orders,
        realized_pnl=np.asarray(realized),
        traded_value=traded_value,
        total_fees=total_fees,
    )
