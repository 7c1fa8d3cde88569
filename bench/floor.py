"""The floor: the same SQL through the same driver, rows to JSON with orjson, in a bare ASGI app.

No authentication, no OData parsing, no validation, no SQLAlchemy at run time: each case's
SELECT is built and compiled once with SQLAlchemy (the same statement shape the API runs) and
then executed on the raw DBAPI connection (sqlite3, psycopg); rows become dicts zipped with the
cursor's column names and go to orjson. That is what the database, the driver and the JSON encoder
cost by themselves, and ``bench/suite.py`` reports the API's figures as a ratio to it.

Two floors, by the query string: the query alone, in autocommit mode; and with ``unit=1`` the
same SQL as the API's request, statement for statement: the transaction's ``BEGIN`` (on
PostgreSQL ``BEGIN READ ONLY`` with ``SET LOCAL statement_timeout``, in one round trip as
db/engine.py sends it), the login query (domain/tenants.py), the query, and ``COMMIT``
(PostgreSQL) or ``ROLLBACK`` (SQLite, as the API ends a read). On PostgreSQL an API process
keeps the logins it verified (domain/logins.py), so under load a request sends no login query
and its ``BEGIN`` checks the login epoch and enters row-level security for the login's tenant:
the floor does the same (unless ``ODYSSEE_KEEP_LOGINS=off`` turns that off for both). The
second is what the issue's ratio means by the same SQL; the first shows what the transaction and
the login cost by themselves.

Like the API (api/inline.py), queries run on the event loop's thread: SQLite's straight away
(worker threads convoy on the GIL that sqlite3 releases for every row), PostgreSQL's through
psycopg's asyncio connection, awaiting the network as the API's short requests do. SQLite's
connections come from the same pool as the API's (db/engine.py); PostgreSQL's from a queue of as
many psycopg connections as the API's loop pool keeps (``ODYSSEE_THREADS`` + 1), in autocommit
mode as the pool's are (db/engine.py): the query alone, without the API's BEGIN and COMMIT.

    ODYSSEE_DATABASE_URL=... uv run uvicorn --app-dir bench floor:app --port 9001
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import parse_qs

import orjson
import psycopg
import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler

from odyssee.db.direct import driver_parameters
from odyssee.db.engine import Database, postgresql_begin
from odyssee.domain.demo import API_USER, DOMAIN
from odyssee.domain.tenants import find_tenant, login_statement
from odyssee.model.registry import registry
from odyssee.model.system import LoginEpoch
from odyssee.settings import Settings

database = Database(os.environ["ODYSSEE_DATABASE_URL"])
SETTINGS = Settings.from_env()
THREADS = SETTINGS.threads
dialect = database.engine.dialect
with database.transaction(write=False) as _session:
    _tenant = find_tenant(_session, DOMAIN)
    assert _tenant is not None
    TENANT = _tenant.id
    EPOCH = _session.execute(sa.select(LoginEpoch.epoch).where(LoginEpoch.id == 1)).scalar_one()
INLINE = dialect.name == "sqlite"


@cache
def _compiled(path: str, name: str, limit: int) -> SQLCompiler:
    """One case's SELECT, compiled as the API compiles it."""
    table = registry().by_table(name).table
    columns = [table.c[f.name] for f in registry().by_table(name).columns]
    tenant = table.c.tenant_id == sa.bindparam("tenant", TENANT, type_=table.c.tenant_id.type)
    if path == "/byid":
        key = sa.bindparam("id", uuid.UUID(int=0), type_=table.c.id.type)
        statement = sa.select(*columns).where(tenant, table.c.id == key)
    elif path == "/delta":
        since = sa.bindparam("since", datetime.min, type_=table.c.modified_dateutc.type)
        statement = (
            sa.select(*columns).where(tenant, table.c.modified_dateutc > since)
            .order_by(table.c.modified_dateutc, table.c.id).limit(limit + 1)
        )  # fmt: skip
    elif path == "/page":
        statement = sa.select(*columns).where(tenant).order_by(table.c.id).limit(limit + 1)
    else:
        raise LookupError(path)
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    return compiled


