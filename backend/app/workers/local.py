"""The dispatcher: a thread in the server process that claims queued jobs from the database,
hands them to an executor (a local process pool, or Celery workers) and records outcomes.

The seam: the dispatcher only talks to services (claim, record) and to functions of plain
data in ``app.workers.tasks``; executors (``app.workers.executors``) only run them.

Faults it survives (DESIGN §3):
- a dead worker process (pool child killed, Celery worker gone): the job is started again,
  at most ``max_attempts`` times in all; Celery workers are watched through leases
  (``app.workers.heartbeat``) since a Redis broker returns their tasks only after an hour;
- a server restart: every ``running`` job is reconciled with what is really executing —
  Celery tasks sent before are adopted and waited for (never sent twice); local work died
  with the old server and is queued again;
- a database that restarts or drops the connection: an outcome not stored is kept and
  stored on a later tick; a claim whose commit was lost is found by the same reconciliation.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import session_scope
from app.models import Optimization
from app.models.common import utcnow
from app.services import dispatch, run_tasks
from app.services import train_jobs as train_job_service
from app.workers import jobs
from app.workers.executors import LOST_ERRORS, LocalExecutor

log = logging.getLogger(__name__)

LOST_REASON = "the worker process died while running this job"
# How long the dispatcher lets completions gather while every worker is still busy.
COALESCE_SECONDS = 0.02
# A finished sweep of at least this many trials has its analysis (trials x sessions matrices,
# ~120 MB each for 10,000 trials) computed after idle local workers are let go, so that the
# server and its workers stay within about 1 GB; a smaller one keeps them warm.
RELEASE_WORKERS_FOR_ANALYSIS_OF = 2000


@dataclass
class _Task:
    kind: run_tasks.Kind
    job_id: int
    task_id: str
    future: Any  # concurrent.futures.Future
    generation: int = 0  # which local pool ran it (a new one after a pool broke)


@dataclass
class _Outcome:
    task: _Task
    result: dict[str, Any] | None  # the task's outcome, or None if its worker was lost
    lost_reason: str | None = None
    alone: bool = True  # lost with no other job in the same pool: it is the cause


def _lost_or_pending(future) -> bool:
    if not future.done():
        return True
    return not future.cancelled() and isinstance(future.exception(), LOST_ERRORS)


class NullWorker:
    """worker_mode="off": runs stay queued for an external worker."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def wake(self) -> None: ...

    def workers_answering(self) -> int | None:
        return None


