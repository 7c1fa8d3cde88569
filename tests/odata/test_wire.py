"""GUIDs and datetimes formatted by the read query (odata/wire.py) are exactly what the Python
formatting gives, on the engine under test, for the edge values a client can store; so is the
JSON text the database writes for a whole entity, for every kind of property and for NULLs."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from odyssee.db.engine import Database
from odyssee.model.registry import Field, Kind
from odyssee.model.types import Guid, Money, UtcDateTime
from odyssee.model.values import format_datetime
from odyssee.odata.wire import guid_text, instant_text, json_entity, json_writable
from tests.factories import AWKWARD

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


KINDS: dict[Kind, tuple[Any, sa.types.TypeEngine[Any], Any]] = {
    # kind: (stored value, column type, what the client receives)
    Kind.GUID: (GUIDS[2], Guid(), str(GUIDS[2])),
    Kind.STRING: (AWKWARD, sa.String(200), AWKWARD),
    Kind.BOOLEAN: (True, sa.Boolean(), True),
    Kind.INT32: (-2147483648, sa.Integer(), -2147483648),
    Kind.DECIMAL: (0.30000000000000004, Money(), None),  # stored as each engine keeps it: read back below
    Kind.DATETIME: (INSTANTS[2], UtcDateTime(), format_datetime(INSTANTS[2])),
    Kind.BINARY: (b"\x00\xff binary", sa.LargeBinary(), base64.b64encode(b"\x00\xff binary").decode()),
}


def test_entity_json_of_every_kind_and_of_nulls(database: Database) -> None:
    """What the database writes for a page (odata/wire.py json_entity) parses to what the Python
    serializer sends: every kind, a false boolean, and NULL (JSON null) for each."""
    metadata = sa.MetaData()
    table = sa.Table(
        "json_probe",
        metadata,
        sa.Column("n", sa.Integer, primary_key=True),
        sa.Column("row_version", sa.Integer, nullable=False),
        *(sa.Column(kind.name.lower(), type_, nullable=True) for kind, (_, type_, _) in KINDS.items()),
    )
    metadata.create_all(database.engine)
    fields = tuple(Field(kind.name.lower(), kind, table.c[kind.name.lower()]) for kind in KINDS)
    fields = tuple(f for f in fields if json_writable((f,), database.dialect))  # SQLite: no binaries
    values = {kind.name.lower(): stored for kind, (stored, _, _) in KINDS.items()}
    nulls = dict.fromkeys(values)
    with database.transaction(write=True) as session:
        session.execute(
            sa.insert(table),
            [
                {"n": 1, "row_version": 7, **values},
                {"n": 2, "row_version": 8, **nulls},
                {"n": 3, "row_version": 9, **values, "boolean": False},
            ],
        )
    page = sa.select(json_entity(fields)).select_from(table).order_by(table.c.n)
    with database.transaction(write=False) as session:
        texts = session.execute(page).scalars().all()
        decimal = session.execute(sa.select(table.c.decimal).where(table.c.n == 1)).scalar_one()
        if database.dialect == "postgresql":  # a legacy server setting must not change the text
            session.execute(sa.text("SET LOCAL standard_conforming_strings = off"))
            assert session.execute(page).scalars().all() == texts
    full, empty, false = (orjson.loads(text) for text in texts)
    expected = {f.name: KINDS[f.kind][2] for f in fields} | {"decimal": decimal}
    assert full == {"@odata.etag": 'W/"7"', **expected}
    assert list(full) == ["@odata.etag", *(f.name for f in fields)], "the serializer's order"
    assert empty == {"@odata.etag": 'W/"8"', **dict.fromkeys(f.name for f in fields)}
    assert false == {"@odata.etag": 'W/"9"', **expected, "boolean": False}
