"""Benchmark: the seed's 30-trial sweep end to end through a real server, a 1,000-trial
sweep and a 10,000-trial one. Prints numbers; asserts nothing.

    python backend/benchmarks/bench_optimization.py [--repeats 3] [--big-trials 1000]
        [--huge-trials 10000]

Setup (not timed): the 500-stock SYNTHETIC demo market in a temporary directory, momentum
proxy scores (``app.engine.synth.momentum_scores``, so the timing does not depend on a
training run) imported as train job 120 through the API, baseline run 615. Then a real
``stocklean serve`` (process workers, SQLite) is started and for each sweep we time
POST -> status completed -> GET top?n=3, while a second thread polls the sweep's status
and records each GET's latency. Server memory is the summed PSS of the server's process
group (server + worker processes), sampled every 50 ms: the physical memory they use, the
1 GB target's measure. Their summed RSS is printed beside it; it counts each shared library
once per process, and on newer kernels (6.18 here) most of a mapped library is resident in
every process that maps it (a bare ``import pyarrow`` makes 39 MB of libarrow resident).
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "backend"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def group_memory_bytes(pgid: int) -> tuple[int, int]:
    """(RSS, PSS) summed over the server's process group. RSS counts a shared library's pages
    once per process that maps them (numba's LLVM, numpy, pandas: ~100 MB each); PSS splits
    shared pages between the processes sharing them, so its sum is the physical memory the
    group uses."""
    rss = pss = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid:  # fields after ")" start at state; pgrp is the 3rd
                continue
            for line in (entry / "smaps_rollup").read_text().splitlines():
                if line.startswith("Rss:"):
                    rss += int(line.split()[1]) * 1024
                elif line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
        except (OSError, IndexError, ValueError):
            continue
    return rss, pss


class Sampler(threading.Thread):
    """Polls a URL and the server's memory until stopped."""

    def __init__(self, client: httpx.Client, url: str, pgid: int, every: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.client, self.url, self.pgid, self.every = client, url, pgid, every
        self.latencies: list[float] = []
        self.peak_rss = self.peak_pss = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            started = time.perf_counter()
            self.client.get(self.url)
            self.latencies.append(time.perf_counter() - started)
            rss, pss = group_memory_bytes(self.pgid)
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            time.sleep(self.every)


def group_cpu_seconds(pgid: int) -> tuple[float, float]:
    """(CPU seconds of the server process, of the rest of its process group: the workers)
    so far, user + system, from /proc (independent of what else the machine runs)."""
    tick = os.sysconf("SC_CLK_TCK")
    server = others = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) != pgid:
            continue
        seconds = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        if int(entry.name) == pgid:
            server += seconds
        else:
            others += seconds
    return server, others


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def run_sweep(
    client: httpx.Client, base: str, body: dict, pgid: int, page: dict | None = None
) -> dict:
    """POST -> completed -> top 3; with ``page``, a second sampler times GET .../trials with
    those query parameters (a page of the trials table) while the sweep runs."""
    started = time.perf_counter()
    cpu_before = group_cpu_seconds(pgid)
    response = client.post(f"{base}/api/optimizations", json=body)
    response.raise_for_status()
    sweep_id = response.json()["id"]
    sampler = Sampler(httpx.Client(timeout=30), f"{base}/api/optimizations/{sweep_id}", pgid)
    sampler.start()
    pager = None
    if page is not None:
        query = "&".join(f"{k}={v}" for k, v in page.items())
        trials_url = f"{base}/api/optimizations/{sweep_id}/trials?{query}"
        # A page a second, as the sweep page's table asks for one (status polls: 20 a second).
        pager = Sampler(httpx.Client(timeout=30), trials_url, pgid, every=1.0)
        pager.start()
    while client.get(f"{base}/api/optimizations/{sweep_id}").json()["status"] != "completed":
        time.sleep(0.05)
    top = client.get(f"{base}/api/optimizations/{sweep_id}/top", params={"n": 3}).json()
    wall = time.perf_counter() - started
    cpu_after = group_cpu_seconds(pgid)
    analysed = None
    if page is not None:  # the big one: also until its analysis and report are stored
        status = f"{base}/api/optimizations/{sweep_id}"
        while not client.get(status).json()["report_path"]:
            time.sleep(0.2)
        analysed = time.perf_counter() - started
    sampler.stop.set()
    sampler.join()
    page_p95 = None
    if pager is not None:
        pager.stop.set()
        pager.join()
        pages = sorted(pager.latencies)
        page_p95 = pages[int(0.95 * (len(pages) - 1))] * 1000
    latencies = sorted(sampler.latencies)
    return {
        "server_cpu": cpu_after[0] - cpu_before[0],
        "workers_cpu": cpu_after[1] - cpu_before[1],
        "page_p95_ms": page_p95,
        "analysed": analysed,
        "load": os.getloadavg(),
        "wall": wall,
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))] * 1000,
        "median_get_ms": statistics.median(latencies) * 1000,
        "peak_rss_mb": sampler.peak_rss / 2**20,
        "peak_pss_mb": sampler.peak_pss / 2**20,
        "top": top,
        "trials": response.json()["trials_total"],
    }