class LocalWorkerPool:
    def __init__(self, settings: Settings, session_factory: sessionmaker[Session]) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.concurrency = settings.worker_concurrency
        # Tasks in flight at once: a process pool also holds each worker's next task.
        prefetch = settings.worker_prefetch if settings.worker_mode == "process" else 1
        self.capacity = self.concurrency * prefetch
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._executor: Any = None
        self._inflight: dict[str, _Task] = {}
        self._outcomes: list[_Outcome] = []  # finished, not yet stored
        self._unmarked: list[_Task] = []  # sent, ``sent_at`` not yet stored
        self._suspects: list[tuple[run_tasks.Kind, int]] = []  # to run alone (local pool)
        self._lost_in_pool: Counter[int] = Counter()  # jobs lost, by local pool generation
        self._healthy_since: float | None = None
        self._next_reconcile = 0.0
        self.reconcile_seconds = min(1.0, settings.worker_lease_seconds / 3)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._executor = self._make_executor()
        self._thread = threading.Thread(target=self._loop, name="stocklean-dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._executor is not None:
            self._executor.shutdown()

    def wake(self) -> None:
        self._wake.set()

    def workers_answering(self) -> int | None:
        return self._executor.workers_answering() if self._executor is not None else None

    def _make_executor(self):
        if self.settings.worker_mode == "celery":
            from app.workers.celery_executor import CeleryExecutor

            return CeleryExecutor(self.settings)
        return LocalExecutor(self.settings)

    # -- the dispatcher loop ---------------------------------------------------------------
    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.tick()
                if self._healthy_since is None:
                    self._healthy_since = time.monotonic()
            except Exception:
                # A locked, restarting or unreachable database must not kill the dispatcher:
                # nothing is lost (outcomes wait in memory), the next tick retries.
                self._healthy_since = None
                log.exception("dispatcher tick failed; retrying")
            self._wake.wait(self.settings.dispatcher_poll_seconds)
            if self.capacity > self.concurrency and len(self._inflight) >= 2 * self.concurrency:
                # Every worker still has its next task waiting: let a few more finish, so
                # one tick stores and replaces them together.
                self._stop.wait(COALESCE_SECONDS)

    def tick(self) -> None:
        self._collect_finished()
        self._store_outcomes()
        self._store_sent_marks()
        if time.monotonic() >= self._next_reconcile:
            self._reconcile()
            self._expire_leases()
            self._next_reconcile = time.monotonic() + self.reconcile_seconds
        with session_scope(self.session_factory) as session:
            finished_sweeps = dispatch.advance_sweeps(session)
        for sweep_id in finished_sweeps:
            self._release_idle_workers_before_analysis(sweep_id)
            jobs.conclude_sweep(self.session_factory, self.settings, sweep_id)
        self._claim_and_send()

    def _release_idle_workers_before_analysis(self, sweep_id: int) -> None:
        release = getattr(self._executor, "release_idle", None)
        if release is None or self._inflight or self._outcomes:
            return
        with session_scope(self.session_factory) as session:
            sweep = session.get(Optimization, sweep_id)
            big = sweep is not None and sweep.trials_total >= RELEASE_WORKERS_FOR_ANALYSIS_OF
        if big:
            release()

    def _claim_and_send(self) -> None:
        if self._suspects:
            self._send_suspect()
            return
        free = self.capacity - len(self._inflight)
        if free <= 0:
            return
        with session_scope(self.session_factory) as session:
            # A train job uses a whole worker: never more of them than worker processes.
            running_train = sum(task.kind == "train" for task in self._inflight.values())
            room = min(1, self.concurrency - running_train, free)
            claimed_jobs = train_job_service.claim_queued_train_jobs(session, max(room, 0))
            job_tasks = run_tasks.assign_tasks(
                session, "train", [job.job_id for job in claimed_jobs]
            )
            runs = dispatch.claim_queued_runs(session, free - len(claimed_jobs))
            run_tasks_ = run_tasks.assign_tasks(session, "backtest", [run.run_id for run in runs])
        for job in claimed_jobs:
            payload = jobs.train_payload(self.settings, job)
            self._send("train", job.job_id, job_tasks[job.job_id], payload)
        for run in runs:
            payload = jobs.run_payload(self.settings, run)
            self._send("backtest", run.run_id, run_tasks_[run.run_id], payload)
        self._store_sent_marks()

    def _send_suspect(self) -> None:
        """Run a job that was in flight when a pool process died, alone: if the pool dies
        again, that job is the one killing it (and its attempts count); if not, it was only
        a bystander. Other work waits for the pool to drain meanwhile."""
        if self._inflight:
            return
        kind, job_id = self._suspects[0]
        with session_scope(self.session_factory) as session:
            if run_tasks.claim_queued(session, kind, job_id):
                task_id = run_tasks.assign_tasks(session, kind, [job_id])[job_id]
                payload = jobs.stored_payload(self.settings, session, kind, job_id)
            else:
                task_id = None
        if task_id is None:  # canceled meanwhile
            self._suspects.pop(0)
            return
        self._send(kind, job_id, task_id, payload)

    # -- sending and receiving -------------------------------------------------------------
    def _send(self, kind: run_tasks.Kind, job_id: int, task_id: str, payload: dict) -> None:
        future = self._executor.submit(kind, payload, task_id)
        self._track(kind, job_id, task_id, future)
        if self._executor.adopts_running:
            self._unmarked.append(self._inflight[task_id])

    def _track(self, kind: run_tasks.Kind, job_id: int, task_id: str, future) -> None:
        generation = getattr(self._executor, "generation", 0)
        self._inflight[task_id] = _Task(kind, job_id, task_id, future, generation)
        future.add_done_callback(lambda _f: self._wake.set())

    def _store_sent_marks(self) -> None:
        while self._unmarked:
            task = self._unmarked[0]
            with session_scope(self.session_factory) as session:
                run_tasks.mark_sent(session, task.kind, task.job_id, task.task_id)
            self._unmarked.pop(0)

    def _collect_finished(self) -> None:
        for task_id, task in list(self._inflight.items()):
            if not task.future.done():
                continue
            del self._inflight[task_id]
            try:
                self._outcomes.append(_Outcome(task, task.future.result()))
            except LOST_ERRORS:
                self._outcomes.append(_Outcome(task, None, LOST_REASON, self._lost_alone(task)))
            except Exception as exc:
                error = f"internal error: {type(exc).__name__}: {exc}"
                self._outcomes.append(_Outcome(task, {"ok": False, "error": error}))

    def _lost_alone(self, task: _Task) -> bool:
        """Celery reports exactly which task's process died; a broken local pool fails every
        job it held, and only a job that was alone in it is known to have killed it."""
        if self._executor.adopts_running:
            return True
        earlier = self._lost_in_pool[task.generation]
        self._lost_in_pool[task.generation] += 1
        return earlier == 0 and not any(
            other.generation == task.generation and _lost_or_pending(other.future)
            for other in self._inflight.values()
            if other is not task
        )

    def _store_outcomes(self) -> None:
        """Store the finished outcomes, oldest first, in one transaction (each under its
        own guarded update: only the attempt a job still holds is stored). If the database
        is away nothing is stored and they all wait for the next tick."""
        if not self._outcomes:
            return
        batch = list(self._outcomes)
        with session_scope(self.session_factory) as session:
            verdicts = [self._store_outcome(session, outcome) for outcome in batch]
        del self._outcomes[: len(batch)]
        for outcome, verdict in zip(batch, verdicts, strict=True):
            task = outcome.task
            if outcome.lost_reason is not None:
                log.warning("%s %s: worker lost; %s", task.kind, task.job_id, verdict)
            self._executor.release(task.task_id)
            suspect = (task.kind, task.job_id)
            if verdict == "requeued" and not self._executor.adopts_running:
                if suspect not in self._suspects:
                    self._suspects.append(suspect)
            elif suspect in self._suspects:
                self._suspects.remove(suspect)

    def _store_outcome(self, session: Session, outcome: _Outcome) -> str:
        task = outcome.task
        if outcome.lost_reason is not None:
            return run_tasks.retry_lost(
                session,
                task.kind,
                task.job_id,
                task.task_id,
                outcome.lost_reason,
                self.settings.max_attempts if outcome.alone else None,
            )
        if run_tasks.holds_task(session, task.kind, task.job_id, task.task_id):
            jobs.record_outcome(session, task.kind, task.job_id, outcome.result)
            return "stored"
        return "moved on"

    # -- reconciliation: the database's running jobs against what really executes ---------
    def _reconcile(self) -> None:
        with session_scope(self.session_factory) as session:
            running = run_tasks.running_tasks(session, "train")
            running += run_tasks.running_tasks(session, "backtest")
        tracked = set(self._inflight) | {outcome.task.task_id for outcome in self._outcomes}
        for job in running:
            if job.task_id in tracked:
                continue
            if not self._executor.adopts_running or job.task_id is None:
                # Local work does not outlive the server that ran it (or the claim's commit
                # was lost before anything was sent): queue it again.
                with session_scope(self.session_factory) as session:
                    if run_tasks.requeue(session, job.kind, job.job_id, job.task_id):
                        log.warning("%s %s had no live task: re-queued", job.kind, job.job_id)
            elif job.sent_at is None and not self._was_received(job):
                # Claimed, but the server stopped before the task reached the broker (or
                # just after: a worker that got it would have renewed its lease or started it).
                with session_scope(self.session_factory) as session:
                    payload = jobs.stored_payload(self.settings, session, job.kind, job.job_id)
                self._send(job.kind, job.job_id, job.task_id, payload)
            else:
                future = self._executor.adopt(job.kind, job.task_id)
                self._track(job.kind, job.job_id, job.task_id, future)
                if job.sent_at is None:
                    self._unmarked.append(self._inflight[job.task_id])
                log.info("%s %s: adopted task %s", job.kind, job.job_id, job.task_id)
        self._store_sent_marks()

    def _was_received(self, job: run_tasks.RunningTask) -> bool:
        return job.heartbeat_at is not None or self._executor.seen(job.task_id)

    def _expire_leases(self) -> None:
        """Re-send (or, after ``max_attempts``, fail) jobs whose worker stopped renewing the
        lease. Only once this dispatcher has itself been able to read the database for a
        whole lease: after a database outage or a server restart the workers get a full
        lease to be heard again."""
        lease = self.settings.worker_lease_seconds
        if not self._executor.adopts_running or self._healthy_since is None:
            return
        if time.monotonic() - self._healthy_since < lease:
            return
        before = utcnow() - timedelta(seconds=lease)
        with session_scope(self.session_factory) as session:
            expired = run_tasks.expired_leases(session, "train", before)
            expired += run_tasks.expired_leases(session, "backtest", before)
        for job in expired:
            if self._executor.finished(job.task_id):
                continue  # the result is there; it is being (or will be) stored
            reason = f"its worker stopped answering (no heartbeat for {lease:g} s)"
            with session_scope(self.session_factory) as session:
                verdict = run_tasks.retry_lost(
                    session, job.kind, job.job_id, job.task_id, reason, self.settings.max_attempts
                )
            self._inflight.pop(job.task_id, None)
            self._executor.abandon(job.task_id)
            log.warning(
                "%s %s: lease of task %s expired; %s", job.kind, job.job_id, job.task_id, verdict
            )


def make_worker(settings: Settings, session_factory: sessionmaker[Session]):
    if settings.worker_mode == "off":
        return NullWorker()
    return LocalWorkerPool(settings, session_factory)
