"""The event-driven simulator and the vectorised top-n choice against straightforward
references: a scalar loop over every session, every asset and every share adjustment, written
from LEAN's C# rules (``InteractiveBrokersFeeModel``, ``BuyingPowerModel.
GetMaximumOrderQuantityForTargetBuyingPower``, ``SecurityHolding``) without importing anything
from the simulator's modules but its settings record, and a per-day sort."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from app.engine.errors import BacktestInputError
from app.engine.orders import ExecutionSettings
from app.engine.simulator import simulate
from app.engine.vol_target import top_scores


def reference_fee(quantity: float, price: float, settings: ExecutionSettings) -> float:
    """LEAN's IB equity fee: 0.005/share; under $1 -> $1; else at most 0.5 % of the value."""
    shares = abs(quantity)
    if shares == 0 or settings.fee_model == "none":
        return 0.0
    if settings.fee_model == "bps":
        return shares * price * settings.fee_bps / 10000.0
    fee = 0.005 * shares
    if fee < 1.0:
        return 1.0
    return min(fee, 0.005 * shares * abs(price))


def reference_quantity(weight, held, price, value, leverage, settings) -> float:
    """GetMaximumOrderQuantityForTargetBuyingPower, one asset, step by step."""
    if weight == 0:
        return -held
    free = value * settings.free_portfolio_value_percentage
    target = weight * (value - free)
    current = held * price
    final_margin = abs(target - current)
    if final_margin / leverage < settings.minimum_order_margin_percentage * value:
        return 0.0
    direction = 1.0 if target > current else -1.0
    if settings.fractional_shares:
        return direction * final_margin / price
    quantity = math.floor(final_margin / price)
    if quantity == 0:
        return 0.0
    while True:
        if abs((held + direction * quantity) * price) > abs(target):
            needed = (quantity * price - final_margin) / price
            quantity -= math.floor(needed) if needed < 0 else math.ceil(needed)
        if quantity <= 0:
            return 0.0
        fee = reference_fee(direction * quantity, price, settings)
        target = weight * (value - fee - free)
        final_margin = abs(target - current)
        if abs((held + direction * quantity) * price) <= abs(target):
            return direction * quantity


