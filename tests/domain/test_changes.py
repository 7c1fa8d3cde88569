"""Change stamps reserved per transaction (domain/changes.py): unique and increasing, never reused."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlalchemy.orm import Session

from odyssee.db.engine import Database
from odyssee.domain import changes
from odyssee.domain.tenants import create_tenant
from odyssee.model.system import ChangeClock


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
