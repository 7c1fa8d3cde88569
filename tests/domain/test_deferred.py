"""Deferred inserts (domain/deferred.py): written before anything reads, failures charged to their owner."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa

from odyssee.db.engine import Database
from odyssee.domain import deferred
from odyssee.domain.tenants import create_tenant
from odyssee.model.conventions import utcnow
from odyssee.model.errors import Conflict
from odyssee.model.registry import registry

SPEC = registry().by_table("job_type")


def _row(tenant_id: int, key: uuid.UUID, name: str) -> dict[str, Any]:
    defaults = {f.name: f.default for f in SPEC.writable}
    return defaults | {"name": name, "tenant_id": tenant_id, "id": key, "row_version": 1, "modified_dateutc": utcnow()}


def _names(database: Database, tenant_id: int) -> list[str]:
    with database.transaction(write=False) as session:
        table = SPEC.table
        return sorted(session.execute(sa.select(table.c.name).where(table.c.tenant_id == tenant_id)).scalars())


def test_queued_rows_are_written_before_any_read_and_at_the_end(database: Database) -> None:
    with database.transaction(write=True) as session:
        tenant_id = create_tenant(session, "ACME").id
    count = sa.select(sa.func.count()).select_from(SPEC.table).where(SPEC.table.c.tenant_id == tenant_id)
    with database.transaction(write=True) as session, deferred.deferring(session) as queue:
        for name in ("a", "b"):
            deferred.insert(session, sa.insert(SPEC.table), _row(tenant_id, uuid.uuid4(), name), deferred.conflict("x"))
        assert queue, "queued, not yet written"
        assert session.execute(count).scalar_one() == 2, "a read sees the queued rows"
        assert not queue
        deferred.insert(session, sa.insert(SPEC.table), _row(tenant_id, uuid.uuid4(), "c"), deferred.conflict("x"))
    assert _names(database, tenant_id) == ["a", "b", "c"], "the rest is written when the block ends"


def test_a_failing_queued_row_is_charged_to_its_owner_and_nothing_remains(database: Database) -> None:
    with database.transaction(write=True) as session:
        tenant_id = create_tenant(session, "ACME").id
    taken = uuid.uuid4()
    with (
        pytest.raises(Conflict, match="JobType conflicts"),
        database.transaction(write=True) as session,
        deferred.deferring(session) as queue,
    ):
        for owner, key in (("1", uuid.uuid4()), ("2", taken), ("3", taken), ("4", uuid.uuid4())):
            queue.owner = owner
            deferred.insert(session, sa.insert(SPEC.table), _row(tenant_id, key, owner), deferred.conflict("JobType"))
    assert queue.failed_owner == "3", "the second row with that id is the culprit"
    assert _names(database, tenant_id) == []
