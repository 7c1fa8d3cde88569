"""The shipped migrations produce exactly the schema the entity model declares, on both engines."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from odyssee.db import row_security
from odyssee.db.engine import Database
from odyssee.db.migrate import current_revision, upgrade
from odyssee.model.base import Base
from odyssee.model.system import Blob
from tests.db.conftest import downgrade


def test_migrated_schema_matches_the_model(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrade_is_idempotent(database: Database) -> None:
    before = current_revision(database.engine)
    assert before is not None
    upgrade(database.engine)
    assert current_revision(database.engine) == before


def _bare_tenant(connection: sa.Connection) -> int:
    """A tenant row written with plain SQL, as an older schema takes it; its id."""
    connection.execute(
        sa.text("INSERT INTO tenant (domain, domain_key, created_at) VALUES ('T', 'T', :now)"),
        {"now": datetime.now(UTC)},
    )
    return int(connection.execute(sa.text("SELECT id FROM tenant")).scalar_one())


def test_upgrade_moves_existing_file_bytes_to_the_blob_store_and_back(empty_url: str) -> None:
    """An installation upgraded from 0005 keeps every file's bytes; a downgrade puts them back."""
    database = Database(empty_url)
    try:
        upgrade(database.engine, "0005")
        file_id = uuid.uuid4()
        with database.engine.begin() as connection:
            tenant_id = _bare_tenant(connection)
            db_file = sa.table("db_file", sa.column("tenant_id"), sa.column("id", sa.Uuid), sa.column("name"),
                               sa.column("file_content", sa.LargeBinary), sa.column("file_size"))  # fmt: skip
            connection.execute(
                sa.insert(db_file).values(tenant_id=tenant_id, id=file_id, name="r", file_content=b"%PDF-1")
            )
            connection.execute(
                sa.insert(db_file).values(tenant_id=tenant_id, id=uuid.uuid4(), name="empty", file_content=b"")
            )
        upgrade(database.engine)
        with database.engine.connect() as connection:
            moved = connection.execute(sa.select(Blob.owner_table, Blob.owner_id, Blob.content, Blob.size)).all()
            assert [(t, i, bytes(c), s) for t, i, c, s in moved] == [("db_file", file_id, b"%PDF-1", 6)]
            assert "file_content" not in {c["name"] for c in sa.inspect(connection).get_columns("db_file")}
        downgrade(database, "0005")
        with database.engine.connect() as connection:
            restored = connection.execute(sa.text("SELECT name, length(file_content) FROM db_file ORDER BY name")).all()
            assert [tuple(row) for row in restored] == [("empty", 0), ("r", 6)]
            content = connection.execute(sa.select(db_file.c.file_content).where(db_file.c.id == file_id)).scalar()
            assert bytes(content) == b"%PDF-1"
    finally:
        database.dispose()


def test_upgrade_dashes_the_guids_sqlite_stored_as_hex_and_back(empty_url: str) -> None:
    """0009: an SQLite file written before it (32 hex digits per GUID) reads the same entities
    after the upgrade, stored as the API writes them; a downgrade restores the old form.
    PostgreSQL's native uuid is untouched."""
    database = Database(empty_url)
    try:
        upgrade(database.engine, "0008")
        company, category = uuid.uuid4(), uuid.uuid4()
        with database.engine.begin() as connection:
            tenant_id = _bare_tenant(connection)
            table = sa.table("company", sa.column("tenant_id"), sa.column("id", sa.Uuid), sa.column("name"),
                             sa.column("company_type_id", sa.Uuid))  # fmt: skip
            connection.execute(
                sa.insert(table).values(tenant_id=tenant_id, id=company, name="Acme", company_type_id=category)
            )
            connection.execute(sa.text("INSERT INTO company (tenant_id, id, name) VALUES (:t, :i, 'Bare')"),
                               {"t": tenant_id, "i": "ab" * 16})  # fmt: skip
        sqlite = database.dialect == "sqlite"
        stored = "SELECT id, company_type_id FROM company ORDER BY name"
        upgrade(database.engine)
        with database.engine.connect() as connection:
            rows = [tuple(map(str, row)) for row in connection.execute(sa.text(stored))]
            empty = "00000000-0000-0000-0000-000000000000"
            assert rows == [(str(company), str(category)), (str(uuid.UUID("ab" * 16)), empty)]
            if sqlite:
                types = {c["name"]: c["type"] for c in sa.inspect(connection).get_columns("company")}
                assert isinstance(types["id"], sa.CHAR) and types["id"].length == 36
        downgrade(database, "0008")
        with database.engine.connect() as connection:
            rows = [tuple(map(str, row)) for row in connection.execute(sa.text(stored))]
            if sqlite:
                assert rows == [(company.hex, category.hex), ("ab" * 16, "0" * 32)]
            else:
                assert rows == [(str(company), str(category)), (str(uuid.UUID("ab" * 16)), empty)]
    finally:
        database.dispose()


def _columns(connection: sa.Connection) -> dict[str, list[str]]:
    inspector = sa.inspect(connection)
    return {table: [c["name"] for c in inspector.get_columns(table)] for table in inspector.get_table_names()}


def test_row_level_security_comes_with_0010_and_goes_with_its_downgrade(empty_url: str) -> None:
    """0010 walls every table of tenant rows on PostgreSQL (db/row_security.py); its downgrade takes
    the policies and the role's grants away again. SQLite's schema is the same either way."""
    database = Database(empty_url)
    try:
        upgrade(database.engine, "0010")
        with database.engine.connect() as connection:
            before = _columns(connection)
            if database.dialect == "postgresql":
                assert row_security.unwalled_tables(connection) == [] and row_security.problem(connection) is None
        downgrade(database, "0009")
        with database.engine.connect() as connection:
            if database.dialect == "postgresql":
                assert "jobs" in row_security.unwalled_tables(connection)
                assert "lacks access" in str(row_security.problem(connection))
            after = _columns(connection)
        assert after == before
        upgrade(database.engine)
        with database.engine.connect() as connection:
            if database.dialect == "postgresql":
                assert row_security.unwalled_tables(connection) == [] and row_security.problem(connection) is None
    finally:
        database.dispose()
