"""The compiled event loop: its sums follow numpy's order exactly, it gives the same run from
a market's whole panels as from the traded assets' own arrays, and it is safe to call from
several threads at once (the HTTP server's thread pool does)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from app.engine import run_backtest
from app.engine.orders import ExecutionSettings
from app.engine.pairwise import pairwise_sum
from app.engine.simulator import simulate


@pytest.mark.parametrize("seed", [0, 1])
def test_pairwise_sum_equals_numpys_sum_bit_for_bit(seed):
    """numpy is the reference: ``ndarray.sum()`` sums pairwise in blocks of 8 and 128, and
    the loop's cash and portfolio values must reproduce it exactly. Sizes cover every branch
    (under 8, one block, two and more levels of halves) and magnitudes span 12 decades, so
    a different order would show in the last bits."""
    rng = np.random.default_rng(seed)
    for n in [*range(0, 140), 255, 256, 257, 300, 1000, 1023, 4099]:
        values = rng.standard_normal(n) * 10.0 ** rng.integers(-6, 6, n)
        assert pairwise_sum(values, 0, n) == float(values.sum()), n
        if n > 3:
            assert pairwise_sum(values, 3, n - 3) == float(values[3:].sum()), n


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
