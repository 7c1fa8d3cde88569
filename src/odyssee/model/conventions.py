"""The Odyssee data conventions (reference.md §3): GUID keys, no NULLs, UTC at millisecond precision.

Every layer uses these constants so that "empty" means the same thing in SQL, in JSON and in
``$filter``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

EMPTY_GUID = uuid.UUID(int=0)
"""An unset foreign key. The spec forbids NULLs, so "no reference" is the all-zero GUID."""

NULL_DATE = datetime(1980, 1, 1, tzinfo=UTC)
"""An unset datetime (the spec's documented default; the service desk treats year 1980 as empty)."""


def truncate_ms(value: datetime) -> datetime:
    """Normalise to UTC and drop sub-millisecond digits: the precision pollers compare at."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def utcnow() -> datetime:
    """The server's clock, at the precision stored in ``modified_dateutc``."""
    return truncate_ms(datetime.now(UTC))
