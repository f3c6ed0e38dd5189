"""create_app(): routers, error handlers, static UI, lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import __version__
from app.config import Settings, get_settings
from app.db import make_engine, make_session_factory
from app.errors import DomainError
from app.middleware import BearerTokenAuth, BodySizeLimit
from app.migrate import upgrade
from app.routers import backtests, health, optimizations, projects, train_jobs, ui
from app.workers.local import make_worker

log = logging.getLogger(__name__)

UPLOAD_PATHS = ("/api/ml/train-jobs/import",)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        upgrade(engine)
        # Reads on SQLite get their own engine with deferred transactions, so status polls
        # never queue behind the workers' writes; PostgreSQL needs no such thing.
        read_engine = (
            make_engine(settings.database_url, lock_for_writes=False)
            if engine.dialect.name == "sqlite"
            else engine
        )
        app.state.engine = engine
        app.state.session_factory = make_session_factory(engine)
        app.state.read_session_factory = make_session_factory(read_engine)
        app.state.worker = make_worker(settings, app.state.session_factory)
        app.state.worker.start()
        try:
            yield
        finally:
            app.state.worker.stop()
            engine.dispose()
            read_engine.dispose()

    app = FastAPI(
        title="StockLean",
        version=__version__,
        description="Projects, ML train jobs, LEAN-compatible backtests and optimizations.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    for router in (
        health.router,
        projects.router,
        backtests.router,
        train_jobs.router,
        optimizations.router,
        ui.router,
    ):
        app.include_router(router)
    app.mount("/static", ui.static_files(), name="static")
    _install_error_handlers(app)

    # Outermost first: limit the body before anything reads it, then check the token.
    app.add_middleware(BearerTokenAuth, token=settings.api_token)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        upload_paths=UPLOAD_PATHS,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
        )
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # Drop the echoed input (it can be large) and keep loc/msg/type, which name the field.
        errors = [
            {key: error[key] for key in ("loc", "msg", "type") if key in error}
            for error in exc.errors()
        ]
        return JSONResponse({"detail": jsonable_encoder(errors)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # Undecodable bytes are invalid input like any broken JSON: 422, naming the body.
            detail = [{"loc": ["body"], "msg": "body is not valid JSON", "type": "json_invalid"}]
            return JSONResponse({"detail": detail}, status_code=422)
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal server error"}, status_code=500)
