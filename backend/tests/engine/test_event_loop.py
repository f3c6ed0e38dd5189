"""The compiled event loop: its sums follow numpy's order exactly, it gives the same run from
a market's whole panels as from the traded assets' own arrays, and it is safe to call from
several threads at once (the HTTP server's thread pool does)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from app.engine import run_backtest, second_thread, simulator
from app.engine.errors import BacktestInputError
from app.engine.orders import ExecutionSettings
from app.engine.pairwise import new_pairwise_stack, pairwise_sum, pairwise_sum_on
from app.engine.simulator import simulate


@pytest.mark.parametrize("seed", [0, 1])
def test_pairwise_sum_equals_numpys_sum_bit_for_bit(seed):
    """numpy is the reference: ``ndarray.sum()`` sums pairwise in blocks of 8 and 128, and
    the loop's cash and portfolio values must reproduce it exactly. Sizes cover every branch
    (under 8, one block, two and more levels of halves) and magnitudes span 12 decades, so
    a different order would show in the last bits."""
    rng = np.random.default_rng(seed)
    stack = new_pairwise_stack()  # one work space for every sum, as the loop uses it
    for n in [*range(0, 140), 255, 256, 257, 300, 1000, 1023, 4099]:
        values = rng.standard_normal(n) * 10.0 ** rng.integers(-6, 6, n)
        assert pairwise_sum(values, 0, n) == float(values.sum()), n
        assert pairwise_sum_on(values, 0, n, stack) == float(values.sum()), n
        if n > 3:
            assert pairwise_sum(values, 3, n - 3) == float(values[3:].sum()), n
            assert pairwise_sum_on(values, 3, n - 3, stack) == float(values[3:].sum()), n


def test_whole_panels_and_column_arrays_give_the_same_run(small_synth):
    """The backtest path reads the market's panels in place (``columns``, ``first_row``);
    cutting the traded columns out first must change nothing."""
    data = small_synth
    columns = np.array([5, 1, 7, 12], dtype=np.int64)
    first, n = 40, 120
    sessions = data.sessions[first : first + n]
    rng = np.random.default_rng(4)
    decision_rows = np.arange(0, n - 1, 5)
    weights = rng.uniform(-0.2, 0.4, (decision_rows.size, columns.size))
    weights[rng.random(weights.shape) < 0.2] = np.nan
    common = dict(
        sessions=sessions,
        symbols=[data.symbols[c] for c in columns],
        decision_rows=decision_rows,
        target_weights=weights,
        initial_cash=100000.0,
        settings=ExecutionSettings(),
    )
    cut = simulate(
        **common,
        open_price=data.open[first : first + n][:, columns],
        close_price=data.close[first : first + n][:, columns],
    )
    whole = simulate(
        **common,
        open_price=data.open,
        close_price=data.close,
        mark_price=data.marks(),
        columns=columns,
        first_row=first,
    )
    assert len(cut.orders) > 10
    np.testing.assert_array_equal(whole.equity, cut.equity)
    np.testing.assert_array_equal(whole.holdings, cut.holdings)
    assert whole.orders.equals(cut.orders)
    assert whole.total_fees == cut.total_fees and whole.order_count == cut.order_count


def test_concurrent_backtests_agree_with_a_lone_one(small_synth, small_scores_path):
    params = {
        "strategy": "ml_score_vol_target",
        "score_csv_path": str(small_scores_path),
        "backtest_start": "2020-01-01",
        "backtest_end": "2021-06-30",
        "top_n": 10,
        "max_weight": 0.08,
        "max_exposure": 0.8,
        "risk_off_symbols": "VGSH,IEF,GLD,TLT",
    }
    targets = [0.03, 0.05, 0.08, 0.12]
    alone = [run_backtest({**params, "vol_target": v}, small_synth) for v in targets]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(
            pool.map(lambda v: run_backtest({**params, "vol_target": v}, small_synth), targets * 3)
        )
    for k, result in enumerate(together):
        expected = alone[k % len(targets)]
        np.testing.assert_array_equal(result.equity.to_numpy(), expected.equity.to_numpy())
        assert result.statistics == expected.statistics


def _random_run(seed: int, data) -> dict:
    """simulate() arguments for a random schedule on ``data``'s panels: longs and shorts,
    NaN and zero weights, leverage, fees, whole or fractional shares, close or next-open
    fills, dividends, splits and delistings."""
    rng = np.random.default_rng(seed)
    n_assets, first, n = 9, 30, 90
    columns = rng.choice(len(data.symbols), n_assets, replace=False).astype(np.int64)
    decision_rows = np.sort(rng.choice(n - 1, 25, replace=False))
    weights = rng.uniform(-0.3, 0.6, (decision_rows.size, n_assets)) * rng.choice([1.0, 3.0])
    weights[rng.random(weights.shape) < 0.15] = np.nan
    weights[rng.random(weights.shape) < 0.05] = 0.0
    shape = data.close.shape
    return dict(
        sessions=data.sessions[first : first + n],
        symbols=[data.symbols[c] for c in columns],
        open_price=data.open,
        close_price=data.close,
        mark_price=data.marks(),
        columns=columns,
        first_row=first,
        decision_rows=decision_rows,
        target_weights=weights,
        initial_cash=100000.0,
        settings=ExecutionSettings(
            fill_model=str(rng.choice(["close", "next_open"])),
            fractional_shares=bool(rng.random() < 0.5),
            fee_model=str(rng.choice(["none", "interactive_brokers", "bps"])),
            fee_bps=5.0,
            free_portfolio_value_percentage=float(rng.choice([0.0, 0.0025])),
            minimum_order_margin_percentage=float(rng.choice([0.0, 0.001])),
        ),
        leverage=rng.choice([1.0, 1.5, 2.0], n_assets),
        last_rows=np.where(rng.random(n_assets) < 0.2, rng.integers(40, n, n_assets), n),
        dividends=np.where(rng.random(shape) < 0.01, 0.5, 0.0),
        split_ratio=np.where(rng.random(shape) < 0.005, rng.choice([2.0, 0.5], shape), 1.0),
    )


def _same_run(one, other):
    for field in ("equity", "realized_pnl", "traded_value", "fills", "fill_rows"):
        assert getattr(one, field).tobytes() == getattr(other, field).tobytes(), field
    assert one.event_cash.tobytes() == other.event_cash.tobytes()
    assert one.holdings.tobytes() == other.holdings.tobytes()
    assert (one.total_fees, one.order_count) == (other.total_fees, other.order_count)


@pytest.mark.parametrize("seed", range(12))
def test_a_lone_decision_equals_the_general_path_of_several(small_synth, seed):
    """A close with one decision takes its orders as they are; with several, the loop adds
    them up per asset first. Doubling each decision with one that targets nothing (all NaN:
    no orders) sends every close through the general path, which must give the same run."""
    run = _random_run(seed, small_synth)
    lone = simulate(**run)
    rows, weights = run["decision_rows"], run["target_weights"]
    doubled = simulate(
        **{
            **run,
            "decision_rows": np.repeat(rows, 2),
            "target_weights": np.insert(weights, np.arange(1, rows.size + 1), np.nan, axis=0),
        }
    )
    assert len(lone.realized_pnl) > 0
    _same_run(lone, doubled)


@pytest.mark.parametrize("in_halves", [False, True])
@pytest.mark.parametrize("seed", range(6))
def test_equity_is_cash_plus_positions_marked_in_column_order(
    small_synth, seed, in_halves, monkeypatch
):
    """Several sessions are marked side by side, the events' two halves at once on two
    threads (runs of enough events x assets); each session's sum must still run left to
    right over the held assets, as a plain loop does."""
    monkeypatch.setattr(simulator, "_SPLIT_EVENT_CELLS", 0 if in_halves else 10**12)
    run = _random_run(seed, small_synth)
    out = simulate(**run)
    mark = small_synth.marks()[run["first_row"] :][:, run["columns"]]
    for t in range(len(out.equity)):
        marked = 0.0
        for a in range(len(run["columns"])):
            if out.holdings[t, a] != 0:
                marked += out.holdings[t, a] * mark[t, a]
        assert out.equity[t] == out.cash[t] + marked, t


def test_reducing_orders_come_first_in_their_order():
    """A sell of a long or a buy of a short fills first; each group keeps its order."""
    from app.engine.loop_steps import reducing_first

    rng = np.random.default_rng(3)
    shares = rng.choice([-2.0, 0.0, 3.0], 40)
    assets = np.sort(rng.choice(40, 30, replace=False)).astype(np.int64)
    quantity = rng.choice([-1.0, 1.0], 30) * rng.uniform(0.5, 2.0, 30)
    price = rng.uniform(1, 9, 30)
    out = np.empty(30, dtype=np.int64), np.empty(30), np.empty(30)
    reducing_first(assets.copy(), quantity.copy(), price.copy(), 30, shares, *out)
    reducing = shares[assets] * quantity < 0
    order = np.concatenate([np.flatnonzero(reducing), np.flatnonzero(~reducing)])
    assert 0 < reducing.sum() < 30
    np.testing.assert_array_equal(out[0], assets[order])
    np.testing.assert_array_equal(out[1], quantity[order])
    np.testing.assert_array_equal(out[2], price[order])


def test_a_leverage_not_above_zero_is_refused():
    sessions = pd.bdate_range("2021-01-04", periods=3)
    price = np.array([[10.0], [11.0], [12.0]])
    with pytest.raises(BacktestInputError, match="leverage"):
        simulate(
            sessions=sessions,
            symbols=["A"],
            open_price=price,
            close_price=price,
            decision_rows=np.array([0]),
            target_weights=np.array([[0.5]]),
            initial_cash=1000.0,
            settings=ExecutionSettings(),
            leverage=np.array([0.0]),
        )


def test_a_worker_takes_no_second_core(small_synth, monkeypatch):
    """A worker process runs its backtests in one thread (its sweep's other workers keep
    the other cores busy), with the same results."""
    run = _random_run(0, small_synth)
    monkeypatch.setattr(simulator, "_SPLIT_EVENT_CELLS", 0)
    lone = simulate(**run)
    second_thread.use_one_thread()
    assert second_thread.second_thread() is None
    _same_run(lone, simulate(**run))


@pytest.mark.parametrize("fee_model", ["none", "interactive_brokers"])
def test_fills_and_their_rows_are_built_from_the_loops_record(fee_model):
    """The loop records each fill's asset, quantity, price and fee in columns (no fees without
    a fee model) and the rows once per batch; ``fills`` and ``fill_rows`` are built from them
    when first asked: (n, 4) floats and (n, 2) integers, one row per fill in fill order."""
    rng = np.random.default_rng(3)
    n, n_assets = 30, 6
    price = 50.0 * np.exp(np.cumsum(rng.normal(0, 0.02, (n, n_assets)), axis=0))
    decision_rows = np.arange(0, n - 1, 4)
    out = simulate(
        sessions=pd.bdate_range("2021-01-04", periods=n),
        symbols=[f"S{a}" for a in range(n_assets)],
        open_price=price,
        close_price=price,
        decision_rows=decision_rows,
        target_weights=rng.uniform(-0.1, 0.3, (decision_rows.size, n_assets)),
        initial_cash=100000.0,
        settings=ExecutionSettings(fill_model="next_open", fee_model=fee_model),
    )
    n_fills = out.fill_assets.size
    assert n_fills > 20 and out.fill_batches[:, 2].sum() == n_fills
    assert out.fills.dtype == np.float64 and out.fills.shape == (n_fills, 4)
    assert out.fill_rows.dtype == np.int64 and out.fill_rows.shape == (n_fills, 2)
    np.testing.assert_array_equal(out.fills[:, 0], out.fill_assets)
    np.testing.assert_array_equal(out.fills[:, 1], out.fill_quantity)
    np.testing.assert_array_equal(out.fills[:, 2], out.fill_price)
    if fee_model == "none":
        assert out.fill_fees.size == 0 and not out.fills[:, 3].any()
    else:
        np.testing.assert_array_equal(out.fills[:, 3], out.fill_fees)
        assert out.total_fees == pytest.approx(out.fill_fees.sum())
    # Orders decided at a close fill at the next open.
    assert set(out.fill_rows[:, 0]) <= set(decision_rows)
    np.testing.assert_array_equal(out.fill_rows[:, 1], out.fill_rows[:, 0] + 1)
    assert len(out.orders) == n_fills
