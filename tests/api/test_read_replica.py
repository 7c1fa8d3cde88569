"""ODYSSEE_READ_DATABASE_URL: GET requests read from a replica, writes and $batch go to the primary.

On PostgreSQL the "replica" here is a second migrated database holding *different* rows, so
every answer shows which database served it. On SQLite the setting is refused.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from odyssee.api.app import create_app
from odyssee.cli.main import app as cli
from odyssee.db.engine import Database
from odyssee.domain.tenants import create_credential, create_tenant
from odyssee.settings import Settings
from tests.conftest import Tenant, fresh_database_url


def _login(database: Database) -> None:
    with database.transaction(write=True) as session:
        create_tenant(session, "ACME")
        create_credential(session, "ACME", "api", "pw-replica", api=True)


def _companies(database: Database) -> set[str]:
    table = sa.table("company", sa.column("name"))
    with database.transaction(write=False) as session:
        return set(session.execute(sa.select(table.c.name)).scalars())


def test_gets_read_the_replica_and_writes_go_to_the_primary(database: Database, template: str, tmp_path: Path) -> None:
    _login(database)
    if database.dialect == "sqlite":
        with pytest.raises(ValueError, match="needs PostgreSQL"):
            create_app(Settings(database_url=database.url, read_database_url=database.url), database)
        return
    with fresh_database_url(template, tmp_path) as replica_url:
        replica = Database(replica_url)
        try:
            _login(replica)
            with TestClient(create_app(Settings(database_url=replica_url), replica)) as on_replica:
                other = Tenant(on_replica, "ACME", "api", "pw-replica")  # what a lagging copy would hold
                assert other.post("/api/Company", {"code": "R1", "name": "on the replica"}).status_code == 201
            settings = Settings(database_url=database.url, read_database_url=replica_url)
            with TestClient(create_app(settings, database), base_url="http://testserver") as client:
                api = Tenant(client, "ACME", "api", "pw-replica")
                assert api.post("/api/Company", {"code": "P1", "name": "on the primary"}).status_code == 201
                assert [row["name"] for row in api.get("/api/Company").json()["value"]] == ["on the replica"]
                assert api.get("/api/Company/$count").text == "1"
                batch = {"requests": [{"id": "1", "method": "GET", "url": "Company"}]}
                through_batch = api.post("/api/$batch", batch).json()["responses"][0]["body"]["value"]
                assert [row["name"] for row in through_batch] == ["on the primary"]  # $batch: the primary
            assert _companies(database) == {"on the primary"}
            assert _companies(replica) == {"on the replica"}
        finally:
            replica.dispose()


def test_serve_refuses_a_read_url_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'odyssee.db'}"
    result = CliRunner().invoke(
        cli, ["serve", "--database-url", url, "--port", "1"], env={"ODYSSEE_READ_DATABASE_URL": url}
    )
    assert result.exit_code == 1 and "ODYSSEE_READ_DATABASE_URL needs PostgreSQL" in result.output
