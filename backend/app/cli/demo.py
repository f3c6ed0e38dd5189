"""`stocklean demo`: the main job on the embedded default (DESIGN §4.3).

Makes the SYNTHETIC demo market (if the data store is empty), project 18, train job 120
(a real walk-forward training run by the workers), baseline run 615 (executed), then runs the
seed's 30-trial optimization with a progress bar, prints the Top 3 and the report's path.
Existing records with those ids are reused, so running it again starts only a new sweep.
"""

from __future__ import annotations

import argparse
import time

from app.cli.common import CommandError

PROJECT_ID = 18
TRAIN_JOB_ID = 120
BASELINE_RUN_ID = 615
WINDOW = ("2020-01-01", "2026-01-13")
TRAIN_PARAMS = {"model": "lightgbm", "score_start": "2019-06-03"}
# Run 615's parameters. The seed replaces only the defensive asset (SHY -> VGSH).
BASELINE_ALGORITHM = {
    "strategy": "ml_score_vol_target",
    "backtest_start": WINDOW[0],
    "backtest_end": WINDOW[1],
    "initial_cash": 100000,
    "rebalance": "weekly",
    "top_n": 20,
    "max_weight": 0.035,
    "max_exposure": 0.70,
    "vol_target": 0.050,
    "vol_lookback": 63,
    "risk_off_symbols": "SHY,IEF,GLD,TLT",
    "risk_off_mode": "first",
}
SEED_REQUEST = {
    "baseline_run_id": BASELINE_RUN_ID,
    "train_job_id": TRAIN_JOB_ID,
    "backtest_start": WINDOW[0],
    "backtest_end": WINDOW[1],
    "overrides": {"risk_off_symbols": "VGSH,IEF,GLD,TLT"},
    "max_inflight": 8,
    "top_n": 3,
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="the main job: demo market, project 18, train job 120, run 615, the sweep"
    )
    parser.add_argument("--seed", type=int, default=7, help="seed of the synthetic market")
    parser.add_argument("--stocks", type=int, default=500, help="stocks in the synthetic market")
    parser.add_argument("--lang", choices=["zh", "en"], default="zh", help="report language")
    parser.add_argument(
        "--setup-only",
        action="store_true",
        help="make the market, project 18, train job 120 and run 615, but start no sweep "
        "(`make serve` does this, so the sweep can be started from the browser)",
    )
    parser.set_defaults(handler=demo)


def ensure_market(settings, seed: int, stocks: int) -> None:
    from app.engine.store import METADATA_FILE, write_parquet_store
    from app.engine.synth import generate_synthetic_market

    if (settings.data_dir / METADATA_FILE).exists() or settings.data_source != "parquet":
        print(f"market data: {settings.data_source} at {settings.data_dir}")
        return
    started = time.perf_counter()
    data = generate_synthetic_market(seed=seed, n_stocks=stocks)
    write_parquet_store(data, settings.data_dir)
    print(
        f"market data: SYNTHETIC demo market ({stocks} stocks + ETFs, seed {seed}, "
        f"{len(data.sessions)} sessions) written to {settings.data_dir} "
        f"in {time.perf_counter() - started:.1f} s"
    )


def wait_until_final(runtime, model, object_id: int, label: str):
    from rich.console import Console

    console = Console()
    started = time.perf_counter()
    with console.status(f"{label} {object_id} ..."):
        runtime.worker.wake()
        runtime.wait(
            lambda session: session.get(model, object_id).status.is_final, lambda session: None
        )
    with runtime.session() as session:
        obj = session.get(model, object_id)
        if obj.status.value != "completed":
            raise CommandError(f"{label} {object_id} {obj.status.value}: {obj.error}")
        print(f"{label} {object_id}: completed in {time.perf_counter() - started:.1f} s")
        return obj


def demo(args: argparse.Namespace) -> int:
    from app.cli.optimize import finish_sweep, parse_body, start_sweep
    from app.cli.runtime import local_runtime
    from app.config import get_settings
    from app.models import BacktestRun, Project, RunStatus, TrainJob
    from app.services import backtests, projects, train_jobs

    settings = get_settings()
    ensure_market(settings, args.seed, args.stocks)
    with local_runtime(settings) as runtime:
        with runtime.session() as session:
            if session.get(Project, PROJECT_ID) is None:
                projects.create_project(
                    session, name="Project 18", description="demo", project_id=PROJECT_ID
                )
            job = session.get(TrainJob, TRAIN_JOB_ID)
            if job is None or job.status in (RunStatus.failed, RunStatus.canceled):
                if job is not None:
                    raise CommandError(
                        f"train job {TRAIN_JOB_ID} exists and {job.status.value}: {job.error}"
                    )
                train_jobs.submit_train_job(
                    session,
                    runtime.settings,
                    project_id=PROJECT_ID,
                    params=TRAIN_PARAMS,
                    job_id=TRAIN_JOB_ID,
                )
        job = wait_until_final(runtime, TrainJob, TRAIN_JOB_ID, "train job")
        ic = job.metrics.get("ic_mean")
        print(f"  out-of-sample mean IC {ic:.4f}, scores: {job.scores_path}")
        with runtime.session() as session:
            if session.get(BacktestRun, BASELINE_RUN_ID) is None:
                backtests.create_run(
                    session,
                    project_id=PROJECT_ID,
                    algorithm_parameters={**BASELINE_ALGORITHM, "score_csv_path": job.scores_path},
                    pipeline_train_job_id=TRAIN_JOB_ID,
                    run_id=BASELINE_RUN_ID,
                )
        baseline = wait_until_final(runtime, BacktestRun, BASELINE_RUN_ID, "baseline run")
        print(
            f"  CAGR {baseline.cagr * 100:.2f}%, MaxDD {baseline.max_drawdown * 100:.2f}% "
            f"(risk-off {BASELINE_ALGORITHM['risk_off_symbols']})"
        )
        if args.setup_only:
            print("ready: start the sweep from the web UI (#/optimizations/new) or the API")
            return 0
        sweep_id = start_sweep(runtime, parse_body(SEED_REQUEST))
        return finish_sweep(runtime, sweep_id, lang=args.lang)
