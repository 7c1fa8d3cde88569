"""Shared fixtures: a fresh, migrated database per test on the engine CI chose, and API clients.

``ODYSSEE_TEST_DATABASE_URL`` selects PostgreSQL (e.g.
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``); without it the suite runs on
SQLite files. Each test gets its own database — a copy of a migrated template — so no test
can see another's rows.
"""

from __future__ import annotations

import base64
import itertools
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from odyssee.api.app import create_app
from odyssee.db.engine import Database, normalise_url
from odyssee.db.migrate import upgrade
from odyssee.domain.tenants import create_credential, create_tenant
from odyssee.settings import Settings
from tests.factories import Factory

PG_URL = os.environ.get("ODYSSEE_TEST_DATABASE_URL")
_counter = itertools.count()


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now (for servers a test starts)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(url: str, headers: dict[str, str], *, seconds: float = 60) -> None:
    """Poll ``url`` until it answers 200; fail the test after ``seconds`` (bounded, loopback only)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, headers=headers, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} did not answer within {seconds:g} s"
        time.sleep(0.2)


@contextmanager
def counted() -> Iterator[list[str]]:
    """The SQL statements the server runs inside the block, on any of its engines (a request run on
    a worker thread, or on the event loop's PostgreSQL engine, db/engine.py ``serve_loop``)."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    sa.event.listen(sa.Engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(sa.Engine, "before_cursor_execute", record)


def is_login_query(statement: str) -> bool:
    """Whether ``statement`` is a request's login query (domain/tenants.py ``login_statement``,
    the one that reads the login epoch); a kept login sends none (domain/logins.py)."""
    return "FROM credential" in statement and "login_epoch" in statement


class Clock:
    """A monotonic clock that only moves when a test tells it to (rate limits, login throttling)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def basic(username: str, password: str, domain: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}@{domain}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database that per-test databases are copied from."""
    if PG_URL:
        admin = sa.create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
        name = f"odyssee_tpl_{os.getpid()}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = make_url(normalise_url(PG_URL)).set(database=name).render_as_string(hide_password=False)
        database = Database(url)
        upgrade(database.engine)
        database.dispose()
        yield name
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        database = Database(f"sqlite:///{path}")
        upgrade(database.engine)
        with database.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        database.dispose()
        yield str(path)


@contextmanager
def fresh_database_url(template: str, directory: Path) -> Iterator[str]:
    """A new database copied from the migrated template (a file in ``directory`` on SQLite), dropped afterwards."""
    if PG_URL:
        admin = sa.create_engine(normalise_url(PG_URL), isolation_level="AUTOCOMMIT")
        name = f"odyssee_t_{os.getpid()}_{next(_counter)}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        yield make_url(normalise_url(PG_URL)).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    else:
        path = directory / "odyssee.db"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"


@pytest.fixture
def database_url(template: str, tmp_path: Path) -> Iterator[str]:
    with fresh_database_url(template, tmp_path) as url:
        yield url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def app_client(database: Database) -> Iterator[TestClient]:
    """An HTTP client for the real ASGI app on the test database (no credentials)."""
    app = create_app(Settings(database_url=database.url, max_body_bytes=64 * 1024), database)
    with TestClient(app, base_url="http://testserver") as client:
        yield client


class Tenant:
    """A tenant with an API login, and helpers to call the API as it."""

    def __init__(self, client: TestClient, domain: str, username: str, password: str) -> None:
        self.client = client
        self.domain = domain
        self.headers = basic(username, password, domain)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def post(self, url: str, body: Any = None, **kwargs: Any) -> Any:
        return self.client.post(url, json=body, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def put(self, url: str, body: Any = None, **kwargs: Any) -> Any:
        return self.client.put(url, json=body, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def patch(self, url: str, body: Any = None, **kwargs: Any) -> Any:
        return self.client.patch(url, json=body, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Any:
        return self.client.delete(url, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs)

    def rows(self, controller: str) -> list[dict[str, Any]]:
        """Every row of an entity set, following next links: the state a test compares before/after."""
        found: list[dict[str, Any]] = []
        url: str | None = f"/api/{controller}?$orderby=id"
        while url:
            response = self.get(url)
            assert response.status_code == 200, response.text
            body = response.json()
            found.extend(body["value"])
            url = body.get("@odata.nextLink")
        return found


def make_tenant(database: Database, client: TestClient, domain: str | None = None) -> Tenant:
    domain = domain or f"T{uuid.uuid4().hex[:8].upper()}"
    with database.transaction(write=True) as session:
        create_tenant(session, domain)
        create_credential(session, domain, "api@example.com", "secret-pw", api=True)
    return Tenant(client, domain, "api@example.com", "secret-pw")


@pytest.fixture
def tenant(database: Database, app_client: TestClient) -> Tenant:
    return make_tenant(database, app_client)


@pytest.fixture
def make(tenant: Tenant) -> Factory:
    return Factory(tenant)


@pytest.fixture
def live(database: Database) -> Iterator[tuple[str, dict[str, str]]]:
    """A real uvicorn server on 127.0.0.1 (a free port) over the test database, and credentials for it."""
    with database.transaction(write=True) as session:
        create_tenant(session, "RACE")
        create_credential(session, "RACE", "api", "pw-race", api=True)
    port = free_port()
    config = uvicorn.Config(
        create_app(Settings(database_url=database.url), database), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", basic("api", "pw-race", "RACE")
    server.should_exit = True
    thread.join(timeout=10)