def reference_simulate(
    open_price: np.ndarray,
    close_price: np.ndarray,
    decision_rows: np.ndarray,
    target_weights: np.ndarray,
    initial_cash: float,
    settings: ExecutionSettings,
    leverage: np.ndarray,
    last_rows: np.ndarray,
    dividends: np.ndarray | None = None,
    split_ratio: np.ndarray | None = None,
) -> dict:
    """Session by session: splits and dividends at the open, yesterday's orders at the open
    (next_open), today's decision at the close, then a delisted asset's close-out;
    equity = cash + shares . mark."""
    n_sessions, n_assets = close_price.shape
    mark = pd.DataFrame(close_price).ffill().fillna(0.0).to_numpy()
    decision_of = {int(row): k for k, row in enumerate(decision_rows)}
    shares = [0.0] * n_assets
    average = [0.0] * n_assets
    cash = float(initial_cash)
    pending: list = []
    fills, closing = [], []
    equity, holdings = np.zeros(n_sessions), np.zeros((n_sessions, n_assets))
    traded_value = np.zeros(n_sessions)
    total_fees = 0.0
    order_count = 0

    def execute(orders, prices, row, decided):
        nonlocal cash, total_fees
        for asset, quantity in orders:
            price = float(prices[asset])
            if not (math.isfinite(price) and price > 0):
                raise BacktestInputError("no valid fill price")
            fee = reference_fee(quantity, price, settings)
            held = shares[asset]
            if held != 0 and (quantity > 0) != (held > 0):
                closed = min(abs(quantity), abs(held))
                pnl = closed * (price - average[asset]) * (1 if held > 0 else -1)
                closing.append(pnl - 2 * fee)
                after = held + quantity
                if after == 0:
                    average[asset] = 0.0
                elif (after > 0) != (held > 0):
                    average[asset] = price
            else:
                average[asset] = (held * average[asset] + quantity * price) / (held + quantity)
            shares[asset] = held + quantity
            cash -= quantity * price + fee
            total_fees += fee
            traded_value[row] += abs(quantity * price)
            fills.append((decided, row, asset, quantity, price, fee))

    for row in range(n_sessions):
        if split_ratio is not None:
            for asset in range(n_assets):
                ratio = split_ratio[row, asset]
                if ratio != 1.0 and shares[asset] != 0:
                    new = shares[asset] * ratio
                    if not settings.fractional_shares:
                        # The fraction is paid at the split-adjusted last close.
                        last = mark[row - 1, asset] if row else open_price[row, asset]
                        cash += (new - math.trunc(new)) * (last / ratio)
                        new = float(math.trunc(new))
                    average[asset] = 0.0 if new == 0 else average[asset] * shares[asset] / new
                    shares[asset] = new
            if pending:
                scaled = [(a, q * split_ratio[row, a]) for a, q in pending[0]]
                if not settings.fractional_shares:
                    scaled = [(a, float(math.trunc(q))) for a, q in scaled]
                pending = [[(a, q) for a, q in scaled if q != 0], pending[1]]
        if dividends is not None:
            cash += sum(shares[a] * dividends[row, a] for a in range(n_assets))
        if pending:
            execute(pending[0], open_price[row], row, pending[1])
            pending = []
        if row in decision_of:
            weights = target_weights[decision_of[row]]
            alive = [
                a
                for a in range(n_assets)
                if (last_rows[a] > row if settings.fill_model == "next_open" else True)
            ]
            needed = [
                a
                for a in alive
                if math.isfinite(weights[a]) and (weights[a] != 0 or shares[a] != 0)
            ]
            price = close_price[row]
            if any(not (math.isfinite(price[a]) and price[a] > 0) for a in needed):
                raise BacktestInputError("missing or non-positive price")
            value = cash + sum(shares[a] * mark[row, a] for a in range(n_assets))
            if value < 0:
                raise BacktestInputError("portfolio value turned negative")
            margin_left = value - sum(
                abs(shares[a]) * mark[row, a] / leverage[a] for a in range(n_assets)
            )
            orders = []
            for a in needed:
                q = reference_quantity(
                    weights[a], shares[a], price[a], value, leverage[a], settings
                )
                if q == 0:
                    continue
                order_count += 1
                added = (abs(shares[a] + q) - abs(shares[a])) * price[a] / leverage[a]
                if added > 0:
                    if added + reference_fee(q, price[a], settings) > margin_left + 1e-9:
                        continue  # invalid: counted, never filled
                    margin_left -= added
                orders.append((a, q))
            reducing = [(a, q) for a, q in orders if shares[a] != 0 and (q > 0) != (shares[a] > 0)]
            orders = reducing + [o for o in orders if o not in reducing]
            if settings.fill_model == "close":
                execute(orders, price, row, row)
            elif row + 1 < n_sessions and orders:
                pending = [orders, row]
        ending = [(a, -shares[a]) for a in range(n_assets) if last_rows[a] == row and shares[a]]
        order_count += len(ending)
        execute(ending, close_price[row], row, row)
        holdings[row] = shares
        equity[row] = cash + sum(shares[a] * mark[row, a] for a in range(n_assets))
    columns = list(zip(*fills, strict=True)) if fills else [[]] * 6
    return {
        "equity": equity,
        "holdings": holdings,
        "fills": [np.asarray(c, dtype=float) for c in columns],
        "closing": np.asarray(closing, dtype=float),
        "traded_value": traded_value,
        "total_fees": total_fees,
        "order_count": order_count,
    }


