"""The work itself, as plain functions of plain data: they run in a worker process (local
pool) or in a distributed worker (Celery) alike, and touch no database. The caller claims the
job in the database before and records the outcome after."""

from __future__ import annotations

import logging
import os
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.memory import release_free_memory

log = logging.getLogger(__name__)


class _MarketUnavailable(Exception):
    pass


def _market(job: dict[str, Any], fields: tuple[str, ...] | None = None):
    """The job's market panel (only ``fields``, None: all), cached in this process; a
    missing store is a readable failure of the job, not a crash."""
    from app.engine import PANEL_FIELDS, BacktestInputError, get_market_data

    try:
        return get_market_data(job["data_source"], Path(job["data_dir"]), fields or PANEL_FIELDS)
    except (BacktestInputError, OSError) as exc:
        raise _MarketUnavailable(f"market data not available: {exc}") from exc


def warm_up(data_source: str, data_dir: str, nice: int = 0) -> None:
    """Process-pool initializer: exit with the server (:func:`_exit_with_parent`), lower the
    worker's priority by ``nice`` (the server answers requests first) and load the market
    panel once so the first run is fast (the fields an adjusted-price backtest reads: the
    pool's usual task)."""
    threading.Thread(
        target=_exit_with_parent, args=(os.getppid(),), name="exit-with-server", daemon=True
    ).start()
    if nice:
        os.nice(nice)
    try:
        from app.engine import get_market_data, panel_fields

        get_market_data(data_source, Path(data_dir), panel_fields({}))
    except Exception:  # the runs themselves report a missing or broken data store
        log.debug("warm-up could not load market data", exc_info=True)


def _exit_with_parent(parent: int, every_seconds: float = 0.5) -> None:
    """End this pool worker once its server is gone (another process adopts an orphan, so
    its parent id changes). A pool the server replaced while it was being stopped (its
    workers killed with it by a signal to the process group) would otherwise run on without
    it, holding the market panel."""
    while os.getppid() == parent:
        time.sleep(every_seconds)
    os._exit(0)


def _outcome(label: str, work: Callable[[], dict[str, Any]], readable: tuple[type, ...]):
    """Run ``work`` and wrap it as an outcome: ``{"ok": True, **result}``; a ``readable``
    error (bad input) becomes ``{"ok": False, "error": its message}``; anything else is a bug,
    logged with its traceback and reported as an internal error, and the worker stays alive.
    Freed memory goes back to the OS either way."""
    try:
        return {"ok": True, **work()}
    except (*readable, _MarketUnavailable) as exc:
        return {"ok": False, "error": str(exc)}
    except Exception as exc:
        log.error("%s crashed:\n%s", label, traceback.format_exc())
        return {"ok": False, "error": f"internal error: {type(exc).__name__}: {exc}"}
    finally:
        release_free_memory()


def execute_backtest(job: dict[str, Any]) -> dict[str, Any]:
    """Run one backtest. ``job``: run_id, algorithm_parameters, data_source, data_dir,
    artifacts_dir, file_roots. Returns ``{"ok": True, "metrics", "artifact_dir"}`` or
    ``{"ok": False, "error": reason}``; never raises for bad input."""
    from app.engine import BacktestInputError, panel_fields, run_backtest
    from app.engine.second_thread import use_one_thread
    from app.workers.artifacts import write_backtest_artifacts

    # Workers run backtests side by side, one per core: none takes a second core for itself.
    use_one_thread()

    def work() -> dict[str, Any]:
        data = _market(job, panel_fields(job["algorithm_parameters"]))
        roots = [Path(root) for root in job["file_roots"]] if job.get("file_roots") else None
        result = run_backtest(job["algorithm_parameters"], data, file_roots=roots)
        artifact_dir = Path(job["artifacts_dir"]) / "backtests" / str(job["run_id"])
        write_backtest_artifacts(artifact_dir, result)
        metrics = {**result.metrics, "statistics": dict(result.statistics)}
        return {"metrics": metrics, "artifact_dir": str(artifact_dir)}

    return _outcome(f"backtest {job['run_id']}", work, (BacktestInputError,))


def execute_train_job(job: dict[str, Any]) -> dict[str, Any]:
    """Run one walk-forward training. ``job``: job_id, params, data_source, data_dir,
    artifacts_dir. Returns ``{"ok": True, "scores_path", "metrics", "artifact_dir"}`` or
    ``{"ok": False, "error"}``."""
    from app.ml.training import TrainInputError, TrainParams, train_walk_forward

    def work() -> dict[str, Any]:
        out_dir = Path(job["artifacts_dir"]) / "train_jobs" / str(job["job_id"])
        params = TrainParams.from_mapping(job["params"])
        output = train_walk_forward(_market(job), params, out_dir)
        return {
            "scores_path": str(output.scores_path),
            "metrics": output.metrics,
            "artifact_dir": str(out_dir),
        }

    return _outcome(f"train job {job['job_id']}", work, (TrainInputError,))
