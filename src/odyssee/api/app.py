"""The application factory: no global state, so tests and servers build as many apps as they need."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from odyssee import __version__
from odyssee.api import errors, metadata, openapi, routes
from odyssee.api.compression import CompressionMiddleware
from odyssee.api.limits import RateLimiter, RateLimitHeaders
from odyssee.api.throttle import LoginThrottle
from odyssee.db.engine import Database
from odyssee.settings import Settings
from odyssee.web import create_console


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    """Build the ASGI app for an existing, migrated database."""
    settings = settings or Settings.from_env()
    owns_database = database is None
    database = database or Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_database:
            database.dispose()

    app = FastAPI(
        title="odyssee",
        version=__version__,
        description="Field-service back-end speaking the Odyssee Mobile integration API (OData v4 style).",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.rate_limiter = RateLimiter(settings.rate_user, settings.rate_tenant)
    app.state.login_throttle = LoginThrottle(
        settings.login_failures, settings.login_failures_per_ip, settings.login_window_seconds
    )
    errors.install(app)
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(CompressionMiddleware, max_body_bytes=settings.max_body_bytes)
    app.include_router(metadata.router, include_in_schema=False)  # before routes: /api/{entity_set} would match it
    app.include_router(routes.router, include_in_schema=False)
    openapi.install(app)
    app.mount("/", create_console(app))  # last: the web console takes what /api and /docs do not
    return app
