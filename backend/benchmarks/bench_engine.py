"""Engine benchmark (prints numbers, asserts nothing).

    .venv/bin/python backend/benchmarks/bench_engine.py

1. Generates the 500-stock SYNTHETIC demo market into a temp dir and times loading it.
2. Times one ml_score_vol_target backtest 2020-01-01 .. 2026-01-13, weekly, on momentum proxy
   scores (the scores file is parsed once per process and cached, as in a sweep).
3. Replays the same target-weight schedule with ``bt`` (fractional shares, close fills, no
   fees, nothing kept free) and with our engine on the same settings, and reports the largest
   relative difference between the two equity curves and the speed ratio.
4. Replays random weekly target weights for 500 stocks from a weights file (158,000 rows)
   through run_backtest, the file read and parsed inside the timed part (never cached), with
   its parts (the strategy, simulate() alone, the rest), and the same replay with ``bt``.
   Ours is timed before bt's runs (the state of a process that only runs backtests) and
   again after them, with its page faults per run.
   The market panel's derived values (the window's prices, the statistics' sample times and
   benchmark) are memoised per panel, as for every trial of a sweep.

Our runs take milliseconds, so they are repeated 21 times (a shared machine's noise then moves
the median less); bt's take seconds and run 3 times.
"""

from __future__ import annotations

import platform
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.engine import load_market_data, run_backtest
from app.engine.backtest import delisting_rows, normalize_params, window_rows
from app.engine.dated_csv import read_dated_csv
from app.engine.simulator import ExecutionSettings, simulate
from app.engine.store import write_parquet_store
from app.engine.strategies import STRATEGIES, rebalance_rows
from app.engine.synth import generate_synthetic_market, momentum_scores


@dataclass
class Replay:
    path: Path
    columns: list[int]  # panel columns of the stocks
    rows: slice  # the window's panel rows
    weights: pd.DataFrame  # decision date x symbol
    n_sessions: int
    n_rows: int


