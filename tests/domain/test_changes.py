"""Change stamps reserved per transaction (domain/changes.py): unique and increasing, never reused."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from odyssee.db.engine import Database
from odyssee.domain import changes
from odyssee.domain.tenants import create_tenant
from odyssee.model.registry import registry
from odyssee.model.system import ChangeClock, ChangeEvent
from tests.conftest import counted


def _tenant(database: Database) -> int:
    with database.transaction(write=True) as session:
        return create_tenant(session, "ACME").id


def _clock(database: Database, tenant_id: int) -> int:
    with database.transaction(write=False) as session:
        return int(
            session.execute(
                sa.select(ChangeClock.last_ms).where(
                    ChangeClock.tenant_id == tenant_id, ChangeClock.table_name == "job_type"
                )
            ).scalar_one()
        )


def _stamp_ms(session: Session, tenant_id: int) -> int:
    return changes.to_ms(changes.stamp(session, tenant_id, "job_type", uuid.uuid4(), changes.CREATED))


def test_an_announced_group_takes_its_stamps_from_one_reservation(database: Database) -> None:
    tenant_id = _tenant(database)
    with database.transaction(write=True) as session:
        changes.expect(session, "job_type", 10)
        taken = [_stamp_ms(session, tenant_id) for _ in range(3)]
    assert taken == list(range(taken[0], taken[0] + 3)), "consecutive"
    reserved_up_to = _clock(database, tenant_id)
    assert reserved_up_to == taken[0] + 9, "the clock row holds the whole reservation"
    with database.transaction(write=True) as session:
        assert _stamp_ms(session, tenant_id) > reserved_up_to, "a later transaction never gets a reserved stamp"


def test_a_session_does_not_carry_reserved_stamps_into_its_next_transaction(database: Database) -> None:
    tenant_id = _tenant(database)
    with Session(database.engine) as session:
        with session.begin():
            changes.expect(session, "job_type", 10)
            first = _stamp_ms(session, tenant_id)
        with database.transaction(write=True) as other:
            between = _stamp_ms(other, tenant_id)
        with session.begin():
            again = _stamp_ms(session, tenant_id)
    assert first < between < again, "stamps increase in commit order"


def test_a_single_stamp_is_the_clock_value_and_its_event_records_it(database: Database) -> None:
    """A single write takes its stamp and writes its change event in one statement on PostgreSQL
    (two on SQLite): the stamp is exactly the clock's new value, the event carries it, and the
    next writes get larger ones."""
    tenant_id = _tenant(database)
    entity = uuid.uuid4()
    with database.transaction(write=True) as session:
        moment = changes.stamp(session, tenant_id, "job_type", entity, changes.UPDATED)
    assert moment.utcoffset() == timedelta(0)
    assert changes.to_ms(moment) == _clock(database, tenant_id)
    with database.transaction(write=False) as session:
        events = session.execute(
            sa.select(ChangeEvent.stamp, ChangeEvent.event, ChangeEvent.entity_id).where(
                ChangeEvent.tenant_id == tenant_id, ChangeEvent.table_name == "job_type"
            )
        ).all()
    assert [tuple(row) for row in events] == [(moment, changes.UPDATED, entity)]
    later = []
    for _ in range(3):
        with database.transaction(write=True) as session:
            later.append(_stamp_ms(session, tenant_id))
    assert changes.to_ms(moment) < later[0] < later[1] < later[2]


def test_a_single_create_is_stamped_with_its_event_and_the_column_defaults(database: Database, make: Any) -> None:
    """A created row carries the stamp of its change event and every default it was not given; on
    PostgreSQL the clock, the event and the row are written by one statement (a round trip fewer)."""
    job = make("Jobs")  # everything else the job needs exists before the statements are counted
    with counted() as statements:
        job = make("Jobs", project_id=job["project_id"], company_id=job["company_id"])
    written = [statement for statement in statements if "INSERT INTO jobs " in statement]
    with database.transaction(write=False) as session:
        table = registry().lookup("Jobs").table  # type: ignore[union-attr]
        row = session.execute(sa.select(table).where(table.c.id == uuid.UUID(job["id"]))).mappings().one()
        stamp = session.execute(
            sa.select(ChangeEvent.stamp).where(ChangeEvent.entity_id == row["id"], ChangeEvent.event == changes.CREATED)
        ).scalar_one()
    assert row["modified_dateutc"] == stamp
    assert job["modified_dateutc"].startswith(stamp.strftime("%Y-%m-%dT%H:%M:%S"))
    assert row["sys_logical_delete"] is False, "a default of a column the client cannot write"
    assert row["row_version"] == 1
    assert len(written) == 1
    if database.dialect == "postgresql":
        assert "INSERT INTO change_clock " in written[0] and "INSERT INTO change_event " in written[0]


def test_a_table_with_a_computed_default_is_stamped_apart_and_keeps_its_default(database: Database) -> None:
    """A Python-side default that is not a constant cannot be bound into the one-statement create
    (SQLAlchemy applies no default with DML CTEs): such a table takes its stamp and writes its row
    in two statements, with the default applied and the row stamped as any other."""
    metadata = sa.MetaData()
    table = sa.Table(
        "computed_default_probe",
        metadata,
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("tenant_id", sa.Integer, nullable=False),
        sa.Column("label", sa.Text, nullable=False, default=lambda: "computed"),
        sa.Column("modified_dateutc", ChangeEvent.__table__.c.stamp.type, nullable=False),  # type: ignore[attr-defined]
    )
    metadata.create_all(database.engine)
    try:
        assert changes._column_defaults(table) is None
        tenant_id = _tenant(database)
        entity_id = uuid.uuid4()
        with database.transaction(write=True) as session:
            row: dict[str, Any] = {"id": entity_id, "tenant_id": tenant_id}
            changes.insert_stamped(
                session, tenant_id, sa.insert(table), row, changes.CREATED, lambda error: AssertionError(error)
            )
        with database.transaction(write=False) as session:
            written = session.execute(sa.select(table).where(table.c.id == entity_id)).mappings().one()
            created = sa.and_(ChangeEvent.entity_id == entity_id, ChangeEvent.event == changes.CREATED)
            event = session.execute(sa.select(ChangeEvent.stamp).where(created)).scalar_one()
        assert written["label"] == "computed"
        assert written["modified_dateutc"] == event == row["modified_dateutc"]
    finally:
        metadata.drop_all(database.engine)
