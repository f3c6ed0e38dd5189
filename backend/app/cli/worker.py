"""`stocklean worker`: a Celery worker for a server running with ``WORKER_MODE=celery``.

It runs with the project's settings (the same ``STOCKLEAN_*`` variables as the server) and
refuses to start, with a readable reason, when it cannot see what its tasks need: the
market data, a writable artifacts directory, the database (for its lease heartbeat) and the
broker."""

from __future__ import annotations

import argparse
import os
import uuid


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "worker", help="run a Celery worker (for a server with STOCKLEAN_WORKER_MODE=celery)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=None, help="worker processes (default: CPU count)"
    )
    parser.add_argument(
        "--queues", default=None, help="comma-separated queues (default: STOCKLEAN_CELERY_QUEUE)"
    )
    parser.add_argument("--hostname", default=None, help="node name (default: celery@HOST)")
    parser.add_argument("--loglevel", default="info")
    parser.set_defaults(handler=worker)


def check_environment(settings) -> list[str]:
    """What this worker cannot reach, one readable line per problem (empty: all good)."""
    problems = [_check_data(settings), _check_artifacts(settings), _check_database(settings)]
    return [problem for problem in problems if problem]


def _check_data(settings) -> str | None:
    from app.engine import BacktestInputError, get_market_data

    try:
        # Loaded here, in the parent, the panel is shared with the forked pool processes.
        get_market_data(settings.data_source, settings.data_dir)
    except (BacktestInputError, OSError) as exc:
        return (
            f"market data ({settings.data_source}) not readable at {settings.data_dir}: {exc}. "
            "Mount the server's data directory here and set STOCKLEAN_DATA_DIR."
        )
    return None


def _check_artifacts(settings) -> str | None:
    probe = settings.artifacts_dir / f".worker-probe-{uuid.uuid4().hex}"
    try:
        settings.artifacts_dir.mkdir(parents=True, exist_ok=True)
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        return (
            f"artifacts directory {settings.artifacts_dir} is not writable: {exc}. It must be "
            "the server's (a shared filesystem); set STOCKLEAN_ARTIFACTS_DIR."
        )
    return None


def _check_database(settings) -> str | None:
    from sqlalchemy import text

    from app.db import make_engine

    engine = make_engine(settings.database_url)
    where = engine.url.render_as_string(hide_password=True)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT task_id, heartbeat_at FROM backtest_runs WHERE 1 = 0"))
    except Exception as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return (
            f"database {where} is not usable: {first_line}. Set STOCKLEAN_DATABASE_URL to the "
            "server's database (the server migrates it on start; or `stocklean db upgrade`)."
        )
    finally:
        engine.dispose()
    return None


def _check_broker(celery_app, settings) -> str | None:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=5)
    except Exception as exc:
        return f"broker {settings.celery_broker_url} is not reachable: {exc}"
    return None


def worker(args: argparse.Namespace) -> int:
    from app.cli.common import CommandError
    from app.config import get_settings
    from app.workers.celery_app import make_worker_app

    settings = get_settings()
    if args.concurrency is not None and args.concurrency < 1:
        raise CommandError(f"--concurrency must be at least 1, not {args.concurrency}")
    celery_app = make_worker_app(settings)
    problems = check_environment(settings)
    broker_problem = _check_broker(celery_app, settings)
    if broker_problem:
        problems.append(broker_problem)
    if problems:
        raise CommandError("this worker cannot start:\n  " + "\n  ".join(problems))
    argv = [
        "worker",
        "--loglevel",
        args.loglevel,
        "--queues",
        args.queues or settings.celery_queue,
        "--concurrency",
        str(args.concurrency or os.cpu_count() or 1),
    ]
    if args.hostname:
        argv += ["--hostname", args.hostname]
    celery_app.worker_main(argv)
    return 0
