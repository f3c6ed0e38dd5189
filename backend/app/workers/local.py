"""The local worker pool: a dispatcher thread in the server process that claims queued jobs
from the database and runs them in a process pool (CPU-bound work stays off the event loop).

The seam: the dispatcher only talks to services (claim, record) and to functions of plain
data in ``app.workers.tasks``. A distributed engine replaces the pool by sending the same
``tasks`` functions to Celery workers; the services do not change.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import session_scope
from app.services import backtests as backtest_service
from app.services import dispatch
from app.services import train_jobs as train_job_service
from app.workers import tasks

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Inflight:
    kind: str  # "backtest" | "train"
    job_id: int


class NullWorker:
    """worker_mode="off": runs stay queued for an external worker."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def wake(self) -> None: ...


class LocalWorkerPool:
    def __init__(self, settings: Settings, session_factory: sessionmaker[Session]) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.concurrency = settings.worker_concurrency
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._executor: Executor | None = None
        self._inflight: dict[Future, _Inflight] = {}

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        with session_scope(self.session_factory) as session:
            runs = backtest_service.requeue_interrupted_runs(session)
            jobs = train_job_service.requeue_interrupted_train_jobs(session)
        if runs or jobs:
            log.warning("re-queued %d backtest runs and %d train jobs left running", runs, jobs)
        self._executor = self._make_executor()
        self._thread = threading.Thread(target=self._loop, name="stocklean-dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)

    def wake(self) -> None:
        self._wake.set()

    def _make_executor(self) -> Executor:
        if self.settings.worker_mode == "thread":
            return ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="worker")
        if self.settings.worker_mode == "celery":
            from app.workers.celery_executor import CeleryExecutor

            return CeleryExecutor(
                self.settings.celery_broker_url, self.settings.celery_result_backend
            )
        # spawn, not fork: the server process has threads, and forking those is unsafe.
        return ProcessPoolExecutor(
            max_workers=self.concurrency,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=tasks.warm_up,
            initargs=(self.settings.data_source, str(self.settings.data_dir)),
        )

    # -- the dispatcher loop ---------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.tick()
            except Exception:
                # A locked or briefly unreachable database must not kill the dispatcher.
                log.exception("dispatcher tick failed; retrying")
            self._wake.wait(self.settings.dispatcher_poll_seconds)

    def tick(self) -> None:
        self._record_finished()
        with session_scope(self.session_factory) as session:
            finished_sweeps = dispatch.advance_sweeps(session)
        for sweep_id in finished_sweeps:
            self._analyze(sweep_id)
            self._write_report(sweep_id)
        free = self.concurrency - len(self._inflight)
        if free <= 0:
            return
        with session_scope(self.session_factory) as session:
            train_jobs = train_job_service.claim_queued_train_jobs(session, min(free, 1))
        for job in train_jobs:
            self._submit("train", job.job_id, tasks.execute_train_job, self._train_payload(job))
        free -= len(train_jobs)
        with session_scope(self.session_factory) as session:
            runs = dispatch.claim_queued_runs(session, free)
        for run in runs:
            self._submit("backtest", run.run_id, tasks.execute_backtest, self._run_payload(run))

    def _common_payload(self) -> dict[str, Any]:
        return {
            "data_source": self.settings.data_source,
            "data_dir": str(self.settings.data_dir),
            "artifacts_dir": str(self.settings.artifacts_dir),
        }

    def _run_payload(self, run: dispatch.ClaimedRun) -> dict[str, Any]:
        return {
            **self._common_payload(),
            "run_id": run.run_id,
            "algorithm_parameters": run.algorithm_parameters,
            "file_roots": [str(root) for root in self.settings.allowed_file_roots()],
        }

    def _train_payload(self, job: train_job_service.ClaimedTrainJob) -> dict[str, Any]:
        return {**self._common_payload(), "job_id": job.job_id, "params": job.params}

    def _submit(self, kind: str, job_id: int, fn, payload: dict[str, Any]) -> None:
        assert self._executor is not None
        try:
            future = self._executor.submit(fn, payload)
        except BrokenProcessPool:
            self._executor = self._make_executor()
            future = self._executor.submit(fn, payload)
        self._inflight[future] = _Inflight(kind, job_id)
        future.add_done_callback(lambda _f: self._wake.set())

    def _record_finished(self) -> None:
        for future in [f for f in self._inflight if f.done()]:
            item = self._inflight.pop(future)
            try:
                outcome = future.result()
            except BrokenProcessPool:
                outcome = {"ok": False, "error": "the worker process died while running this job"}
                self._executor = self._make_executor()
            except Exception as exc:
                outcome = {"ok": False, "error": f"internal error: {type(exc).__name__}: {exc}"}
            with session_scope(self.session_factory) as session:
                self._record(session, item, outcome)

    @staticmethod
    def _record(session: Session, item: _Inflight, outcome: dict[str, Any]) -> None:
        if item.kind == "backtest":
            if outcome["ok"]:
                backtest_service.record_success(
                    session,
                    item.job_id,
                    metrics=outcome["metrics"],
                    artifact_dir=outcome["artifact_dir"],
                )
            else:
                backtest_service.record_failure(session, item.job_id, reason=outcome["error"])
        elif outcome["ok"]:
            train_job_service.record_train_success(
                session,
                item.job_id,
                scores_path=outcome["scores_path"],
                metrics=outcome["metrics"],
                artifact_dir=outcome["artifact_dir"],
            )
        else:
            train_job_service.record_train_failure(session, item.job_id, reason=outcome["error"])

    def _analyze(self, sweep_id: int) -> None:
        from app.models import Optimization
        from app.services import sweep_analysis

        try:
            with session_scope(self.session_factory) as session:
                sweep_analysis.ensure_analysis(session, session.get(Optimization, sweep_id))
        except Exception:
            # The results are stored; GET .../analysis computes it again on request.
            log.exception("analysis of optimization %s failed", sweep_id)

    def _write_report(self, sweep_id: int) -> None:
        from app.models import Optimization
        from app.services import reports

        try:
            with session_scope(self.session_factory) as session:
                sweep = session.get(Optimization, sweep_id)
                reports.ensure_report(session, sweep, self.settings)
        except Exception as exc:
            # The sweep's results are stored; a report can be rebuilt with GET .../report.
            log.exception("report for optimization %s failed", sweep_id)
            with session_scope(self.session_factory) as session:
                sweep = session.get(Optimization, sweep_id)
                sweep.error = f"report not written: {type(exc).__name__}: {exc}"


def make_worker(settings: Settings, session_factory: sessionmaker[Session]):
    if settings.worker_mode == "off":
        return NullWorker()
    return LocalWorkerPool(settings, session_factory)
