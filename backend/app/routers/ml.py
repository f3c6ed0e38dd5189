from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, status

from app.deps import SessionDep, WorkerDep
from app.routers.common import Limit, Offset, OptionalId, PathId
from app.schemas.common import Page
from app.schemas.ml import TrainJobCreate, TrainJobOut
from app.services import train_jobs as service

router = APIRouter(prefix="/api/ml/train-jobs", tags=["ml"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TrainJobOut)
def create_train_job(
    body: TrainJobCreate, session: SessionDep, worker: WorkerDep, background: BackgroundTasks
):
    job = service.create_train_job(session, project_id=body.project_id, params=body.params)
    # Background tasks run after the session dependency has committed.
    background.add_task(worker.wake)
    return job


@router.get("", response_model=Page[TrainJobOut])
def list_train_jobs(
    session: SessionDep, project_id: OptionalId = None, limit: Limit = 50, offset: Offset = 0
):
    items, total = service.list_train_jobs(
        session, project_id=project_id, limit=limit, offset=offset
    )
    return {"items": items, "total": total}


@router.get("/{job_id}", response_model=TrainJobOut)
def get_train_job(job_id: PathId, session: SessionDep):
    return service.get_train_job(session, job_id)
