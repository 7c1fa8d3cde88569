"""GUIDs and datetimes formatted by the read query (odata/wire.py) are exactly what the Python
formatting gives, on the engine under test, for the edge values a client can store."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from odyssee.db.engine import Database
from odyssee.model.types import Guid, UtcDateTime
from odyssee.model.values import format_datetime
from odyssee.odata.wire import guid_text, instant_text

INSTANTS = [
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(1900, 1, 1, tzinfo=UTC),
    datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=UTC),
    datetime(2026, 11, 23, 8, 0, 0, 1000, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
]
GUIDS = [uuid.UUID(int=0), uuid.UUID(int=2**128 - 1), uuid.UUID("0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"), uuid.uuid4()]


@pytest.fixture
def probe(database: Database) -> sa.Table:
    table = sa.Table(
        "wire_probe",
        sa.MetaData(),
        sa.Column("n", sa.Integer, primary_key=True),
        sa.Column("g", Guid, nullable=True),
        sa.Column("t", UtcDateTime, nullable=True),
    )
    table.create(database.engine)
    rows = [{"n": i, "g": GUIDS[i % len(GUIDS)], "t": INSTANTS[i % len(INSTANTS)]} for i in range(len(INSTANTS))]
    with database.transaction(write=True) as session:
        session.execute(sa.insert(table), [*rows, {"n": 99, "g": None, "t": None}])
    return table


def test_wire_text_matches_the_python_formatting(database: Database, probe: sa.Table) -> None:
    with database.transaction(write=False) as session:
        found = session.execute(
            sa.select(probe.c.n, guid_text(probe.c.g), instant_text(probe.c.t), probe.c.g, probe.c.t).order_by(
                probe.c.n
            )
        ).all()
    assert len(found) == len(INSTANTS) + 1
    for _n, guid, instant, raw_guid, raw_instant in found:
        if raw_guid is None:
            assert (guid, instant) == (None, None)
            continue
        assert guid == str(raw_guid)
        assert instant == format_datetime(raw_instant)
        assert len(instant) == 24 and instant.endswith("Z")


def test_wire_text_is_formatted_after_the_sort_and_limit(database: Database, probe: sa.Table) -> None:
    """Wrapped as odata/query.py does it, the outer query keeps the inner order."""
    inner = sa.select(probe.c.n, probe.c.t).where(probe.c.t.is_not(None)).order_by(probe.c.t.desc()).limit(3)
    page = inner.subquery()
    with database.transaction(write=False) as session:
        got = session.execute(sa.select(instant_text(page.c.t)).order_by(page.c.t.desc())).scalars().all()
    assert got == [format_datetime(moment) for moment in sorted(INSTANTS, reverse=True)[:3]]
