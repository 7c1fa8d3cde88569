"""The floor: the same SQL through the same driver, rows to JSON with orjson, in a bare ASGI app.

No authentication, no OData parsing, no validation: what the database, the driver and the
JSON encoder cost by themselves. ``bench/suite.py`` reports the API's figures as a ratio to it.

    ODYSSEE_DATABASE_URL=... uv run uvicorn --app-dir bench floor:app --port 9001
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import orjson
import sqlalchemy as sa
from starlette.concurrency import run_in_threadpool

from odyssee.db.engine import Database
from odyssee.domain.demo import DOMAIN
from odyssee.domain.tenants import find_tenant
from odyssee.model.registry import registry

database = Database(os.environ["ODYSSEE_DATABASE_URL"])
with database.transaction(write=False) as _session:
    _tenant = find_tenant(_session, DOMAIN)
    assert _tenant is not None
    TENANT = _tenant.id


def _table(name: str) -> sa.Table:
    return registry().by_table(name).table


def _columns(table: sa.Table) -> list[Any]:
    return [table.c[f.name] for f in registry().by_table(table.name).columns]


def _query(path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    if path == "/byid":
        table = _table(params["table"])
        statement = sa.select(*_columns(table)).where(
            table.c.tenant_id == TENANT, table.c.id == uuid.UUID(params["id"])
        )
    elif path == "/delta":
        table = _table(params["table"])
        statement = (
            sa.select(*_columns(table))
            .where(table.c.tenant_id == TENANT, table.c.modified_dateutc > datetime.fromisoformat(params["since"]))
            .order_by(table.c.modified_dateutc, table.c.id)
            .limit(int(params["limit"]) + 1)
        )
    elif path == "/page":
        table = _table(params["table"])
        statement = (
            sa.select(*_columns(table)).where(table.c.tenant_id == TENANT).order_by(table.c.id)
            .limit(int(params["limit"]) + 1)
        )  # fmt: skip
    else:
        raise LookupError(path)
    with database.engine.connect() as connection:
        return [dict(row) for row in connection.execute(statement).mappings()]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    params = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
    rows = await run_in_threadpool(_query, scope["path"], params)
    body = orjson.dumps({"value": rows[: int(params.get("limit", 1))]})
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})
