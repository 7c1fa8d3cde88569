"""A read transaction without the ORM: what every GET runs in (db/engine.py ``Database.reading``).

The domain's functions take a :class:`~sqlalchemy.orm.Session`, but of it they use only what a
Core connection has too: ``execute``, ``connection()`` (db/direct.py runs on its DBAPI
connection), ``get_bind()`` (for the dialect) and a per-transaction ``info`` dict. Nothing in a
read loads ORM objects. Opening, beginning and closing an ORM session around its connection
cost about 45 µs of a GET's 270 (in-process, SQLite, a delta poll that returns no row); a
:class:`Reader` over the connection alone costs about half (25 against 46 µs, measured apart;
docs/performance.md, point 15). Writes keep the session: they use its savepoints and its bookkeeping.

Anything else a session offers is refused by name, so code that starts to need it in a read
fails the GET tests at once, with the reason, instead of half-working.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.engine import Result
from sqlalchemy.sql.base import Executable


class Reader:
    """The read-only stand-in for a session: one Core connection inside one transaction."""

    __slots__ = ("_connection", "info")

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection
        self.info: dict[Any, Any] = {}
        """State kept for this transaction only (a session's ``info``; the connection's own
        ``info`` outlives the transaction with the pooled DBAPI connection)."""

    def execute(self, statement: Executable, params: Mapping[str, Any] | None = None) -> Result[Any]:
        return self._connection.execute(statement, params)

    def connection(self) -> sa.Connection:
        return self._connection

    def get_bind(self) -> sa.Connection:
        return self._connection

    def __getattr__(self, name: str) -> NoReturn:
        raise AttributeError(
            f"A read transaction (db/reader.py Reader) has no {name!r}: it is a Core connection, not an ORM "
            "session; use execute() with Core statements, or do this in a write transaction."
        )