def replay_weights(data, path: Path) -> Replay:
    """Write a weekly weights file for 500 stocks over 2020-01-01 .. 2026-01-13."""
    first = int(np.searchsorted(data.sessions, pd.Timestamp("2020-01-01")))
    last = int(np.searchsorted(data.sessions, pd.Timestamp("2026-01-13"), side="right")) - 1
    etfs = {"SPY", "SHY", "IEF", "GLD", "TLT", "VGSH"}
    stocks = [c for c, s in enumerate(data.symbols) if s not in etfs][:500]
    rng = np.random.default_rng(3)
    records = []
    table = np.zeros((0, len(stocks)))
    dates = []
    for row in rebalance_rows(data.sessions, first, last, "weekly"):
        trading = np.isfinite(data.close[row, stocks])
        weights = np.where(trading, rng.random(len(stocks)), 0.0)
        weights = weights / weights.sum() * 0.98
        day = data.sessions[row].date().isoformat()
        records += [
            (day, data.symbols[c], float(w))
            for c, w, ok in zip(stocks, weights, trading, strict=True)
            if ok
        ]
        table = np.vstack([table, weights])
        dates.append(data.sessions[row])
    pd.DataFrame(records, columns=["date", "symbol", "weight"]).to_csv(path, index=False)
    frame = pd.DataFrame(
        table, index=pd.DatetimeIndex(dates), columns=[data.symbols[c] for c in stocks]
    )
    return Replay(path, stocks, slice(first, last + 1), frame, last - first + 1, len(records))


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

    load_at_start = os.getloadavg()[0]
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

        # A plain replay of weekly target weights for 500 stocks (every stock with a close
        # that week, random weights summing to 98 %) from a weights file, through
        # run_backtest: the file's parsing is inside the timed part.
        replay = replay_weights(data, Path(tmp) / "weights.csv")
        replay_params = {
            "strategy": "target_weights",
            "weights_path": str(replay.path),
            "backtest_start": "2020-01-01",
            "backtest_end": "2026-01-13",
            "fill_model": "close",
            "fractional_shares": True,
            "fee_model": "none",
            "free_portfolio_value_percentage": 0.0,
            "minimum_order_margin_percentage": 0.0,
        }
        replay_seconds, replay_result = timed(lambda: run_backtest(replay_params, data), 21)
        # Its parts: the strategy (reading and parsing the weights file into a schedule) and
        # simulate() alone on the same inputs; the rest of run_backtest is the difference.
        normalized_replay = normalize_params(replay_params)
        replay_first, replay_last = window_rows(
            data, normalized_replay["backtest_start"], normalized_replay["backtest_end"]
        )
        replay_strategy = STRATEGIES["target_weights"]
        schedule_seconds, replay_schedule = timed(
            lambda: replay_strategy(data, replay_first, replay_last, normalized_replay), 21
        )
        read_seconds, _ = timed(lambda: read_dated_csv(replay.path, "weight", "weights"), 21)
        replay_rows = slice(replay_first, replay_last + 1)
        replay_symbols = [data.symbols[c] for c in replay_schedule.columns]
        replay_settings = ExecutionSettings(
            fill_model="close",
            fractional_shares=True,
            fee_model="none",
            free_portfolio_value_percentage=0.0,
            minimum_order_margin_percentage=0.0,
        )
        # As run_backtest calls it: the market's panels read in place.
        replay_simulate_seconds, _ = timed(
            lambda: simulate(
                sessions=data.sessions[replay_rows],
                symbols=replay_symbols,
                open_price=data.open,
                close_price=data.close,
                mark_price=data.marks(False),
                columns=replay_schedule.columns,
                first_row=replay_first,
                decision_rows=replay_schedule.decision_rows - replay_first,
                target_weights=replay_schedule.weights,
                initial_cash=100000.0,
                settings=replay_settings,
                last_rows=delisting_rows(data, replay_schedule.columns, replay_first, replay_last),
            ),
            21,
        )

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

        replay_prices = pd.DataFrame(
            data.close[replay.rows][:, replay.columns],
            index=data.sessions[replay.rows],
            columns=[data.symbols[c] for c in replay.columns],
        )

        def replay_with_bt():
            strategy = bt.Strategy(
                "replay",
                [
                    bt.algos.RunOnDate(*replay.weights.index),
                    bt.algos.WeighTarget(replay.weights),
                    bt.algos.Rebalance(),
                ],
            )
            test = bt.Backtest(
                strategy,
                replay_prices,
                initial_capital=100000.0,
                integer_positions=False,
                progress_bar=False,
            )
            return bt.run(test)

        replay_bt_seconds, replay_bt = timed(replay_with_bt, 3)
        replay_bt_values = replay_bt.backtests["replay"].strategy.values.reindex(
            replay_result.equity.index
        )
        replay_relative = float(
            np.nanmax(np.abs(replay_result.equity.to_numpy() / replay_bt_values.to_numpy() - 1.0))
        )
        # The same replay once bt's runs have come and gone (hundreds of MB allocated and
        # freed), with the page faults per run: a process that has done other work first.
        faults_before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        after_bt_seconds, _ = timed(lambda: run_backtest(replay_params, data), 21)
        faults_per_run = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults_before) / 21

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
            "<= 15 ms",
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
        (
            f"target_weights replay, {len(replay.columns)} stocks x {replay.n_sessions} sessions, "
            f"{replay.n_rows} weight rows: run_backtest including reading the weights file, "
            "median of 21",
            f"{replay_seconds * 1000:.1f} ms",
            "<= 10 ms",
        ),
        (
            "  of which the strategy: reading and parsing the weights file into a schedule",
            f"{schedule_seconds * 1000:.1f} ms",
            "",
        ),
        (
            "    of which reading the file into a date x symbol table",
            f"{read_seconds * 1000:.1f} ms",
            "",
        ),
        (
            "  of which simulate() (timed alone, called as run_backtest calls it)",
            f"{replay_simulate_seconds * 1000:.1f} ms",
            "",
        ),
        (
            "  the rest of run_backtest (prices, statistics, result), by difference",
            f"{(replay_seconds - schedule_seconds - replay_simulate_seconds) * 1000:.1f} ms",
            "",
        ),
        (
            f"  the same replay timed again after bt's runs ({faults_per_run:.0f} page faults "
            "per run)",
            f"{after_bt_seconds * 1000:.1f} ms",
            "",
        ),
        ("Same replay with bt 1.x, median of 3", f"{replay_bt_seconds * 1000:.0f} ms", ""),
        (
            "Speed ratio bt / ours (target_weights replay)",
            f"{replay_bt_seconds / replay_seconds:.0f}x",
            ">= 100x",
        ),
        (
            "Max relative equity difference ours vs bt (target_weights replay)",
            f"{replay_relative:.2e}",
            "<= 1e-9",
        ),
    ]
    load_at_end = os.getloadavg()[0]
    print(f"Load average (1 min): {load_at_start:.2f} at the start, {load_at_end:.2f} at the end")
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
