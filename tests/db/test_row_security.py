"""PostgreSQL row-level security, the second wall between tenants (db/row_security.py).

The API's own tenant filter is tested route by route in tests/api/test_tenant_isolation.py, and
on PostgreSQL the whole suite runs behind this wall. Here the wall is tested on its own: SQL
that forgets the tenant — what a bug in a query builder would send — run in a request's
transaction. SQLite has no row-level security; there the same SQL shows what the wall prevents.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from odyssee.api.app import create_app
from odyssee.cli.main import app as cli
from odyssee.db import row_security
from odyssee.db.engine import Database
from odyssee.domain.tenants import authenticate
from odyssee.model.base import Base
from odyssee.model.entities.jobs import SYSTEM_JOB_STATUSES
from odyssee.settings import Settings
from tests.conftest import Tenant, make_tenant

PASSWORD = "secret-pw"  # make_tenant's


@pytest.fixture
def two(database: Database, app_client: TestClient) -> tuple[Tenant, Tenant]:
    """Tenants A and B with a company each, made through the API."""
    first, second = make_tenant(database, app_client, "ALPHA"), make_tenant(database, app_client, "BETA")
    for tenant in (first, second):
        assert tenant.post("/api/Company", {"name": f"{tenant.domain} Ltd"}).status_code == 201
    return first, second


def _tenant_ids(database: Database) -> dict[str, int]:
    with database.engine.connect() as connection:
        return {domain: id_ for domain, id_ in connection.execute(sa.text("SELECT domain, id FROM tenant"))}


def test_every_table_of_tenant_rows_is_walled_and_granted(database: Database) -> None:
    if database.dialect == "sqlite":
        assert not Database(database.url, row_security=True).row_security, "SQLite has no row-level security"
        return
    of_tenants = {table.name for table in Base.metadata.tables.values() if "tenant_id" in table.c} | {"tenant"}
    with database.engine.connect() as connection:
        assert row_security.unwalled_tables(connection) == []
        assert row_security.problem(connection) is None
        walled = connection.execute(
            sa.text("SELECT polrelid::regclass::text FROM pg_policy WHERE polname = :policy"),
            {"policy": row_security.POLICY},
        ).scalars()
        assert {name.strip('"') for name in walled} == of_tenants


def test_sql_without_the_tenant_sees_and_writes_the_logins_tenant_only(
    database: Database, two: tuple[Tenant, Tenant]
) -> None:
    ids = _tenant_ids(database)
    ids_b = {"b": ids["BETA"]}
    with database.transaction(write=True) as session:
        authenticate(session, "api@example.com", PASSWORD, "ALPHA", wall=database.row_security)
        seen = set(session.execute(sa.text("SELECT tenant_id FROM company")).scalars())
        tenants = set(session.execute(sa.text("SELECT id FROM tenant")).scalars())
        if database.dialect == "sqlite":  # the application's filter is the only wall
            assert seen == tenants == {ids["ALPHA"], ids["BETA"]}
            return
        assert session.execute(sa.text("SELECT current_user")).scalar() == row_security.ROLE
        assert seen == tenants == {ids["ALPHA"]}
        changed = session.execute(sa.text("UPDATE company SET name = 'taken' WHERE tenant_id = :b"), ids_b)
        assert changed.rowcount == 0
        gone = session.execute(sa.text("DELETE FROM job_status WHERE tenant_id = :b"), ids_b)
        assert gone.rowcount == 0
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"), session.begin_nested():
            session.execute(sa.text("UPDATE company SET tenant_id = :b"), ids_b)
    with database.engine.connect() as connection:
        names = connection.execute(sa.text("SELECT name FROM company ORDER BY name")).scalars().all()
        statuses = connection.execute(
            sa.text("SELECT count(*) FROM job_status WHERE tenant_id = :b"), {"b": ids["BETA"]}
        )
        assert names == ["ALPHA Ltd", "BETA Ltd"] and statuses.scalar() == len(SYSTEM_JOB_STATUSES)


def test_the_role_without_a_tenant_sees_and_writes_nothing(database: Database, two: tuple[Tenant, Tenant]) -> None:
    """The policy fails closed; on SQLite there is no role to become, and everything is visible."""
    with database.transaction(write=True) as session:
        if database.dialect == "postgresql":
            session.execute(sa.text(f"SET LOCAL ROLE {row_security.ROLE}"))
        visible = session.execute(sa.text("SELECT count(*) FROM company")).scalar()
        logins = session.execute(sa.text("SELECT count(*) FROM credential")).scalar()
        changed = session.execute(sa.text("UPDATE company SET name = name")).rowcount
    assert (visible, logins, changed) == ((2, 2, 2) if database.dialect == "sqlite" else (0, 0, 0))


def test_the_wall_ends_with_the_transaction(database: Database, two: tuple[Tenant, Tenant]) -> None:
    """A pooled connection (or PgBouncer's) carries neither the role nor the tenant to its next user."""
    single = Database(database.url, pool_size=1)
    try:
        with single.transaction(write=False) as session:
            authenticate(session, "api@example.com", PASSWORD, "ALPHA", wall=single.row_security)
            first = session.connection().connection.dbapi_connection
            walled = session.execute(sa.text("SELECT count(*) FROM company")).scalar()
        with single.transaction(write=False) as session:
            assert session.connection().connection.dbapi_connection is first, "the same pooled connection"
            after = session.execute(sa.text("SELECT count(*) FROM company")).scalar()
    finally:
        single.dispose()
    assert (walled, after) == ((1, 2) if single.row_security else (2, 2))


def test_a_tenants_transaction_without_a_login_is_walled_from_begin(
    database: Database, two: tuple[Tenant, Tenant]
) -> None:
    """How each operation of a ``$batch`` runs: its login was checked before, in another transaction."""
    ids = _tenant_ids(database)
    with database.transaction(write=False, tenant_id=ids["BETA"]) as session:
        names = session.execute(sa.text("SELECT name FROM company ORDER BY name")).scalars().all()
    assert names == (["BETA Ltd"] if database.row_security else ["ALPHA Ltd", "BETA Ltd"])


def test_batch_operations_run_behind_the_wall(database: Database, two: tuple[Tenant, Tenant]) -> None:
    alpha, _ = two
    body = {
        "requests": [
            {"id": "1", "method": "GET", "url": "Company?$select=name"},
            {"id": "2", "method": "POST", "url": "Company", "body": {"name": "ALPHA Two"}},
        ]
    }
    response = alpha.post("/api/$batch", body)
    assert response.status_code == 200, response.text
    first, second = response.json()["responses"]
    assert [row["name"] for row in first["body"]["value"]] == ["ALPHA Ltd"]
    assert second["status"] == 201


@pytest.fixture
def outsider(database: Database) -> Iterator[str | None]:
    """On PostgreSQL, a URL logging in as a role that may use the tables but not act as the wall's role."""
    if database.dialect == "sqlite":
        yield None
        return
    name = f"odyssee_outsider_{os.getpid()}"
    with database.engine.connect() as connection:
        connection.exec_driver_sql(f"DROP ROLE IF EXISTS {name}")
        connection.exec_driver_sql(f"CREATE ROLE {name} LOGIN")
        connection.exec_driver_sql(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {name}")
        connection.commit()
    yield make_url(database.url).set(username=name).render_as_string(hide_password=False)
    with database.engine.connect() as connection:
        connection.exec_driver_sql(f"DROP OWNED BY {name}")
        connection.exec_driver_sql(f"DROP ROLE {name}")
        connection.commit()


def _serves(database: Database, settings: Settings) -> bool:
    with TestClient(create_app(settings, database)) as client:
        return bool(client.get("/api/$metadata").status_code == 401)  # up, and asking for a login


def test_the_server_refuses_to_start_without_what_the_wall_needs(database: Database, outsider: str | None) -> None:
    if outsider is None:  # SQLite: the setting is on by default and ignored
        assert database.row_security_problem() is None and _serves(database, Settings())
        return
    walled = Database(outsider, row_security=True)
    try:
        problem = walled.row_security_problem()
        assert problem is not None and f"GRANT {row_security.ROLE} TO" in problem
        assert "ODYSSEE_ROW_SECURITY=off" in problem
        with pytest.raises(RuntimeError, match="cannot act as the role"):
            _serves(walled, Settings())
    finally:
        walled.dispose()
    # a host that cannot be bound: should the check be missed, serve fails instead of serving forever
    served = CliRunner().invoke(
        cli, ["serve", "--host", "256.256.256.256", "--no-worker"], env={"ODYSSEE_DATABASE_URL": outsider}
    )
    assert served.exit_code == 1 and "cannot act as the role" in served.output
    unwalled = Database(outsider, row_security=False)
    try:
        assert unwalled.row_security_problem() is None and _serves(unwalled, Settings(row_security=False))
    finally:
        unwalled.dispose()


def test_the_setting_reads_on_and_off(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().row_security, "on unless told otherwise"
    for text, expected in (("off", False), ("0", False), ("ON", True), ("true", True)):
        monkeypatch.setenv("ODYSSEE_ROW_SECURITY", text)
        assert Settings.from_env().row_security is expected
    monkeypatch.setenv("ODYSSEE_ROW_SECURITY", "maybe")
    with pytest.raises(ValueError, match="ODYSSEE_ROW_SECURITY must be 'on' or 'off'"):
        Settings.from_env()
