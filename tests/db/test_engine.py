"""The connection pool hands out working connections (db/engine.py ``_ping_after_idle``).

The server may close a pooled connection behind our back: a PostgreSQL restart or fail-over,
PgBouncer's idle timeout (on SQLite, the file handle closed). The request that draws such a
connection after it sat idle must not fail; a connection used a moment ago is not pinged, which
is what saves a round trip per request on PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from odyssee.db import engine as engine_module
from odyssee.db.engine import Database


def _pooled_connection(database: Database) -> tuple[Any, int | None]:
    """Use the pool's (only) connection once; its DBAPI connection and PostgreSQL backend pid."""
    with database.transaction(write=False) as session:
        connection = session.connection()
        pid = (
            connection.exec_driver_sql("SELECT pg_backend_pid()").scalar() if database.dialect == "postgresql" else None
        )
        return connection.connection.dbapi_connection, pid


def _close_behind_the_pool(database: Database, dbapi_connection: Any, pid: int | None) -> None:
    """What a server restart does to an idle pooled connection."""
    if pid is None:
        dbapi_connection.close()
        return
    admin = sa.create_engine(database.url, poolclass=NullPool)
    with admin.connect() as connection:
        assert connection.exec_driver_sql(f"SELECT pg_terminate_backend({pid})").scalar() is True
    admin.dispose()


def _read(database: Database) -> int:
    with database.transaction(write=False) as session:
        return int(session.execute(sa.text("SELECT 41 + 1")).scalar_one())


def test_an_idle_connection_the_server_closed_is_replaced_before_use(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _close_behind_the_pool(database, *_pooled_connection(database))
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)  # every checkout counts as idle
    assert _read(database) == 42


def test_a_connection_used_a_moment_ago_is_not_pinged(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """The other side of the bargain: within the window the pool trusts the connection, so a
    dead one fails that one statement (and is then replaced), as with no ping at all."""
    _close_behind_the_pool(database, *_pooled_connection(database))
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 3600.0)
    with pytest.raises(sa.exc.DBAPIError):
        _read(database)
    assert _read(database) == 42, "the failed connection was invalidated and replaced"
