"""How a command reaches the database: ``migrated_database`` (the configured database,
migrated, as a session factory) for commands that only read and write rows, and
``local_runtime`` (that plus the local worker pool, exactly as the server has them) for
commands that run work in-process."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings, get_settings
from app.db import make_engine, make_session_factory, session_scope
from app.migrate import upgrade

if TYPE_CHECKING:
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
def migrated_database(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """The configured database, migrated to the newest schema; disposed on exit."""
    engine = make_engine(settings.database_url)
    upgrade(engine)
    try:
        yield make_session_factory(engine)
    finally:
        engine.dispose()


@contextmanager
def database_session(settings: Settings) -> Iterator[Session]:
    """One session on the migrated database, committed on success (``session_scope``)."""
    with migrated_database(settings) as factory, session_scope(factory) as session:
        yield session


@contextmanager
def local_runtime(settings: Settings | None = None) -> Iterator[Runtime]:
    from app.workers.local import LocalWorkerPool

    settings = settings or get_settings()
    if settings.worker_mode == "off":
        settings = settings.model_copy(update={"worker_mode": "process"})
    with migrated_database(settings) as factory:
        worker = LocalWorkerPool(settings, factory)
        worker.start()
        try:
            yield Runtime(settings, factory, worker)
        finally:
            worker.stop()
