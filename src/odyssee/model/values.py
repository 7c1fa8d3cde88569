"""Text forms of values shared by request bodies and ``$filter`` literals (reference.md §2.4)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta, timezone

from odyssee.model.conventions import truncate_ms

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?"
    r"(Z|z|[+-]\d{2}:?\d{2})?$"
)


def parse_guid(text: str) -> uuid.UUID:
    """A canonical 8-4-4-4-12 GUID in either case. Raises ValueError otherwise."""
    if not _GUID.match(text):
        raise ValueError(f"'{text}' is not a GUID (expected 8-4-4-4-12 hexadecimal digits)")
    return uuid.UUID(text)


def parse_datetime(text: str) -> datetime:
    """An ISO 8601 date or datetime. Without an offset the value is UTC (the Odyssee convention).

    Accepted: ``2015-07-14``, ``2015-07-14T13:08``, ``2015-07-14T13:08:00``,
    ``2015-07-14T13:08:00.123Z``, ``2025-10-15T06:52:45.9584778+00:00`` (.NET round-trip).
    Precision beyond milliseconds is dropped.
    """
    match = _DATETIME.match(text.strip())
    if not match:
        raise ValueError(f"'{text}' is not a datetime (expected e.g. 2015-07-14T13:08:00.000Z)")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0").ljust(6, "0")[:6])
    try:
        value = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            micro,
        )
    except ValueError as error:
        raise ValueError(f"'{text}' is not a valid datetime: {error}") from None
    if offset and offset.upper() != "Z":
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")

        value = value.replace(tzinfo=timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))))
    else:
        value = value.replace(tzinfo=UTC)
    return truncate_ms(value)


def format_datetime(value: datetime) -> str:
    """The wire form: UTC with exactly three fraction digits and ``Z``."""
    if value.tzinfo is not None and value.utcoffset():
        value = value.astimezone(UTC)
    # isoformat is C code; strftime-style formatting was the slowest step of encoding a row
    return value.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
