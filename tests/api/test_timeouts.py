"""Statement timeouts: a query that runs or waits too long is cancelled and answers 503
``QueryTimeout`` (never a 500 or a hung worker), on SQLite and PostgreSQL alike.

Slowness is made deterministic, not hoped for: a recursive query that never ends, and a lock the
test holds while the API's request waits for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from odyssee.api.app import create_app
from odyssee.db.engine import Database
from odyssee.model.errors import QueryTimeout
from odyssee.settings import Settings
from tests.conftest import Tenant, make_tenant

ENDLESS = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
"""Counts forever on both engines: only the timeout can end it."""
TIMEOUT_MS = 300


@pytest.fixture
def client(database: Database) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=database.url, statement_timeout_ms=TIMEOUT_MS), database)
    with TestClient(app, base_url="http://testserver") as client:
        yield client


@pytest.fixture
def tenant(database: Database, client: TestClient) -> Tenant:
    return make_tenant(database, client)


def lock_companies(database: Database, session: Session) -> None:
    """Hold what a write on ``company`` needs: the table (PostgreSQL) or the database's write lock (SQLite)."""
    if database.dialect == "postgresql":
        session.execute(sa.text("LOCK TABLE company IN ACCESS EXCLUSIVE MODE"))
    else:
        session.execute(sa.text("SELECT 1"))  # the write transaction's BEGIN IMMEDIATE took the lock


def companies(database: Database) -> int:
    with database.transaction(write=False) as session:
        return int(session.execute(sa.text("SELECT count(*) FROM company")).scalar_one())


def test_an_endless_query_is_cancelled_and_the_connection_stays_usable(database: Database) -> None:
    with pytest.raises(QueryTimeout) as caught, database.transaction(write=False, timeout_ms=TIMEOUT_MS) as session:
        session.execute(sa.text(ENDLESS)).scalar()
    assert caught.value.code == "QueryTimeout"
    assert "longer than 0.3 s" in caught.value.message
    for write in (False, True):
        with database.transaction(write=write, timeout_ms=TIMEOUT_MS) as session:
            assert session.execute(sa.text("SELECT count(*) FROM company")).scalar_one() == 0
        with database.transaction(write=write) as session:
            assert session.execute(sa.text("SELECT 1")).scalar_one() == 1


def test_a_write_cancelled_by_the_timeout_is_rolled_back(database: Database) -> None:
    with pytest.raises(QueryTimeout), database.transaction(write=True, timeout_ms=TIMEOUT_MS) as session:
        session.execute(sa.text("INSERT INTO tenant (domain, domain_key, created_at) VALUES ('X', 'X', '2026-01-01')"))
        session.execute(sa.text(ENDLESS)).scalar()
    with database.transaction(write=False) as session:
        assert session.execute(sa.text("SELECT count(*) FROM tenant WHERE domain_key = 'X'")).scalar_one() == 0


def test_a_request_waiting_too_long_is_503_and_changes_nothing(database: Database, tenant: Tenant) -> None:
    with database.transaction(write=True) as holder:
        lock_companies(database, holder)
        response = tenant.post("/api/Company", {"name": "Blocked"})
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "QueryTimeout"
    assert "longer than 0.3 s" in error["message"] and "$filter" in error["message"]
    assert "Retry-After" not in response.headers, "trying the same query again soon is no cure"
    assert companies(database) == 0
    assert tenant.post("/api/Company", {"name": "Free"}).status_code == 201, "the worker and the pool recovered"


def test_a_batch_operation_that_times_out_is_503_in_its_part(database: Database, tenant: Tenant) -> None:
    body: dict[str, Any] = {
        "requests": [
            {"id": "1", "method": "GET", "url": "JobType"},
            {"id": "2", "method": "POST", "url": "Company", "body": {"name": "Blocked"}},
        ]
    }
    with database.transaction(write=True) as holder:
        lock_companies(database, holder)
        response = tenant.post("/api/$batch", body)
    assert response.status_code == 200
    parts = response.json()["responses"]
    assert [part["status"] for part in parts] == [200, 503]
    assert parts[1]["body"]["error"]["code"] == "QueryTimeout"
    assert companies(database) == 0


def test_a_read_blocked_on_postgresql_is_503(database: Database, tenant: Tenant) -> None:
    """On PostgreSQL a table lock blocks readers too; SQLite's readers never wait (WAL), so there
    the read simply succeeds, which is the behaviour users get."""
    with database.transaction(write=True) as holder:
        lock_companies(database, holder)
        response = tenant.get("/api/Company")
    if database.dialect == "postgresql":
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "QueryTimeout"
    else:
        assert response.status_code == 200, response.text


def test_the_timeout_is_per_transaction(database: Database) -> None:
    """The setting never leaks from one transaction to the next on a pooled connection."""
    if database.dialect == "postgresql":
        show = "SHOW statement_timeout"
        expected = {TIMEOUT_MS: f"{TIMEOUT_MS}ms", 0: "0"}
    else:
        show = "PRAGMA busy_timeout"
        expected = {TIMEOUT_MS: TIMEOUT_MS, 0: 30000}
    for timeout in (TIMEOUT_MS, 0, TIMEOUT_MS, 0):
        with database.transaction(write=True, timeout_ms=timeout) as session:
            assert session.execute(sa.text(show)).scalar_one() == expected[timeout]
