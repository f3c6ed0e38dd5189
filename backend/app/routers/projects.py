from __future__ import annotations

from fastapi import APIRouter, status

from app.deps import ReadSessionDep, SessionDep
from app.routers.common import Limit, Offset, PathId
from app.schemas.common import Page
from app.schemas.projects import ProjectCreate, ProjectOut
from app.services import projects as service

router = APIRouter(prefix="/api/projects", tags=["projects"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ProjectOut)
def create_project(body: ProjectCreate, session: SessionDep):
    return service.create_project(session, name=body.name, description=body.description)


@router.get("", response_model=Page[ProjectOut])
def list_projects(session: ReadSessionDep, limit: Limit = 50, offset: Offset = 0):
    items, total = service.list_projects(session, limit=limit, offset=offset)
    return {"items": items, "total": total}


@router.get("/{project_id}", response_model=ProjectOut)
def get_project(project_id: PathId, session: ReadSessionDep):
    return service.get_project(session, project_id)
