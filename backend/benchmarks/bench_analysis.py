"""Selection-validity analysis benchmark (prints numbers, asserts nothing).

    .venv/bin/python backend/benchmarks/bench_analysis.py [--repeats 5]

Times :func:`app.analysis.analyze_sweep` (distinct trials, DSR, PBO over all 12,870 CSCV
splits, plateau, anchored yearly walk-forward, 2,000-resample paired bootstrap of the Top 3,
verdict and the JSON document) on SYNTHETIC random equity curves: 1,516 sessions (the demo's
2020-01-01 .. 2026-01-13 window) for 30 trials (the seed's sweep) and 1,000 trials, on a
10 x 10 x 10 Decimal lattice. Synthetic data, so only the time means anything; the median of
``--repeats`` runs is printed, with the 1-minute load average (the machine is shared).
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.analysis import analyze_sweep

SESSIONS = 1516


def machine() -> str:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}, numpy {np.__version__}"
    )


def synthetic_sweep(n_trials: int, seed: int = 0):
    """SYNTHETIC: a shared market factor scaled per trial plus idiosyncratic noise."""
    rng = np.random.default_rng(seed)
    lattice = list(itertools.product(range(10), repeat=3))[:n_trials]
    params = [
        {
            "max_exposure": Decimal("0.50") + Decimal("0.05") * a,
            "vol_target": Decimal("0.040") + Decimal("0.002") * b,
            "max_weight": Decimal("0.020") + Decimal("0.002") * c,
        }
        for a, b, c in lattice
    ]
    market = rng.normal(0.0004, 0.01, SESSIONS)
    scale = rng.uniform(0.5, 1.0, (n_trials, 1))
    returns = scale * market + rng.normal(0.0, 0.003, (n_trials, SESSIONS))
    equity = 100_000 * np.cumprod(np.c_[np.ones(n_trials), 1 + returns], axis=1)
    baseline = 100_000 * np.cumprod(np.r_[1.0, 1 + 0.7 * market])
    sessions = pd.bdate_range("2020-01-02", periods=SESSIONS).values.astype("datetime64[D]")
    dates = np.concatenate([[np.datetime64("2020-01-01")], sessions])
    return params, equity, baseline, dates


def time_analysis(n_trials: int, repeats: int) -> tuple[float, list[float], object]:
    params, equity, baseline, dates = synthetic_sweep(n_trials)
    run_ids = list(range(1, n_trials + 1))
    # A Top 3 as the ranking would hand it over (highest final equity), so the bootstrap
    # resamples three trials as in a real sweep.
    top3 = [run_ids[row] for row in np.argsort(-equity[:, -1], kind="stable")[:3]]
    durations, document = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        document = analyze_sweep(
            run_ids,
            params,
            dates,
            equity,
            top_run_ids=top3,
            baseline_equity=baseline,
            baseline_run_id=0,
        ).to_dict()
        durations.append(time.perf_counter() - started)
    return statistics.median(durations), durations, document


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"Machine: {machine()}; 1-min load average {os.getloadavg()[0]:.1f}")
    print(f"SYNTHETIC random equity, {SESSIONS} sessions, median of {args.repeats} runs")
    for n_trials in (30, 1000):
        median, durations, document = time_analysis(n_trials, args.repeats)
        runs = ", ".join(f"{d:.2f}" for d in durations)
        print(
            f"{n_trials:>5} trials: analysis {median:.2f} s (runs: {runs}); "
            f"distinct {document['distinct_trials']}, PBO {document['pbo']['value']:.3f}"
        )


if __name__ == "__main__":
    main()
