"""The application factory: no global state, so tests and servers build as many apps as they need."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from odyssee.api import errors, metadata, openapi, routes
from odyssee.api.compression import CompressionMiddleware
from odyssee.api.inline import InlinePolicy
from odyssee.api.limits import RateLimiter, RateLimitHeaders
from odyssee.api.throttle import LoginThrottle
from odyssee.db.engine import Database
from odyssee.domain.logins import KnownLogins
from odyssee.settings import Settings
from odyssee.web import create_console

PROCESS_HEADER = "x-odyssee-pid"


class ProcessHeader:
    """Test-only (``ODYSSEE_DEBUG_HOLD=1``): every response names the API process that served it, so a
    test of ``odyssee serve --workers N`` can see several processes answer. Not installed otherwise."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.pid = str(os.getpid()).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (PROCESS_HEADER.encode(), self.pid)]
            await send(message)

        await self.app(scope, receive, tagged if scope["type"] == "http" else send)


def _freeze_start_up_objects() -> None:
    """Leave what start-up built (modules, the model, SQLAlchemy's tables and caches, the app) out
    of the garbage collector's full collections. Under load a full collection ran about once a
    second and scanned all of it: a pause of about 100 ms for every request in flight, which was
    the p99 of a GET by id on PostgreSQL (docs/performance.md, point 19). Frozen objects are
    still freed when no longer referenced; only cycles among them wait for :func:`gc.unfreeze`.
    No collection first: in a process that builds many apps (the test suite) each one scanned
    the whole heap, and what start-up left as garbage is little and unfrozen at shutdown."""
    gc.freeze()


def _pool_size(settings: Settings) -> int:
    """A connection for every worker thread, and one for SQLite's reads on the event loop; the
    event loop's PostgreSQL pool (db/engine.py ``serve_loop``) takes the same size."""
    return settings.threads + 1


def _read_database(settings: Settings, database: Database) -> Database:
    """The database GET requests read from: a PostgreSQL replica when configured, else the primary.

    SQLite is refused: a file has no replicas, and with WAL its readers never wait for the writer.
    """
    if not settings.read_database_url:
        return database
    read = Database(settings.read_database_url, pool_size=_pool_size(settings), row_security=settings.row_security)
    if database.dialect != "postgresql" or read.dialect != "postgresql":
        read.dispose()
        raise ValueError(
            "ODYSSEE_READ_DATABASE_URL needs PostgreSQL for both databases (a streaming replica of the primary); "
            "on SQLite leave it unset: readers never wait for the writer there."
        )
    return read


def row_security_problem(app: Starlette) -> str | None:
    """Why the app's databases cannot serve behind row-level security as configured, or None."""
    served: Database
    for served in dict.fromkeys([app.state.database, app.state.read_database]):
        problem = served.row_security_problem()
        if problem:
            return problem
    return None


def create_app(settings: Settings | None = None, database: Database | None = None) -> Starlette:
    """Build the ASGI app for an existing, migrated database.

    Without arguments it reads the environment (``ODYSSEE_DATABASE_URL`` …): that is the factory
    ``odyssee serve --workers N`` hands uvicorn (``odyssee.api.app:create_app``), which calls it
    once in each worker process. A ``database`` passed in keeps its own ``row_security``."""
    settings = settings or Settings.from_env()
    owns_database = database is None
    database = database or Database(
        settings.database_url, pool_size=_pool_size(settings), row_security=settings.row_security
    )
    read_database = _read_database(settings, database)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Every run_in_threadpool of this event loop (api/routes.py, $batch, the console) shares it.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.threads
        problem = row_security_problem(app)
        if problem:
            raise RuntimeError(problem)
        served = list(dict.fromkeys([database, read_database]))
        for each in served:  # PostgreSQL's short requests run on this loop (api/inline.py)
            await each.serve_loop()
        _freeze_start_up_objects()
        try:
            yield
        finally:
            gc.unfreeze()  # what this app built may now become garbage like anything else
            for each in served:
                await each.release_loop()
        if owns_database:
            database.dispose()
        if read_database is not database:
            read_database.dispose()

    # Plain Starlette: the routes are generic and the OpenAPI document comes from the model, so
    # FastAPI's injection, validation and its own middlewares only added time to every request.
    app = Starlette(routes=[*metadata.ROUTES, *routes.ROUTES, *openapi.ROUTES], lifespan=lifespan)
    app.state.settings = settings
    app.state.database = database
    app.state.read_database = read_database
    app.state.inline = InlinePolicy(settings.inline_read_ms, settings.inline_write_ms)
    app.state.rate_limiter = RateLimiter(settings.rate_user, settings.rate_tenant)
    app.state.known_logins = {  # PostgreSQL only: there a login read is a round trip of its own
        id(each): KnownLogins()
        for each in dict.fromkeys([database, read_database])
        if each.dialect == "postgresql" and settings.keep_logins
    }
    app.state.login_throttle = LoginThrottle(
        settings.login_failures, settings.login_failures_per_ip, settings.login_window_seconds
    )
    errors.install(app)
    if settings.debug_hold:
        app.add_middleware(ProcessHeader)
    app.add_middleware(RateLimitHeaders)
    app.add_middleware(CompressionMiddleware, max_body_bytes=settings.max_body_bytes)
    app.mount("/", create_console(app))  # last: the web console takes what /api and /docs do not
    return app
