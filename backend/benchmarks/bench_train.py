"""Benchmark: a default walk-forward train job on the 500-stock SYNTHETIC demo market.

Run from the repository root::

    .venv/bin/python backend/benchmarks/bench_train.py [--model lightgbm|ridge] [--threads 2]

Prints numbers only (no pass/fail). Target: under 60 s wall time on 2 cores with a positive
out-of-sample IC. Peak memory is the process's maximum resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, kilobytes on Linux), which includes the
market generation.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.ml.training import TrainParams, train_walk_forward


def peak_rss_megabytes() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["lightgbm", "ridge"], default="lightgbm")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--stocks", type=int, default=500)
    parser.add_argument("--score-start", default="2019-06-03")
    parser.add_argument("--score-end", default="2026-01-13")
    args = parser.parse_args()

    try:
        from app.engine.synth import generate_synthetic_market
    except ImportError:
        print("app.engine.synth is not available: nothing to benchmark on")
        return 1

    started = time.perf_counter()
    data = generate_synthetic_market(n_stocks=args.stocks)
    generated = time.perf_counter() - started
    print(
        f"market: {len(data.symbols)} symbols x {len(data.sessions)} sessions "
        f"({data.sessions[0].date()} .. {data.sessions[-1].date()}), synthetic={data.synthetic}, "
        f"generated in {generated:.1f} s, RSS {peak_rss_megabytes():.0f} MB"
    )

    params = TrainParams(
        model=args.model,
        score_start=args.score_start,
        score_end=args.score_end,
        lightgbm={"num_threads": args.threads},
    )
    with tempfile.TemporaryDirectory() as out_dir:
        started, cpu_started = time.perf_counter(), cpu_seconds()
        output = train_walk_forward(data, params, Path(out_dir))
        wall = time.perf_counter() - started
        cpu = cpu_seconds() - cpu_started
        scores_mb = output.scores_path.stat().st_size / 1e6

    metrics = output.metrics
    print(f"model: {args.model}, threads: {args.threads}, feature set: {params.feature_set}")
    print(f"wall time: {wall:.1f} s (model fitting {metrics['train_seconds']:.1f} s)")
    # Wall time depends on what else runs on the machine; CPU time and load say how much.
    load_1min = os.getloadavg()[0]
    print(f"cpu time: {cpu:.1f} s on {os.cpu_count()} cores, 1-min load average {load_1min:.1f}")
    print(f"peak memory (max RSS): {peak_rss_megabytes():.0f} MB")
    print(
        f"models: {metrics['n_models']}, scored days: {metrics['n_scored_days']}, "
        f"scores: {metrics['n_scores']} ({scores_mb:.1f} MB), coverage {metrics['coverage']:.3f}"
    )
    print(
        f"ic_mean {metrics['ic_mean']:.4f}  ic_std {metrics['ic_std']:.4f}  "
        f"ic_ir {metrics['ic_ir']:.3f}  hit_rate {metrics['hit_rate']:.3f}  "
        f"(over {metrics['n_ic_days']} days)"
    )
    print("ic_by_year: " + ", ".join(f"{y} {v:+.4f}" for y, v in metrics["ic_by_year"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
