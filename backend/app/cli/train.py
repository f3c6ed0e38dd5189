"""`stocklean train run | import`: walk-forward train jobs and scores files, from the terminal.

Both commands call the library directly (:func:`app.ml.train_walk_forward`,
:func:`app.ml.import_scores_file`); nothing is recorded in the database.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from app.cli.common import CommandError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="ML train jobs: walk-forward scores")
    commands = parser.add_subparsers(dest="train_command", metavar="SUBCOMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="train walk-forward models and write a scores file",
        description="Train walk-forward models on the market data, write scores.csv, the "
        "models and metrics.json to --out, and print the out-of-sample metrics.",
    )
    _add_data_options(run)
    run.add_argument(
        "--out",
        type=Path,
        help="output directory (default: a new directory under <artifacts_dir>/train-runs)",
    )
    run.add_argument("--model", choices=["lightgbm", "ridge"], default="lightgbm")
    run.add_argument("--feature-set", default="momentum_v1")
    run.add_argument("--label-horizon", type=int, default=21, help="sessions (default 21)")
    run.add_argument("--train-start", help="yyyy-mm-dd (default: the first session)")
    run.add_argument(
        "--score-start", help="yyyy-mm-dd (default: the earliest date with enough history)"
    )
    run.add_argument("--score-end", help="yyyy-mm-dd (default: the last session)")
    run.add_argument("--retrain-interval", type=int, default=63, help="sessions (default 63)")
    run.add_argument(
        "--min-train-sessions",
        type=int,
        default=252,
        help="sessions of training history the first model needs (default 252)",
    )
    run.add_argument("--universe", help="comma-separated symbols (default: all but the ETFs)")
    run.add_argument("--threads", type=int, default=2, help="LightGBM threads (default 2)")
    run.add_argument("--json", action="store_true", help="print the metrics as JSON")
    run.set_defaults(handler=run_train)

    importer = commands.add_parser(
        "import",
        help="validate a scores file produced elsewhere and copy it",
        description="Check a date,symbol,score CSV (against the market data unless "
        "--no-data-check) and write a normalised copy to OUT/scores.csv atomically.",
    )
    importer.add_argument("file", type=Path, help="the scores CSV")
    importer.add_argument(
        "--out",
        type=Path,
        help="destination directory (default: a new "
        "directory under <artifacts_dir>/imported-scores)",
    )
    _add_data_options(importer)
    importer.add_argument(
        "--project",
        type=int,
        help="register the file in the database as a completed train job of this project "
        "(copied under <artifacts_dir>/train_jobs/<id>; --out and --no-data-check don't apply)",
    )
    importer.add_argument("--job-id", type=int, help="with --project: the train job's id")
    importer.add_argument(
        "--no-data-check",
        action="store_true",
        help="skip checking symbols and dates against the market data",
    )
    importer.set_defaults(handler=import_scores)


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-source", choices=["parquet", "lean", "csv"], help="default: settings"
    )
    parser.add_argument("--data-dir", type=Path, help="default: settings data_dir")


def _load_data(args: argparse.Namespace):
    from app.config import get_settings
    from app.engine import get_market_data

    settings = get_settings()
    source = args.data_source or settings.data_source
    data_dir = args.data_dir or Path(settings.data_dir)
    try:
        return get_market_data(source, data_dir)
    except (ValueError, OSError) as exc:
        raise CommandError(f"cannot load {source} market data from {data_dir}: {exc}") from None


def _default_out(kind: str) -> Path:
    from app.config import get_settings

    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path(get_settings().artifacts_dir) / kind / stamp


def run_train(args: argparse.Namespace) -> int:
    from app.ml import TrainInputError, TrainParams, train_walk_forward

    values: dict[str, Any] = {
        "model": args.model,
        "feature_set": args.feature_set,
        "label_horizon": args.label_horizon,
        "train_start": args.train_start,
        "score_start": args.score_start,
        "score_end": args.score_end,
        "retrain_interval": args.retrain_interval,
        "min_train_sessions": args.min_train_sessions,
        "lightgbm": {"num_threads": args.threads},
    }
    if args.universe:
        values["universe"] = [s for s in args.universe.split(",") if s.strip()]
    try:
        params = TrainParams.from_mapping(values)
    except TrainInputError as exc:
        raise CommandError(str(exc)) from None
    data = _load_data(args)
    out_dir = args.out or _default_out("train-runs")
    try:
        output = train_walk_forward(data, params, out_dir)
    except TrainInputError as exc:
        raise CommandError(str(exc)) from None

    metrics = output.metrics
    if args.json:
        print(json.dumps(metrics, indent=2))
        return 0
    if data.synthetic:
        print("NOTE: the market data is SYNTHETIC; these numbers say nothing about real markets")
    print(f"scores:   {output.scores_path} ({metrics['n_scores']} rows)")
    print(f"models:   {output.models_dir} ({metrics['n_models']} {params.model} models)")
    print(
        f"period:   {metrics['score_start']} .. {metrics['score_end']} "
        f"({metrics['n_scored_days']} days, coverage {metrics['coverage']:.3f})"
    )
    print(
        f"ic_mean:  {_number(metrics['ic_mean'])}   ic_std: {_number(metrics['ic_std'])}   "
        f"ic_ir: {_number(metrics['ic_ir'])}   hit_rate: {_number(metrics['hit_rate'])}   "
        f"({metrics['n_ic_days']} days with a known {params.label_horizon}-session return)"
    )
    by_year = ", ".join(f"{year} {value:+.4f}" for year, value in metrics["ic_by_year"].items())
    print(f"by year:  {by_year or '-'}")
    print(
        f"time:     {metrics['elapsed_seconds']:.1f} s (fitting {metrics['train_seconds']:.1f} s)"
    )
    return 0


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def import_scores(args: argparse.Namespace) -> int:
    from app.ml import ScoresValidationError, import_scores_file

    if args.project is not None:
        return register_scores(args)
    data = None if args.no_data_check else _load_data(args)
    out_dir = args.out or _default_out("imported-scores")
    try:
        path = import_scores_file(args.file, out_dir, data)
    except ScoresValidationError as exc:
        raise CommandError(
            f"{args.file} is not a valid scores file:\n  " + "\n  ".join(exc.errors)
        ) from None
    print(f"imported {args.file} -> {path}")
    return 0


def register_scores(args: argparse.Namespace) -> int:
    """``train import FILE --project P``: the same registration as POST
    /api/ml/train-jobs/import, so the file can drive backtests and optimizations."""
    from app.cli.runtime import database_session
    from app.config import get_settings
    from app.errors import DomainError, detail_text
    from app.services.train_jobs import import_scores as register

    if not args.file.is_file():
        raise CommandError(f"no such file: {args.file}")
    settings = get_settings()
    try:
        with database_session(settings) as session:
            job = register(
                session,
                settings,
                project_id=args.project,
                source_path=args.file,
                original_name=args.file.name,
                job_id=args.job_id,
            )
            job_id, scores_path = job.id, job.scores_path
    except DomainError as exc:
        raise CommandError(detail_text(exc.detail)) from None
    print(f"train job {job_id} (project {args.project}): {scores_path}")
    return 0