def bench_market(prefix: str) -> tuple[Path, Path, Path]:
    """A scratch directory holding the SYNTHETIC 500-stock demo market as a Parquet store and
    its momentum proxy scores (in place of a trained train job); returns (workdir, data dir,
    scores file)."""
    from app.engine.store import write_parquet_store
    from app.engine.synth import generate_synthetic_market, momentum_scores

    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    data_dir = workdir / "data"
    market = generate_synthetic_market(seed=7, n_stocks=500)
    write_parquet_store(market, data_dir)
    scores = workdir / "scores.csv"
    momentum_scores(market).to_csv(scores, index=False)
    return workdir, data_dir, scores


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--big-trials", type=int, default=1000, help="0 to skip")
    parser.add_argument(
        "--huge-trials", type=int, default=10000, help="10^4 grid over four parameters; 0 to skip"
    )
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()

    workdir, data_dir, scores = bench_market("stocklean-bench-")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "STOCKLEAN_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
        "STOCKLEAN_DATA_DIR": str(data_dir),
        "STOCKLEAN_ARTIFACTS_DIR": str(workdir / "artifacts"),
        "STOCKLEAN_REPORTS_DIR": str(workdir / "reports"),
        "STOCKLEAN_WORKER_MODE": "process",
        "STOCKLEAN_WORKER_CONCURRENCY": str(args.concurrency),
        "STOCKLEAN_MAX_TRIALS": str(max(2000, args.big_trials, args.huge_trials)),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--log-level", "warning"],
        env=env,
        cwd=ROOT,
        start_new_session=True,
    )
    client = httpx.Client(timeout=60)
    try:
        for _ in range(300):
            try:
                if client.get(f"{base}/api/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        project = client.post(f"{base}/api/projects", json={"name": "bench"}).json()["id"]
        with scores.open("rb") as handle:
            job = client.post(
                f"{base}/api/ml/train-jobs/import",
                data={"project_id": str(project)},
                files={"file": ("scores.csv", handle, "text/csv")},
            ).json()
        baseline = {
            "strategy": "ml_score_vol_target",
            "score_csv_path": job["scores_path"],
            "backtest_start": "2020-01-01",
            "backtest_end": "2026-01-13",
            "top_n": 20,
            "max_exposure": 0.70,
            "vol_target": 0.050,
            "max_weight": 0.035,
            "risk_off_symbols": "SHY,IEF,GLD,TLT",
        }
        run = client.post(
            f"{base}/api/backtests",
            json={"project_id": project, "params": {"algorithm_parameters": baseline}},
        ).json()
        while client.get(f"{base}/api/backtests/{run['id']}").json()["status"] == "queued":
            time.sleep(0.05)
        seed_body = {
            "baseline_run_id": run["id"],
            "train_job_id": job["id"],
            "backtest_start": "2020-01-01",
            "backtest_end": "2026-01-13",
            "overrides": {"risk_off_symbols": "VGSH,IEF,GLD,TLT"},
            "max_inflight": 8,
        }
        seed_runs = [run_sweep(client, base, seed_body, server.pid) for _ in range(args.repeats)]
        big = None
        if args.big_trials:
            side = round(args.big_trials ** (1 / 3))
            grid = {
                "max_exposure": [round(0.40 + 0.05 * i, 2) for i in range(side)],
                "vol_target": [round(0.030 + 0.004 * i, 3) for i in range(side)],
                "max_weight": [round(0.020 + 0.003 * i, 3) for i in range(side)],
            }
            big_body = dict(seed_body, search={"grid": grid}, max_inflight=64)
            big = run_sweep(client, base, big_body, server.pid)
        huge = None
        if args.huge_trials:
            side = round(args.huge_trials ** (1 / 4))
            grid = {
                "max_exposure": [round(0.40 + 0.05 * i, 2) for i in range(side)],
                "vol_target": [round(0.030 + 0.004 * i, 3) for i in range(side)],
                "max_weight": [round(0.020 + 0.003 * i, 3) for i in range(side)],
                "top_n": [10 + 2 * i for i in range(side)],
            }
            huge_body = dict(seed_body, search={"grid": grid}, max_inflight=64)
            page = {"limit": 100, "sort": "cagr", "order": "desc", "feasible": "true"}
            huge = run_sweep(client, base, huge_body, server.pid, page)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)

    walls = [r["wall"] for r in seed_runs]
    print(f"machine: {machine()}; worker concurrency {args.concurrency}")
    print("data: SYNTHETIC demo market, 500 stocks + 6 ETFs, momentum proxy scores")
    print()
    print("| measurement | median | runs | target |")
    print("|---|---|---|---|")
    print(
        f"| seed sweep, 30 trials, POST -> completed -> top 3 | {statistics.median(walls):.2f} s "
        f"| {', '.join(f'{w:.2f}' for w in walls)} | <= 10 s |"
    )
    p95s = [r["p95_ms"] for r in seed_runs]
    print(
        f"| status GET p95 during the seed sweep | {statistics.median(p95s):.1f} ms "
        f"| {', '.join(f'{p:.1f}' for p in p95s)} | < 50 ms |"
    )
    for kind, target in (("pss", "<= 1 GB"), ("rss", "(shared pages once per process)")):
        peaks = [r[f"peak_{kind}_mb"] for r in seed_runs]
        print(
            f"| server + workers memory ({kind.upper()}), peak | {max(peaks):.0f} MB "
            f"| {', '.join(f'{p:.0f}' for p in peaks)} | {target} |"
        )
    if big:
        print(
            f"| {big['trials']}-trial sweep, POST -> completed -> top 3 | {big['wall']:.1f} s "
            f"| 1 | <= 20 s |"
        )
        print(f"| status GET p95 during the big sweep | {big['p95_ms']:.1f} ms | 1 | < 50 ms |")
        print(
            f"| CPU during the big sweep: server / workers | {big['server_cpu']:.1f} s / "
            f"{big['workers_cpu']:.1f} s | 1 | |"
        )
        print(
            f"| server + workers memory during the big sweep, peak PSS / RSS | "
            f"{big['peak_pss_mb']:.0f} MB / {big['peak_rss_mb']:.0f} MB | 1 | PSS <= 1 GB |"
        )
    if big:
        per_core = big["trials"] / big["wall"] / args.concurrency
        print(f"| {big['trials']}-trial sweep, trials/s per core | {per_core:.1f} | 1 | >= 25 |")
        load = big["load"]
        print(f"| load average (1, 5, 15 min) at the end of the big sweep | {load} | | |")
    if huge:
        print(
            f"| {huge['trials']}-trial sweep (10^4 grid), POST -> completed -> top 3 | "
            f"{huge['wall']:.1f} s | 1 | <= 480 s |"
        )
        print(
            f"| the same until its analysis and report are stored | {huge['analysed']:.1f} s "
            "| 1 | <= 480 s |"
        )
        print(f"| status GET p95 during it | {huge['p95_ms']:.1f} ms | 1 | < 50 ms |")
        print(
            f"| trials page GET p95 during it (100 feasible by CAGR, one a second) | "
            f"{huge['page_p95_ms']:.1f} ms | 1 | |"
        )
        print(
            f"| server + workers memory during it, peak PSS / RSS | {huge['peak_pss_mb']:.0f} MB"
            f" / {huge['peak_rss_mb']:.0f} MB | 1 | PSS <= 1 GB |"
        )
        print(f"| load average at the end of it | {huge['load']} | | |")
    top = seed_runs[-1]["top"]
    print()
    print(f"seed sweep Top 3 (constraint met: {top['constraint_met']}):")
    for item in top["items"]:
        print(
            f"  #{item['rank']} run {item['run_id']}: CAGR {item['cagr']:.4f} "
            f"MaxDD {item['max_drawdown']:.4f} {item['params']}"
        )


if __name__ == "__main__":
    main()
