"""The floor: the same SQL through the same driver, rows to JSON with orjson, in a bare ASGI app.

No authentication, no OData parsing, no validation, no SQLAlchemy at run time: each case's
SELECT is built and compiled once with SQLAlchemy (the same statement shape the API runs) and
then executed on the raw DBAPI connection (sqlite3, psycopg); rows become dicts zipped with the
cursor's column names and go to orjson. That is what the database, the driver and the JSON encoder
cost by themselves, and ``bench/suite.py`` reports the API's figures as a ratio to it.

Like the API (api/inline.py), SQLite queries run on the event loop's thread (worker threads
convoy on the GIL that sqlite3 releases for every row) and PostgreSQL queries on worker threads
(psycopg waits on the network), as many as the API has (``ODYSSEE_THREADS``). Connections come
from the same pool as the API's (db/engine.py).

    ODYSSEE_DATABASE_URL=... uv run uvicorn --app-dir bench floor:app --port 9001
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any
from urllib.parse import parse_qs

import anyio.to_thread
import orjson
import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool

from odyssee.db.engine import Database
from odyssee.domain.demo import DOMAIN
from odyssee.domain.tenants import find_tenant
from odyssee.model.registry import registry
from odyssee.settings import Settings

database = Database(os.environ["ODYSSEE_DATABASE_URL"])
THREADS = Settings.from_env().threads
dialect = database.engine.dialect
with database.transaction(write=False) as _session:
    _tenant = find_tenant(_session, DOMAIN)
    assert _tenant is not None
    TENANT = _tenant.id
INLINE = dialect.name == "sqlite"


@cache
def _compiled(path: str, name: str, limit: int) -> tuple[str, list[str], dict[str, Any], dict[str, Any]]:
    """SQL text, positional parameter names, fixed values and per-name bind processors of one case."""
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
    processors = {
        key: processor
        for key, bind in compiled.binds.items()
        if (processor := bind.type._cached_bind_processor(dialect)) is not None
    }
    fixed = compiled.construct_params()
    return compiled.string, list(compiled.positiontup or []), fixed, processors


def _query(path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    limit = int(params.get("limit", 1))
    sql, positions, fixed, processors = _compiled(path, params["table"], limit)
    values = dict(fixed, tenant=TENANT)
    if "id" in params:
        values["id"] = uuid.UUID(params["id"])
    if "since" in params:
        values["since"] = datetime.fromisoformat(params["since"])
    values = {key: processors[key](value) if key in processors else value for key, value in values.items()}
    # A pooled connection, as the API draws one per request; handing it back rolls back the
    # transaction psycopg opened (and is a no-op for SQLite, which is in autocommit mode here).
    connection = database.engine.raw_connection()
    try:
        cursor = connection.cursor()
        cursor.execute(sql, [values[key] for key in positions] if positions else values)
        names = [column[0] for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        cursor.close()
    finally:
        connection.close()
    return rows


def _number(value: Any) -> float:
    """psycopg's ``Decimal`` (numeric columns) as the JSON number the API sends."""
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


async def _lifespan(receive: Any, send: Any) -> None:
    """As the API's own start-up (api/app.py): as many worker threads as ``ODYSSEE_THREADS`` says,
    not anyio's forty, on which the floor's PostgreSQL poll ran a few percent slower (median of
    three: 1,063 against 1,131 req/s on eight): the floor must not be handicapped."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    if scope["type"] != "http":
        return
    params = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
    if INLINE:
        rows = _query(scope["path"], params)
    else:
        rows = await run_in_threadpool(_query, scope["path"], params)
    body = orjson.dumps({"value": rows[: int(params.get("limit", 1))]}, default=_number)
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
