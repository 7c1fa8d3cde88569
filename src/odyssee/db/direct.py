"""Running a statement that is executed over and over straight on the driver.

Every request runs the login query and, for a list, the page query: statement objects built once
and reused (domain/tenants.py ``_LOGIN``; odata/query.py ``_reused``). Through SQLAlchemy each
execution still pays its execution context, result metadata and per-row machinery: 17 µs for the
login where sqlite3 needs 3, 117 µs for a 20-row JSON page where it needs 79 (docs/performance.md).
Here a statement is compiled once per shape and dialect (SQLAlchemy's cache key: statements that
differ only in their literals share it), and executed on the transaction's own DBAPI connection,
so it sees and does exactly what the transaction does.

What SQLAlchemy would have done around the execution is kept: ``before_cursor_execute`` listeners
run (the SQLite statement deadline, db/engine.py), driver errors become SQLAlchemy's exceptions
(a timeout is still a :class:`sqlalchemy.exc.OperationalError`), a connection found closed is
invalidated, and result types convert values as they would. Whatever this cannot reproduce goes
through :meth:`sqlalchemy.engine.Connection.execute` as before: statements whose SQL depends on
the values (``IN`` lists: post-compile parameters), writes for which SQLAlchemy computes values
itself (Python-side column defaults, ``onupdate``) and connections with ``before_execute``
listeners (domain/deferred.py writes its queued rows before any statement).

A write comes here with ``RETURNING``: a single create's one statement (domain/changes.py
``insert_stamped``) spent more time in SQLAlchemy's execution than on the network.
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler

from odyssee.db.results import KEY as RESULTS
from odyssee.db.results import Results

PREPARED_STATEMENTS = 1024
"""Statements kept compiled; past that the least recently used is compiled again when it returns."""

Row = tuple[Any, ...]
Statement = sa.Select[Any] | sa.UpdateBase
"""A query, or a write with ``RETURNING`` (a write returns no rows otherwise)."""


@dataclass
class _Compiled:
    """One statement shape compiled for one dialect, shared by every statement object of that
    shape (as SQLAlchemy's compiled cache shares it): a poll whose ``$filter`` text is new builds
    a new statement object, whose literals differ but whose SQL does not."""

    compiled: SQLCompiler
    keys: tuple[str, ...]
    converter: Callable[[Row], Row] | None = field(default=None)
    """What converts a row as SQLAlchemy's result types would, None when nothing needs it."""
    described: bool = False
    """Whether :attr:`converter` is known: it is made from the first cursor description
    (psycopg's types decide some)."""
    volatile: bool = False
    """Whether a value is computed when the statement runs (``now()`` in a ``$filter``): its
    parameters are then never kept from one execution to the next."""
    writes: bool = False
    """Whether it is a write, whose rows are never kept (db/results.py)."""

    def parameters(self, values: Mapping[str, Any] | None, extracted: Sequence[Any] | None) -> Any:
        """The driver's parameters: ``values`` by name, the statement's own literals (``extracted``
        from its cache key) in place of those the shape was compiled with."""
        return driver_parameters(self.compiled, values, extracted)


def driver_parameters(
    compiled: SQLCompiler,
    values: Mapping[str, Any] | None,
    extracted: Sequence[Any] | None = None,
) -> Any:
    """What the DBAPI driver is given for ``compiled`` with ``values`` by name: SQLAlchemy's bind
    processing applied, in the dialect's parameter style (a tuple when it is positional, as the
    compiled form knows).

    Public so that the benchmark's floor (bench/floor.py) binds exactly as the API does."""
    bound = compiled.construct_params(values, extracted_parameters=extracted, _check=False)
    # What SQLAlchemy applies itself; one callable per name (sequences are for tuple binds,
    # which expand post-compile and never come here).
    processors = cast(Mapping[str, Callable[[Any], Any]], compiled._bind_processors)
    if processors:
        bound = {name: processors[name](v) if name in processors else v for name, v in bound.items()}
    if compiled.positional:
        return tuple(bound[name] for name in compiled.positiontup or ())
    return bound


_PLAIN = frozenset({str, int, bool, bytes, type(None), uuid.UUID})
"""Values whose type and equality say how they bind: not a datetime (equal instants in other
zones), a float (``0.0 == -0.0``) or anything mutable."""


@dataclass
class _Prepared:
    shape: _Compiled
    extracted: Sequence[Any] | None
    constant: Any = None
    """The driver's parameters when the statement takes no values of its own (a page: its
    literals are all in it), computed on first use."""

    last: tuple[tuple[Any, ...], Any] | None = None
    """The last values given, with their types, and their driver parameters, when all are
    :data:`_PLAIN`: a login's are the same on every request of one caller (domain/tenants.py),
    and computing them cost a thirtieth of a request whose results were kept (db/results.py)."""

    def parameters(self, values: Mapping[str, Any] | None) -> Any:
        if self.shape.volatile:
            return self.shape.parameters(values, self.extracted)
        if values:
            if not all(type(value) in _PLAIN for value in values.values()):
                return self.shape.parameters(values, self.extracted)
            given = tuple((name, type(value), value) for name, value in values.items())
            last = self.last  # one read: other threads may replace it meanwhile
            if last is not None and last[0] == given:
                return last[1]
            parameters = self.shape.parameters(values, self.extracted)
            self.last = (given, parameters)
            return parameters
        if self.constant is None:
            self.constant = self.shape.parameters(None, self.extracted)
        return self.constant


_BY_OBJECT: OrderedDict[int, tuple[weakref.ref[Any], str, _Prepared]] = OrderedDict()
_BY_SHAPE: OrderedDict[tuple[str, Any], _Compiled | None] = OrderedDict()
_LOCK = threading.Lock()


def _bounded(cache: OrderedDict[Any, Any]) -> None:
    while len(cache) > PREPARED_STATEMENTS:
        cache.popitem(last=False)


def _compiled(connection: sa.Connection, statement: Statement, cache_key: Any) -> _Compiled | None:
    # As SQLAlchemy compiles for its cache: the compiled form remembers the key its values came from.
    compiled = statement._compiler(connection.dialect, cache_key=cache_key)
    assert isinstance(compiled, SQLCompiler)
    if compiled.literal_execute_params or compiled.post_compile_params:
        return None
    writes = bool(compiled.isdelete or compiled.isinsert or compiled.isupdate)
    # A write whose columns' values SQLAlchemy would compute before executing (Python-side
    # defaults, onupdate), or one without RETURNING, which has no rows to give back here.
    if writes and (compiled.insert_prefetch or compiled.update_prefetch or not compiled.returning):
        return None
    keys = tuple(column[0] for column in compiled._result_columns)
    volatile = any(bind.callable is not None for bind in compiled.binds.values())
    return _Compiled(compiled, keys, volatile=volatile, writes=writes)


def _prepared(connection: sa.Connection, statement: Statement) -> _Prepared | None:
    """``statement`` ready for this connection's dialect; None when it cannot run here."""
    dialect = connection.dialect.name
    key = id(statement)
    with _LOCK:
        found = _BY_OBJECT.get(key)
        if found is not None and found[0]() is statement and found[1] == dialect:
            _BY_OBJECT.move_to_end(key)
            return found[2]
    cache_key = statement._generate_cache_key()
    if cache_key is None:  # not cacheable: compiled for this object alone
        shape = _compiled(connection, statement, None)
        extracted = None
    else:
        shape_key = (dialect, cache_key.key)
        with _LOCK:
            known = shape_key in _BY_SHAPE
            if known:
                _BY_SHAPE.move_to_end(shape_key)
                shape = _BY_SHAPE[shape_key]
        if not known:
            shape = _compiled(connection, statement, cache_key)
            with _LOCK:
                _BY_SHAPE[shape_key] = shape
                _bounded(_BY_SHAPE)
        extracted = cache_key.bindparams
    if shape is None:
        return None
    prepared = _Prepared(shape, extracted)
    with _LOCK:
        _BY_OBJECT[key] = (weakref.ref(statement), dialect, prepared)
        _bounded(_BY_OBJECT)
    return prepared


def _processors(shape: _Compiled, connection: sa.Connection, description: Sequence[Any]) -> list[Any]:
    columns = shape.compiled._result_columns
    dialect = connection.dialect
    return [
        column[3]._cached_result_processor(dialect, described[1])
        for column, described in zip(columns, description, strict=True)
    ]


def fetch(
    connection: sa.Connection, statement: Statement, values: Mapping[str, Any] | None = None
) -> tuple[tuple[str, ...], list[Row]]:
    """``(column names, rows)`` of ``statement`` run in ``connection``'s transaction, values
    converted by the result types exactly as :meth:`~sqlalchemy.engine.Connection.execute` would.
    A write's rows are those of its ``RETURNING``."""
    keys, rows, convert = fetch_unconverted(connection, statement, values)
    return keys, rows if convert is None else [convert(row) for row in rows]


def fetch_unconverted(
    connection: sa.Connection, statement: Statement, values: Mapping[str, Any] | None = None
) -> tuple[tuple[str, ...], list[Row], Callable[[Row], Row] | None]:
    """:func:`fetch`, with the rows as the driver returns them and the function that converts one
    as :func:`fetch` would (None when no column needs it): for a page of which one row only is
    needed typed, the last one, whose order keys make the next link (domain/reads.py)."""
    prepared = None if connection.dispatch.before_execute else _prepared(connection, statement)
    if prepared is None:
        result = connection.execute(statement, values)
        return tuple(result.keys()), [tuple(row) for row in result], None
    shape = prepared.shape
    sql = shape.compiled.string
    parameters = prepared.parameters(values)
    for listener in connection.dispatch.before_cursor_execute:
        listener(connection, None, sql, parameters, None, False)
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    kept = _kept_results(connection, shape, parameters)
    cursor = dbapi_connection.cursor()
    try:
        if kept is not None:
            version = cursor.execute("PRAGMA data_version").fetchone()[0]
            rows = kept.get(version, (sql, parameters)) if shape.described else None
            if rows is not None:
                return shape.keys, rows, shape.converter
        cursor.execute(sql, parameters)
        rows = cast(list[Row], cursor.fetchall())
        if not shape.described:
            shape.converter = _converter(_processors(shape, connection, cursor.description))
            shape.described = True
        if kept is not None:
            kept.put(version, (sql, parameters), rows)
    except connection.dialect.loaded_dbapi.Error as error:
        closed = connection.dialect.is_disconnect(error, dbapi_connection, cursor)
        if closed:
            connection.invalidate(error)
        raise sa.exc.DBAPIError.instance(
            sql, parameters, error, connection.dialect.loaded_dbapi.Error, connection_invalidated=closed
        ) from error
    finally:
        cursor.close()
    return shape.keys, rows, shape.converter


def _kept_results(connection: sa.Connection, shape: _Compiled, parameters: Any) -> Results | None:
    """The connection's kept results (db/results.py) if this statement may use them."""
    if shape.volatile or shape.writes or not isinstance(parameters, tuple):
        return None
    return connection.info.get(RESULTS)


def _converter(processors: Sequence[Callable[[Any], Any] | None]) -> Callable[[Row], Row] | None:
    """A row converted by its columns' result processors; None when none of them has one."""
    converting = [(i, p) for i, p in enumerate(processors) if p is not None]
    if not converting:
        return None

    def convert(row: Row) -> Row:
        values = list(row)
        for i, processor in converting:
            values[i] = processor(values[i])
        return tuple(values)

    return convert
