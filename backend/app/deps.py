"""FastAPI dependencies as ``Annotated`` aliases, so route signatures read like sentences."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Protocol

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import session_scope


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; commit on success, roll back on any error."""
    with session_scope(request.app.state.session_factory) as session:
        yield session


def get_read_session(request: Request) -> Iterator[Session]:
    """A session for routes that only read (on SQLite it never waits for a writer)."""
    with session_scope(request.app.state.read_session_factory) as session:
        yield session


class Worker(Protocol):
    """What a route needs of the worker pool (local, Celery-backed or off): a nudge that new
    work is queued, so it is claimed now instead of at the next poll."""

    def wake(self) -> None: ...

    def workers_answering(self) -> int | None:
        """Celery workers consuming the server's queue that answer now (None: not Celery)."""
        ...


def get_worker(request: Request) -> Worker:
    return request.app.state.worker


# scope="function": commit before the response is sent, so a 201 means stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
WorkerDep = Annotated[Worker, Depends(get_worker)]
