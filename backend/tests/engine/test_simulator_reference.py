"""The event-driven simulator and the vectorised top-n choice against straightforward
references: a loop over every session on full-width arrays (the simulator's definition, with
no skipping of quiet days and no per-rebalance precomputation) and a per-day sort."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from app.engine.errors import BacktestInputError
from app.engine.simulator import ExecutionSettings, order_fees, simulate
from app.engine.strategies import top_scores


def reference_simulate(
    open_price: np.ndarray,
    close_price: np.ndarray,
    decision_rows: np.ndarray,
    target_weights: np.ndarray,
    initial_cash: float,
    settings: ExecutionSettings,
    dividends: np.ndarray | None = None,
    split_ratio: np.ndarray | None = None,
) -> dict:
    """Session by session: splits and dividends at the open, then yesterday's orders at the
    open (next_open), then today's decision at the close; equity = cash + shares . mark."""
    n_sessions, n_assets = close_price.shape
    mark = pd.DataFrame(close_price).ffill().fillna(0.0).to_numpy()
    decision_of = {int(row): k for k, row in enumerate(decision_rows)}
    free = settings.free_portfolio_value_percentage
    shares = np.zeros(n_assets)
    average_cost = np.zeros(n_assets)
    cash = float(initial_cash)
    pending = None
    fills, realized = [], []
    equity, holdings = np.zeros(n_sessions), np.zeros((n_sessions, n_assets))
    traded_value = np.zeros(n_sessions)
    total_fees = 0.0

    def valid(price):
        return np.isfinite(price) & (price > 0)

    def execute(quantity, price, row, decided):
        nonlocal cash, total_fees
        traded = np.flatnonzero(quantity)
        if traded.size and not valid(price[traded]).all():
            raise BacktestInputError("no valid fill price")
        sells, buys = traded[quantity[traded] < 0], traded[quantity[traded] > 0]
        if sells.size:
            q, p = quantity[sells], price[sells]
            fee = order_fees(q, p, settings)
            cash += float((-q * p).sum() - fee.sum())
            realized.extend(-q * (p - average_cost[sells]) - fee)
            shares[sells] += q
            total_fees += float(fee.sum())
            traded_value[row] += float((-q * p).sum())
            fills.extend(zip([decided] * q.size, [row] * q.size, sells, q, p, fee, strict=True))
        if buys.size:
            q, p = quantity[buys], price[buys]
            fee = order_fees(q, p, settings)
            cost = float((q * p).sum() + fee.sum())
            if cost > cash:
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
            with np.errstate(invalid="ignore", divide="ignore"):
                average_cost[buys] = (held * average_cost[buys] + q * p) / (held + q)
            shares[buys] += q
            cash -= cost
            total_fees += float(fee.sum())
            traded_value[row] += float((q * p).sum())
            fills.extend(zip([decided] * q.size, [row] * q.size, buys, q, p, fee, strict=True))
        average_cost[shares == 0] = 0.0

    for row in range(n_sessions):
        if split_ratio is not None:
            ratio = split_ratio[row]
            split = np.flatnonzero((ratio != 1.0) & (shares != 0))
            if split.size:
                new = shares[split] * ratio[split]
                if not settings.fractional_shares:
                    cash += float(((new - np.trunc(new)) * open_price[row, split]).sum())
                    new = np.trunc(new)
                average_cost[split] *= shares[split] / np.where(new == 0, 1, new)
                shares[split] = new
            if pending is not None:
                pending = (
                    pending[0] * ratio
                    if settings.fractional_shares
                    else np.trunc(pending[0] * ratio),
                    pending[1],
                )
        if dividends is not None:
            cash += float(shares @ dividends[row])
        if pending is not None:
            execute(pending[0], open_price[row], row, pending[1])
            pending = None
        if row in decision_of:
            weights = target_weights[decision_of[row]]
            price = close_price[row]
            needed = (weights != 0) | (shares != 0)
            if not valid(price[needed]).all():
                raise BacktestInputError("missing or non-positive price")
            value = cash + float(shares @ mark[row])
            if value < 0:
                raise BacktestInputError("portfolio value turned negative")
            with np.errstate(invalid="ignore", divide="ignore"):
                wanted = np.where(weights != 0, weights * (value * (1.0 - free)) / price, 0.0)
            if not settings.fractional_shares:
                wanted = np.trunc(wanted)
            if settings.fill_model == "close":
                execute(wanted - shares, price, row, row)
            elif row + 1 < n_sessions:
                pending = (wanted - shares, row)
        holdings[row] = shares
        equity[row] = cash + float(shares @ mark[row])
    columns = list(zip(*fills, strict=True)) if fills else [[]] * 6
    return {
        "equity": equity,
        "holdings": holdings,
        "fills": [np.asarray(c, dtype=float) for c in columns],
        "realized": np.asarray(realized, dtype=float),
        "traded_value": traded_value,
        "total_fees": total_fees,
    }


def random_case(seed: int) -> dict:
    """A random price panel and target schedule; odd seeds trade in raw mode with splits and
    dividends, some are fully invested (buys scaled down to the cash), some hold gaps in the
    prices, short positions or a missing price that must stop the run."""
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
        # Fully invested: buys sized on the close often cost more than the cash at the open.
        weights = rng.dirichlet(np.ones(n_assets), n_decisions)
    if seed % 3 == 0:
        # Missing bars in an asset no decision ever wants (its mark is carried forward).
        weights[:, 0] = 0.0
        gaps = rng.random(n_sessions) < 0.3
        close[gaps, 0] = np.nan
        open_[gaps, 0] = np.nan
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
        close[row, np.flatnonzero(weights[-1])[:1]] = np.nan
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
        "dividends": dividends,
        "split_ratio": split_ratio,
    }


# Covering a short position exactly divides its average cost by zero shares before it resets.
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
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

    # Same decisions, so the same orders and holdings to the bit; the equity differs at
    # most by the order of a sum (one dot product per day here, one einsum there).
    np.testing.assert_array_equal(output.holdings, expected["holdings"])
    decided, filled, assets, quantity, price, fee = expected["fills"]
    orders = output.orders
    assert orders["decision_date"].tolist() == list(sessions[decided.astype(int)])
    assert orders["fill_date"].tolist() == list(sessions[filled.astype(int)])
    assert orders["symbol"].tolist() == [symbols[int(a)] for a in assets]
    np.testing.assert_array_equal(orders["quantity"].to_numpy(), quantity)
    np.testing.assert_array_equal(orders["price"].to_numpy(), price)
    np.testing.assert_array_equal(orders["fee"].to_numpy(), fee)
    np.testing.assert_array_equal(output.realized_pnl, expected["realized"])
    np.testing.assert_array_equal(output.traded_value, expected["traded_value"])
    assert output.total_fees == expected["total_fees"]
    np.testing.assert_allclose(output.equity, expected["equity"], rtol=1e-13, atol=1e-9)


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
