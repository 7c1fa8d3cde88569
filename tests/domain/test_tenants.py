"""Tenants, logins and the demo data set."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from odyssee.db.engine import Database
from odyssee.domain.demo import ensure_demo
from odyssee.domain.tenants import authenticate, create_credential, create_tenant
from odyssee.model.entities.jobs import SYSTEM_JOB_STATUSES
from odyssee.model.errors import Conflict, InvalidInput, NotFound, Unauthorized
from odyssee.model.registry import registry


def test_new_tenant_has_the_seventeen_system_statuses(database: Database) -> None:
    with database.transaction(write=True) as session:
        tenant = create_tenant(session, "ACME")
        table = registry().by_table("job_status").table
        rows = session.execute(sa.select(table.c.id, table.c.name).where(table.c.tenant_id == tenant.id)).all()
    assert {(row.id, row.name) for row in rows} == {(s.id, s.name) for s in SYSTEM_JOB_STATUSES}
    assert len(SYSTEM_JOB_STATUSES) == 17


@pytest.mark.parametrize("domain", ["", "has space", "-dash", "x" * 101, "semi;colon"])
def test_invalid_domains_are_refused(database: Database, domain: str) -> None:
    with pytest.raises(InvalidInput), database.transaction(write=True) as session:
        create_tenant(session, domain)


def test_duplicate_domains_and_users_conflict(database: Database) -> None:
    with database.transaction(write=True) as session:
        create_tenant(session, "ACME")
        create_credential(session, "ACME", "api", "pw-123", api=True)
    with pytest.raises(Conflict), database.transaction(write=True) as session:
        create_tenant(session, "acme")
    with pytest.raises(Conflict), database.transaction(write=True) as session:
        create_credential(session, "ACME", "API", "pw-456", api=True)
    with pytest.raises(NotFound), database.transaction(write=True) as session:
        create_credential(session, "NOPE", "api", "pw-123", api=True)


def test_passwords_are_hashed_and_checked(database: Database) -> None:
    with database.transaction(write=True) as session:
        create_tenant(session, "ACME")
        credential = create_credential(session, "ACME", "api", "pw-123", api=True)
        assert "pw-123" not in credential.password_hash and credential.password_hash.startswith("$argon2")
    with database.transaction(write=False) as session:
        assert authenticate(session, "API", "pw-123", "acme").is_api
        with pytest.raises(Unauthorized):
            authenticate(session, "api", "pw-124", "ACME")


def test_demo_is_idempotent(database: Database) -> None:
    with database.transaction(write=True) as session:
        assert ensure_demo(session) is True
    with database.transaction(write=True) as session:
        assert ensure_demo(session) is False
        jobs = registry().by_table("jobs").table
        statuses = session.execute(sa.select(sa.func.count(sa.distinct(jobs.c.job_status_id)))).scalar_one()
        assert statuses >= 4, "jobs in several statuses"
