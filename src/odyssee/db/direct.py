"""Running a SELECT that is executed over and over straight on the driver.

Every request runs the login query and, for a list, the page query: statement objects built once
and reused (domain/tenants.py ``_LOGIN``; odata/query.py ``_reused``). Through SQLAlchemy each
execution still pays its execution context, result metadata and per-row machinery: 17 µs for the
login where sqlite3 needs 3, 117 µs for a 20-row JSON page where it needs 79 (docs/performance.md).
Here the statement is compiled once per statement object and dialect, and executed on the
transaction's own DBAPI connection, so it sees and does exactly what the transaction does.

What SQLAlchemy would have done around the execution is kept: ``before_cursor_execute`` listeners
run (the SQLite statement deadline, db/engine.py), driver errors become SQLAlchemy's exceptions
(a timeout is still a :class:`sqlalchemy.exc.OperationalError`), a connection found closed is
invalidated, and result types convert values as they would. Whatever this cannot reproduce goes
through :meth:`sqlalchemy.engine.Connection.execute` as before: statements whose SQL depends on
the values (``IN`` lists: post-compile parameters) and connections with ``before_execute``
listeners (domain/deferred.py writes its queued rows before any statement).
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler

PREPARED_STATEMENTS = 1024
"""Statements kept compiled; past that the least recently used is compiled again when it returns."""

Row = tuple[Any, ...]


@dataclass
class _Prepared:
    compiled: SQLCompiler
    keys: tuple[str, ...]
    positional: bool
    processors: list[Callable[[Any], Any] | None] | None = field(default=None)
    """Per result column; made from the first cursor description (psycopg's types decide some)."""

    def parameters(self, values: Mapping[str, Any] | None) -> Any:
        compiled = self.compiled
        bound = compiled.construct_params(values, _check=False)
        # What SQLAlchemy applies itself; one callable per name (sequences are for tuple binds,
        # which expand post-compile and never come here).
        processors = cast(Mapping[str, Callable[[Any], Any]], compiled._bind_processors)
        if processors:
            bound = {name: processors[name](v) if name in processors else v for name, v in bound.items()}
        if self.positional:
            return tuple(bound[name] for name in compiled.positiontup or ())
        return bound


_CACHE: OrderedDict[int, tuple[weakref.ref[Any], str, _Prepared]] = OrderedDict()
_LOCK = threading.Lock()


def _prepared(connection: sa.Connection, statement: sa.Select[Any]) -> _Prepared | None:
    """The compiled form of ``statement`` for this connection's dialect; None when it cannot run here."""
    dialect = connection.dialect
    key = id(statement)
    with _LOCK:
        found = _CACHE.get(key)
        if found is not None and found[0]() is statement and found[1] == dialect.name:
            _CACHE.move_to_end(key)
            return found[2]
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    if compiled.literal_execute_params or compiled.post_compile_params:
        return None
    keys = tuple(column[0] for column in compiled._result_columns)
    prepared = _Prepared(compiled, keys, positional=dialect.positional)
    with _LOCK:
        _CACHE[key] = (weakref.ref(statement), dialect.name, prepared)
        while len(_CACHE) > PREPARED_STATEMENTS:
            _CACHE.popitem(last=False)
    return prepared


def _processors(prepared: _Prepared, connection: sa.Connection, description: Sequence[Any]) -> list[Any]:
    columns = prepared.compiled._result_columns
    dialect = connection.dialect
    return [
        column[3]._cached_result_processor(dialect, described[1])
        for column, described in zip(columns, description, strict=True)
    ]


def fetch(
    connection: sa.Connection, statement: sa.Select[Any], values: Mapping[str, Any] | None = None
) -> tuple[tuple[str, ...], list[Row]]:
    """``(column names, rows)`` of ``statement`` run in ``connection``'s transaction, values
    converted by the result types exactly as :meth:`~sqlalchemy.engine.Connection.execute` would."""
    prepared = None if connection.dispatch.before_execute else _prepared(connection, statement)
    if prepared is None:
        result = connection.execute(statement, values)
        return tuple(result.keys()), [tuple(row) for row in result]
    sql = prepared.compiled.string
    parameters = prepared.parameters(values)
    for listener in connection.dispatch.before_cursor_execute:
        listener(connection, None, sql, parameters, None, False)
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(sql, parameters)
        rows = cast(list[Row], cursor.fetchall())
        if prepared.processors is None:
            prepared.processors = _processors(prepared, connection, cursor.description)
    except connection.dialect.loaded_dbapi.Error as error:
        closed = connection.dialect.is_disconnect(error, dbapi_connection, cursor)
        if closed:
            connection.invalidate(error)
        raise sa.exc.DBAPIError.instance(
            sql, parameters, error, connection.dialect.loaded_dbapi.Error, connection_invalidated=closed
        ) from error
    finally:
        cursor.close()
    converting = [(i, p) for i, p in enumerate(prepared.processors) if p is not None]
    if converting:
        converted = []
        for row in rows:
            values_ = list(row)
            for i, processor in converting:
                values_[i] = processor(values_[i])
            converted.append(tuple(values_))
        rows = converted
    return prepared.keys, rows
