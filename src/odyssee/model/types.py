"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from odyssee.model.conventions import truncate_ms


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A UTC instant at millisecond precision.

    PostgreSQL stores ``timestamptz``. SQLite has no datetime type: values are stored as naive
    UTC text in one fixed format, so that text comparison in SQL is chronological comparison.
    Naive input is taken as UTC (documented in docs/conventions.md).
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        utc: datetime = truncate_ms(value)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if not isinstance(value, datetime):
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(sa.TypeDecorator[float]):
    """A decimal quantity or price, exchanged as a JSON number.

    ``numeric(28, 10)`` on PostgreSQL; SQLite has no exact decimal, so it stores a REAL. Values
    come back as ``float`` on both engines, which is what a JSON client receives anyway.
    """

    impl = sa.Numeric(28, 10, asdecimal=False)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Float(asdecimal=False))
        return dialect.type_descriptor(sa.Numeric(28, 10, asdecimal=False))

    def process_bind_param(self, value: Any, dialect: Dialect) -> float | None:
        return None if value is None else float(value)
