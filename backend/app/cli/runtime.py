"""The embedded runtime for commands that run work in-process: database (migrated), a
session factory and the local worker pool, exactly as the server has them."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings, get_settings
from app.db import make_engine, make_session_factory, session_scope
from app.migrate import upgrade
from app.workers.local import LocalWorkerPool


@dataclass
class Runtime:
    settings: Settings
    session_factory: sessionmaker[Session]
    worker: LocalWorkerPool

    def session(self):
        return session_scope(self.session_factory)

    def wait(self, done: Callable[[Session], bool], on_tick: Callable[[Session], None], poll=0.2):
        """Poll until ``done`` says so, calling ``on_tick`` (e.g. a progress bar) each time."""
        while True:
            with self.session() as session:
                on_tick(session)
                if done(session):
                    return
            time.sleep(poll)


@contextmanager
def local_runtime(settings: Settings | None = None) -> Iterator[Runtime]:
    settings = settings or get_settings()
    if settings.worker_mode == "off":
        settings = settings.model_copy(update={"worker_mode": "process"})
    engine = make_engine(settings.database_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    worker = LocalWorkerPool(settings, factory)
    worker.start()
    try:
        yield Runtime(settings, factory, worker)
    finally:
        worker.stop()
        engine.dispose()
