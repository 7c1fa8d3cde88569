"""The shipped migrations produce exactly the schema the entity model declares, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from odyssee.db.engine import Database
from odyssee.db.migrate import current_revision, upgrade
from odyssee.model.base import Base


def test_migrated_schema_matches_the_model(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrade_is_idempotent(database: Database) -> None:
    before = current_revision(database.engine)
    assert before is not None
    upgrade(database.engine)
    assert current_revision(database.engine) == before