@cache
def _login() -> tuple[str, Any]:
    """The API's login query (with row-level security as the API enters it), compiled, and the
    demo login's parameters."""
    compiled = login_statement(wall=SETTINGS.row_security and not INLINE).compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    values = {"domain": DOMAIN.upper(), "username": API_USER.lower()}
    return compiled.string, driver_parameters(compiled, values)


KNOWN = SETTINGS.keep_logins
"""Whether the API's PostgreSQL requests find their login kept (domain/logins.py): then a read
sends no login query, and its ``BEGIN`` checks the login epoch and enters row-level security."""
BEGIN = postgresql_begin(
    read_only=True,
    timeout_ms=SETTINGS.statement_timeout_ms,
    tenant_id=TENANT if KNOWN and SETTINGS.row_security else None,
    login_epoch=EPOCH if KNOWN else None,
)
"""PostgreSQL's start of a read as db/engine.py sends it."""


def _statement(path: str, params: dict[str, str]) -> tuple[str, Any]:
    """The SQL text and the driver's parameters of one request."""
    compiled = _compiled(path, params["table"], int(params.get("limit", 1)))
    values: dict[str, Any] = {"tenant": TENANT}
    if "id" in params:
        values["id"] = uuid.UUID(params["id"])
    if "since" in params:
        values["since"] = datetime.fromisoformat(params["since"])
    return compiled.string, driver_parameters(compiled, values)


def _query(path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """SQLite: a pooled connection, as the API draws one per request (autocommit mode here); with
    ``unit`` inside a transaction, after the login, rolled back as the API's reads are."""
    sql, parameters = _statement(path, params)
    unit = "unit" in params
    connection = database.engine.raw_connection()
    try:
        cursor = connection.cursor()
        if unit:
            cursor.execute("BEGIN")
            cursor.execute(*_login()).fetchall()
        cursor.execute(sql, parameters)
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        if unit:
            cursor.execute("ROLLBACK")
        cursor.close()
    finally:
        connection.close()
    return rows


_CONNECTIONS: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()


async def _query_async(path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """PostgreSQL: the query alone, in autocommit mode (the API's connections are in it too, and
    send their own BEGIN); with ``unit`` inside the API's transaction, after its login."""
    sql, parameters = _statement(path, params)
    unit = "unit" in params
    connection = await _CONNECTIONS.get()
    try:
        if unit:
            await connection.execute(BEGIN)
            if not KNOWN:
                await (await connection.execute(*_login())).fetchall()
        cursor = await connection.execute(sql, parameters)
        assert cursor.description is not None
        names = [column.name for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in await cursor.fetchall()]
        if unit:
            await connection.commit()
    finally:
        _CONNECTIONS.put_nowait(connection)
    return rows


def _number(value: Any) -> float:
    """psycopg's ``Decimal`` (numeric columns) as the JSON number the API sends."""
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


async def _lifespan(receive: Any, send: Any) -> None:
    """PostgreSQL's connections, opened on the loop that uses them, as the API's (api/app.py)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if not INLINE:
                url = sa.make_url(database.url).set(drivername="postgresql")
                for _ in range(THREADS + 1):
                    _CONNECTIONS.put_nowait(
                        await psycopg.AsyncConnection.connect(url.render_as_string(hide_password=False),
                                                              autocommit=True, options="-c timezone=UTC")
                    )  # fmt: skip
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            while not _CONNECTIONS.empty():
                await _CONNECTIONS.get_nowait().close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    params = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
    rows = _query(scope["path"], params) if INLINE else await _query_async(scope["path"], params)
    body = orjson.dumps({"value": rows[: int(params.get("limit", 1))]}, default=_number)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
