"""Creating a sweep: a retried request with the same Idempotency-Key gets the stored sweep,
even when the two requests race; the loser's other work in the same transaction survives."""

from __future__ import annotations

import threading

from factories import SEED_BODY, make_project
from sqlalchemy import func, select

from app.db import make_session_factory, session_scope
from app.models import Optimization, OptimizationTrial, Project
from app.schemas.optimizations import OptimizationCreate
from app.services.optimizations import create_optimization


def test_two_requests_with_one_key_make_one_sweep(engine, seeded, market_settings):
    factory = make_session_factory(engine)
    body = OptimizationCreate.model_validate(SEED_BODY)
    winner = factory()
    sweep, created = create_optimization(winner, body, market_settings, idempotency_key="k1")
    assert created  # stored, not yet committed

    answer: dict = {}

    def loser() -> None:
        # PostgreSQL: its insert waits on the winner's uncommitted key, then collides, and
        # only its savepoint is undone. SQLite: it waits at BEGIN IMMEDIATE and then finds
        # the stored sweep at once. Either way, the same answer.
        with session_scope(factory) as session:
            make_project(session, name="made in the same transaction")
            other, other_created = create_optimization(
                session, body, market_settings, idempotency_key="k1"
            )
            answer.update(id=other.id, created=other_created)

    thread = threading.Thread(target=loser)
    thread.start()
    thread.join(0.5)  # let the loser reach the database while the winner holds the key
    winner.commit()
    winner.close()
    thread.join(60)
    assert not thread.is_alive()
    assert answer == {"id": sweep.id, "created": False}
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Optimization)) == 1
        trials = select(func.count()).select_from(OptimizationTrial)
        assert session.scalar(trials) == 30
        names = set(session.scalars(select(Project.name)))
        assert "made in the same transaction" in names
