"""Engine benchmark (prints numbers, asserts nothing).

    .venv/bin/python backend/benchmarks/bench_engine.py

1. Generates the 500-stock SYNTHETIC demo market into a temp dir and times loading it.
2. Times one ml_score_vol_target backtest 2020-01-01 .. 2026-01-13, weekly, on momentum proxy
   scores (the scores file is parsed once per process and cached, as in a sweep).
3. Replays the same target-weight schedule with ``bt`` (fractional shares, close fills, no
   fees, nothing kept free) and with our engine on the same settings, and reports the largest
   relative difference between the two equity curves and the speed ratio.

Our runs take milliseconds, so they are repeated 21 times (a shared machine's noise then moves
the median less); bt's take seconds and run 3 times.
"""

from __future__ import annotations

import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine import load_market_data, run_backtest
from app.engine.backtest import normalize_params, window_rows
from app.engine.simulator import ExecutionSettings, simulate
from app.engine.store import write_parquet_store
from app.engine.strategies import STRATEGIES
from app.engine.synth import generate_synthetic_market, momentum_scores


def timed(function, repeats: int) -> tuple[float, object]:
    durations = []
    value = None
    for _ in range(repeats):
        start = time.perf_counter()
        value = function()
        durations.append(time.perf_counter() - start)
    return statistics.median(durations), value


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main() -> None:
    import os

    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "data"
        start = time.perf_counter()
        market = generate_synthetic_market(seed=7, n_stocks=500)
        generate_seconds = time.perf_counter() - start
        write_parquet_store(market, store)
        load_seconds, data = timed(lambda: load_market_data("parquet", store), 5)
        scores_path = Path(tmp) / "scores.csv"
        momentum_scores(data).to_csv(scores_path, index=False)

        params = {
            "strategy": "ml_score_vol_target",
            "score_csv_path": str(scores_path),
            "backtest_start": "2020-01-01",
            "backtest_end": "2026-01-13",
            "rebalance": "weekly",
            "top_n": 25,
            "max_weight": 0.035,
            "max_exposure": 0.70,
            "vol_target": 0.050,
            "risk_off_symbols": "VGSH,IEF,GLD,TLT",
        }
        run_backtest(params, data)  # parse and cache the scores file
        backtest_seconds, result = timed(lambda: run_backtest(params, data), 21)

        # The same schedule through bt and through our simulator with bt's conventions.
        import bt

        normalized = normalize_params(params)
        first, last = window_rows(data, normalized["backtest_start"], normalized["backtest_end"])
        schedule = STRATEGIES["ml_score_vol_target"](data, first, last, normalized)
        symbols = [data.symbols[c] for c in schedule.columns]
        rows = slice(first, last + 1)
        sessions = data.sessions[rows]
        close = data.close[rows][:, schedule.columns]
        settings = ExecutionSettings(
            fill_model="close",
            fractional_shares=True,
            fee_model="none",
            free_portfolio_value_percentage=0.0,
            minimum_order_margin_percentage=0.0,  # bt rebalances every drift
        )

        def ours():
            return simulate(
                sessions=sessions,
                symbols=symbols,
                open_price=close,
                close_price=close,
                decision_rows=schedule.decision_rows - first,
                target_weights=schedule.weights,
                initial_cash=100000.0,
                settings=settings,
            )

        ours_seconds, output = timed(ours, 21)
        prices = pd.DataFrame(close, index=sessions, columns=symbols)
        weights = pd.DataFrame(
            schedule.weights, index=data.sessions[schedule.decision_rows], columns=symbols
        )

        def with_bt():
            strategy = bt.Strategy(
                "replay",
                [
                    bt.algos.RunOnDate(*weights.index),
                    bt.algos.WeighTarget(weights),
                    bt.algos.Rebalance(),
                ],
            )
            test = bt.Backtest(
                strategy,
                prices,
                initial_capital=100000.0,
                integer_positions=False,
                progress_bar=False,
            )
            return bt.run(test)

        bt_seconds, bt_result = timed(with_bt, 3)
        bt_values = bt_result.backtests["replay"].strategy.values.reindex(sessions)
        relative = np.abs(output.equity / bt_values.to_numpy() - 1.0)
        max_relative = float(np.nanmax(relative))

    rows = [
        ("Generate 500-stock synthetic market", f"{generate_seconds * 1000:.0f} ms", "a few s"),
        (
            "Load Parquet store (506 symbols x 2270 sessions), median of 5",
            f"{load_seconds * 1000:.0f} ms",
            "<= 500 ms",
        ),
        (
            "ml_score_vol_target 2020-01-01..2026-01-13 weekly, median of 21",
            f"{backtest_seconds * 1000:.1f} ms",
            "<= 50 ms",
        ),
        (
            "Replay of that schedule, our simulator (close fills, fractional, no fees), "
            "median of 21",
            f"{ours_seconds * 1000:.1f} ms",
            "",
        ),
        ("Same replay with bt 1.x, median of 3", f"{bt_seconds * 1000:.0f} ms", ""),
        ("Speed ratio bt / ours", f"{bt_seconds / ours_seconds:.0f}x", ">= 100x"),
        ("Max relative equity difference ours vs bt", f"{max_relative:.2e}", "<= 1e-9"),
    ]
    print(
        f"Machine: {os.cpu_count()} CPUs (nproc), {cpu_model()}, "
        f"Python {platform.python_version()}, "
        f"numpy {np.__version__}, pandas {pd.__version__}, bt {getattr(bt, '__version__', '?')}"
    )
    print(
        f"Backtest result: CAGR {result.metrics['cagr']:.4f}, max drawdown "
        f"{result.metrics['max_drawdown']:.4f}, {int(result.metrics['total_orders'])} orders "
        "(SYNTHETIC data)"
    )
    print()
    print("| Measurement | Result | Target |")
    print("|---|---|---|")
    for name, value, target in rows:
        print(f"| {name} | {value} | {target} |")


if __name__ == "__main__":
    main()
