from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, UploadFile, status

from app.deps import ReadSessionDep, SessionDep, SettingsDep, WorkerDep
from app.routers.common import Limit, Offset, OptionalId, PathId
from app.schemas.common import Id, Page
from app.schemas.train_jobs import TrainJobCreate, TrainJobOut
from app.services import train_jobs as service

router = APIRouter(prefix="/api/ml/train-jobs", tags=["ml"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TrainJobOut)
def create_train_job(
    body: TrainJobCreate,
    session: SessionDep,
    settings: SettingsDep,
    worker: WorkerDep,
    background: BackgroundTasks,
):
    job = service.submit_train_job(
        session, settings, project_id=body.project_id, params=body.params
    )
    # Background tasks run after the session dependency has committed.
    background.add_task(worker.wake)
    return job


@router.get("", response_model=Page[TrainJobOut])
def list_train_jobs(
    session: ReadSessionDep, project_id: OptionalId = None, limit: Limit = 50, offset: Offset = 0
):
    items, total = service.list_train_jobs(
        session, project_id=project_id, limit=limit, offset=offset
    )
    return {"items": items, "total": total}


@router.get("/{job_id}", response_model=TrainJobOut)
def get_train_job(job_id: PathId, session: ReadSessionDep):
    return service.get_train_job(session, job_id)


@router.post("/import", status_code=status.HTTP_201_CREATED, response_model=TrainJobOut)
def import_scores(
    project_id: Annotated[Id, Form()],
    file: Annotated[UploadFile, File(description="CSV with columns date,symbol,score")],
    session: SessionDep,
    settings: SettingsDep,
):
    """Register a scores file produced elsewhere as a completed train job."""
    with tempfile.TemporaryDirectory() as tmp:
        upload = Path(tmp) / "upload.csv"
        with upload.open("wb") as out:
            shutil.copyfileobj(file.file, out)
        return service.import_scores(
            session,
            settings,
            project_id=project_id,
            source_path=upload,
            original_name=file.filename or "upload.csv",
        )
