"""Submitting a training: the service refuses what the trainer would refuse, before storing
anything (the API and `stocklean demo` both go through it)."""

from __future__ import annotations

import pytest
from factories import make_project
from sqlalchemy import func, select

from app.errors import InvalidRequest
from app.models import RunStatus, TrainJob
from app.services.train_jobs import submit_train_job


def test_bad_params_are_refused_and_nothing_is_stored(session, market_settings):
    project = make_project(session)
    with pytest.raises(InvalidRequest, match="label_horizon"):
        submit_train_job(
            session, market_settings, project_id=project.id, params={"label_horizon": 0}
        )
    with pytest.raises(InvalidRequest, match="score_end 2030-01-01 is outside the data"):
        submit_train_job(
            session, market_settings, project_id=project.id, params={"score_end": "2030-01-01"}
        )
    assert session.scalar(select(func.count()).select_from(TrainJob)) == 0


def test_good_params_are_queued(session, market_settings):
    project = make_project(session)
    params = {"model": "ridge", "score_start": "2019-09-03", "min_train_sessions": 60}
    job = submit_train_job(session, market_settings, project_id=project.id, params=params)
    assert job.status == RunStatus.queued and job.params == params
