"""SQL building blocks for ``$filter`` functions that must give the same answer on SQLite and PostgreSQL.

A ``$filter`` clause is built once, before anyone knows which engine will run it, so a function
whose SQL differs per engine is a :class:`Switch`: it carries one SQLAlchemy expression per
engine and the compiler picks the right one. Each builder below states the semantics both
branches implement, so the two can be checked against each other (and against the Python model
in ``tests/odata/test_filter_property.py``).

Storage facts the branches rely on: SQLite keeps datetimes as naive UTC text
``YYYY-MM-DD HH:MM:SS.ffffff`` and decimals as REAL; PostgreSQL keeps ``timestamptz`` and
``numeric(28, 10)``. SQLite's ``lower``/``upper`` only know ASCII, so the engine registers
Unicode-aware ``odyssee_lower``/``odyssee_upper`` (see :mod:`odyssee.db.engine`).
"""

from __future__ import annotations

from datetime import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement

from odyssee.model.types import Money


class Switch(ColumnElement[Any]):
    """One expression per engine; compiled as the SQLite one on SQLite, the PostgreSQL one elsewhere."""

    inherit_cache = False
    """The branches are plain expressions; a statement holding a Switch is compiled afresh each time."""

    def __init__(self, sqlite: Any, postgresql: Any, type_: Any) -> None:
        self.sqlite = sqlite
        self.postgresql = postgresql
        self.type = sa.types.to_instance(type_)

    def branch(self, dialect: Dialect) -> Any:
        return self.sqlite if dialect.name == "sqlite" else self.postgresql


@compiles(Switch)
def _compile_switch(element: Switch, compiler: SQLCompiler, **kw: Any) -> str:
    """Parenthesised: SQLAlchemy cannot see the branch's precedence, so ``-switch`` must not become
    ``-a + b``."""
    return f"({compiler.process(element.branch(compiler.dialect), **kw)})"


class TimeOfDay(sa.TypeDecorator[time]):
    """An ``Edm.TimeOfDay`` literal: ``HH:MM:SS.fff`` text on SQLite (what ``strftime('%H:%M:%f')``
    gives), a ``time`` on PostgreSQL."""

    impl = sa.String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        return dialect.type_descriptor(sa.String() if dialect.name == "sqlite" else sa.Time())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return f"{value:%H:%M:%S}.{value.microsecond // 1000:03d}"


def _utc(value: Any) -> Any:
    """A PostgreSQL ``timestamptz`` as UTC wall-clock time, whatever the session time zone."""
    return sa.func.timezone("UTC", value)


_STRFTIME = {"year": "%Y", "month": "%m", "day": "%d", "hour": "%H", "minute": "%M", "second": "%S"}


def date_part(part: str, value: Any) -> Switch:
    """``year(x)`` … ``second(x)`` of a UTC datetime, as an integer (seconds without the fraction)."""
    pg: Any = sa.extract(part, _utc(value))
    if part == "second":
        pg = sa.func.floor(pg)
    return Switch(
        sqlite=sa.cast(sa.func.strftime(_STRFTIME[part], value), sa.Integer),
        postgresql=sa.cast(pg, sa.Integer),
        type_=sa.Integer,
    )


def fractional_seconds(value: Any) -> Switch:
    """The millisecond part as a fraction of a second, computed as ``ms / 1000.0`` on both engines
    so that ``fractionalseconds(x) eq 0.678`` compares the same double."""
    sqlite_ms = sa.cast(sa.func.substr(sa.func.strftime("%f", value), 4), sa.Integer)
    pg_ms = sa.cast(sa.extract("milliseconds", _utc(value)), sa.Integer).op("%")(1000)
    return Switch(
        sqlite=sa.cast(sqlite_ms, sa.Float) / 1000.0,
        postgresql=sa.cast(pg_ms, sa.Float) / 1000.0,
        type_=Money,
    )


def date_of(value: Any) -> Switch:
    """``date(x)``: the UTC calendar date (``YYYY-MM-DD`` text on SQLite, a ``date`` on PostgreSQL)."""
    return Switch(sqlite=sa.func.date(value), postgresql=sa.cast(_utc(value), sa.Date), type_=sa.Date)


def time_of(value: Any) -> Switch:
    """``time(x)``: the UTC time of day at millisecond precision."""
    return Switch(
        sqlite=sa.func.strftime("%H:%M:%f", value),
        postgresql=sa.cast(_utc(value), sa.Time),
        type_=TimeOfDay,
    )


def lower(value: Any) -> Switch:
    return Switch(sqlite=sa.func.odyssee_lower(value), postgresql=sa.func.lower(value), type_=sa.String)


def upper(value: Any) -> Switch:
    return Switch(sqlite=sa.func.odyssee_upper(value), postgresql=sa.func.upper(value), type_=sa.String)


def position(haystack: Any, needle: Any) -> Switch:
    """1-based position of ``needle`` in ``haystack``, 0 when absent (``instr`` / ``strpos``)."""
    return Switch(
        sqlite=sa.func.instr(haystack, needle),
        postgresql=sa.func.strpos(haystack, needle),
        type_=sa.Integer,
    )


def binary_order(value: Any) -> Switch:
    """A string compared by code point: SQLite's BINARY collation, PostgreSQL's ``"C"`` collation
    (the database's own locale may sort 'a' before 'B' and ignore accents)."""
    return Switch(sqlite=value, postgresql=sa.collate(value, "C"), type_=sa.String)


def decimal_mod(left: Any, right: Any) -> Switch:
    """``left mod right`` for decimals, with the sign of ``left`` (like C's ``fmod``).

    SQLite's ``%`` truncates REALs to integers first, so it is spelled out there.
    """
    return Switch(
        sqlite=left - right * sa.cast(left / right, sa.Integer),
        postgresql=sa.cast(left, sa.Numeric).op("%")(sa.cast(right, sa.Numeric)),
        type_=Money,
    )


def floor(value: Any) -> Switch:
    """The largest integer not greater than ``value``; SQLite may lack its math functions."""
    whole = sa.cast(value, sa.Integer)
    return Switch(sqlite=whole - sa.cast(value < whole, sa.Integer), postgresql=sa.func.floor(value), type_=Money)


def ceiling(value: Any) -> Switch:
    whole = sa.cast(value, sa.Integer)
    return Switch(sqlite=whole + sa.cast(value > whole, sa.Integer), postgresql=sa.func.ceiling(value), type_=Money)


def round_half_away(value: Any) -> Switch:
    """Midpoints away from zero, as OData says: SQLite's ``round`` does this; PostgreSQL does it for
    ``numeric`` only (``round(double)`` rounds half to even), hence the cast."""
    return Switch(
        sqlite=sa.func.round(value),
        postgresql=sa.func.round(sa.cast(value, sa.Numeric)),
        type_=Money,
    )


def as_decimal(value: Any) -> Any:
    """A number as the engine's decimal type, so that ``/`` divides exactly rather than as integers."""
    return sa.cast(value, Money)
