"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

from odyssee.model.conventions import truncate_ms

GUID_TEXT_LENGTH = 36
"""``8-4-4-4-12``: how SQLite stores a GUID, and how the API writes one."""


class Guid(sa.TypeDecorator[uuid.UUID]):
    """A GUID: ``uuid`` on PostgreSQL; on SQLite the canonical lower-case text ``8-4-4-4-12``.

    SQLAlchemy's own ``Uuid`` stores 32 bare hex digits on SQLite, so every GUID a page returned
    had to be re-dashed in Python (a tenth of a 20-row poll) and SQLite could not write an
    entity's JSON itself. Stored as the client reads it, a GUID column needs no conversion on the
    way out (odata/wire.py), and text order is still GUID order. Migration 0009 rewrote older
    files. Values bind from a ``uuid.UUID`` or any text ``uuid.UUID`` accepts.
    """

    impl = sa.Uuid
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.CHAR(GUID_TEXT_LENGTH))
        return dialect.type_descriptor(sa.Uuid())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> uuid.UUID | None:
        if value is None or isinstance(value, uuid.UUID):
            return value
        return uuid.UUID(value)


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

    def process_bind_param(self, value: Any, dialect: Dialect) -> float | Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return float(value)
        # As its shortest decimal text: PostgreSQL turns a float8 into numeric with 15 significant
        # digits only (123456789.12345679 would be stored as 123456789.123457).
        return Decimal(repr(float(value)))
