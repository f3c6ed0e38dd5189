from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Project
from app.services.common import get_or_404, insert, paginate


def create_project(
    session: Session, *, name: str, description: str = "", project_id: int | None = None
) -> Project:
    return insert(session, Project(name=name, description=description), project_id)


def get_project(session: Session, project_id: int) -> Project:
    return get_or_404(session, Project, project_id, label="project")


def list_projects(session: Session, *, limit: int, offset: int) -> tuple[list[Project], int]:
    return paginate(session, select(Project).order_by(Project.id), limit=limit, offset=offset)
