"""The web UI: one HTML page at ``/`` (hash-routed in the browser) and its static files."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

WEB_DIR = Path(__file__).resolve().parent.parent / "web"

router = APIRouter(tags=["ui"], include_in_schema=False)


@router.get("/", response_class=FileResponse)
def index() -> FileResponse:
    # no-cache: the page is small and must pick up new asset versions after an upgrade.
    return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})


def static_files() -> StaticFiles:
    return StaticFiles(directory=WEB_DIR)