def random_case(seed: int) -> dict:
    """A random price panel and target schedule; odd seeds trade in raw mode with splits and
    dividends; some use leverage 1 (rotations then meet LEAN's margin check), some short,
    some hold gaps in the prices, an asset whose data ends (delisting) or a missing price that
    must stop the run."""
    rng = np.random.default_rng(seed)
    n_sessions, n_assets = int(rng.integers(20, 90)), int(rng.integers(2, 12))
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, (n_sessions, n_assets)), axis=0))
    open_ = close * np.exp(rng.normal(0, 0.01, close.shape))
    n_decisions = int(rng.integers(1, max(2, n_sessions // 3)))
    decision_rows = np.sort(rng.choice(n_sessions, n_decisions, replace=False))
    weights = rng.dirichlet(np.ones(n_assets), n_decisions) * rng.uniform(
        0.3, 1.0, (n_decisions, 1)
    )
    weights[rng.random(weights.shape) < 0.4] = 0.0
    if seed % 5 == 0:
        weights[rng.random(weights.shape) < 0.2] *= -0.5  # some shorts
    if seed % 4 in (1, 2):
        weights = rng.dirichlet(np.ones(n_assets), n_decisions)  # fully invested
    leverage = rng.choice([1.0, 2.0, 4.0], n_assets) if seed % 4 == 1 else np.full(n_assets, 2.0)
    if seed % 6 == 4:
        weights[rng.random(weights.shape) < 0.3] = np.nan  # no target: holding left alone
    if seed % 3 == 0:
        # Missing bars in an asset no decision ever wants (its mark is carried forward).
        weights[:, 0] = 0.0
        gaps = rng.random(n_sessions) < 0.3
        close[gaps, 0] = np.nan
        open_[gaps, 0] = np.nan
    last_rows = np.full(n_assets, n_sessions)
    if seed % 8 == 2:
        # The last asset's data ends mid-window: closed at its last close (delisting).
        end = int(rng.integers(n_sessions // 2, n_sessions - 1))
        close[end + 1 :, -1] = np.nan
        open_[end + 1 :, -1] = np.nan
        last_rows[-1] = end
    settings = ExecutionSettings(
        fill_model=["next_open", "close"][seed % 2],
        fractional_shares=bool(rng.integers(2)),
        fee_model=["interactive_brokers", "bps", "none"][seed % 3],
        fee_bps=float(rng.uniform(0, 30)),
        free_portfolio_value_percentage=float(rng.choice([0.0, 0.0025, 0.05])),
    )
    if seed % 7 == 3:
        # A missing close of a wanted asset: both must refuse to size on it.
        row = decision_rows[-1]
        close[row, np.flatnonzero(np.nan_to_num(weights[-1]))[:1]] = np.nan
    dividends = split_ratio = None
    if seed % 2:
        dividends = np.where(rng.random(close.shape) < 0.03, rng.uniform(0.1, 1.0), 0.0)
        split_ratio = np.where(rng.random(close.shape) < 0.02, rng.choice([2.0, 3.0, 0.5]), 1.0)
    return {
        "open_price": open_,
        "close_price": close,
        "decision_rows": decision_rows,
        "target_weights": weights,
        "initial_cash": float(rng.choice([1000.0, 100000.0])),
        "settings": settings,
        "leverage": leverage,
        "last_rows": last_rows,
        "dividends": dividends,
        "split_ratio": split_ratio,
    }


@pytest.mark.parametrize("seed", range(60))
def test_simulator_equals_the_session_by_session_reference(seed):
    case = random_case(seed)
    n_sessions, n_assets = case["close_price"].shape
    sessions = pd.bdate_range("2021-01-04", periods=n_sessions)
    symbols = [f"S{i}" for i in range(n_assets)]
    try:
        expected = reference_simulate(**case)
    except BacktestInputError:
        with pytest.raises(BacktestInputError):
            simulate(sessions=sessions, symbols=symbols, **case)
        return
    output = simulate(sessions=sessions, symbols=symbols, **case)

    # Same rules, so the same orders and holdings; money sums may differ in the last bits
    # (the order of additions differs between the scalar and the array code).
    np.testing.assert_allclose(output.holdings, expected["holdings"], rtol=1e-12, atol=1e-9)
    decided, filled, assets, quantity, price, fee = expected["fills"]
    orders = output.orders
    assert orders["decision_date"].tolist() == list(sessions[decided.astype(int)])
    assert orders["fill_date"].tolist() == list(sessions[filled.astype(int)])
    assert orders["symbol"].tolist() == [symbols[int(a)] for a in assets]
    np.testing.assert_allclose(orders["quantity"].to_numpy(), quantity, rtol=1e-12)
    np.testing.assert_array_equal(orders["price"].to_numpy(), price)
    np.testing.assert_allclose(orders["fee"].to_numpy(), fee, rtol=1e-12)
    np.testing.assert_allclose(output.realized_pnl, expected["closing"], rtol=1e-9, atol=1e-6)
    np.testing.assert_allclose(output.traded_value, expected["traded_value"], rtol=1e-12)
    assert output.total_fees == pytest.approx(expected["total_fees"], rel=1e-12)
    assert output.order_count == expected["order_count"]
    np.testing.assert_allclose(output.equity, expected["equity"], rtol=1e-11, atol=1e-6)


def reference_top_scores(scores: np.ndarray, eligible: np.ndarray, top_n: int) -> np.ndarray:
    """Per day: the eligible names sorted by score, highest first, ties by column."""
    chosen = np.zeros_like(eligible)
    for day in range(scores.shape[0]):
        names = np.flatnonzero(eligible[day])
        ranked = names[np.argsort(-scores[day, names], kind="stable")]
        chosen[day, ranked[:top_n]] = True
    return chosen


@pytest.mark.parametrize("top_n", [1, 3, 10, 40])
def test_top_scores_equals_a_per_day_sort_with_ties(top_n):
    rng = np.random.default_rng(top_n)
    scores = rng.integers(0, 6, (50, 30)).astype(float)  # many ties at the cutoff
    scores[rng.random(scores.shape) < 0.1] = np.nan
    eligible = np.isfinite(scores) & (rng.random(scores.shape) < 0.8)
    np.testing.assert_array_equal(
        top_scores(scores, eligible, top_n), reference_top_scores(scores, eligible, top_n)
    )
