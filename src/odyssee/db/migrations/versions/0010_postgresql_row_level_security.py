"""PostgreSQL: row-level security, the database's own wall between tenants

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 23:40:00

Every table holding tenant rows (those with a ``tenant_id`` column, and ``tenant`` itself) gets
row-level security and one policy, ``tenant_wall``: a row is visible and writable only when its
tenant is the transaction's ``odyssee.tenant_id`` setting. The schema's owner — the role the
server connects as, which also runs the worker, the CLI and these migrations — is not subject to
it (the policy is not forced); an API request switches to the role ``odyssee_tenant`` once its
login is verified (db/row_security.py says how and why). This migration creates that role when
the connecting role may create roles; otherwise a superuser creates it and the next
``odyssee db upgrade`` grants it the tables (docs/deployment.md). SQLite has no such thing:
nothing to do there.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLE = "odyssee_tenant"
_SETTING = "odyssee.tenant_id"
_POLICY = "tenant_wall"


def _tenant_tables() -> dict[str, str]:
    """Each table of tenant rows and the column naming the tenant."""
    inspector = sa.inspect(op.get_bind())
    tables = {"tenant": "id"}
    for table in inspector.get_table_names():
        if any(column["name"] == "tenant_id" for column in inspector.get_columns(table)):
            tables[table] = "tenant_id"
    return tables


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    mine = f"NULLIF(current_setting('{_SETTING}', true), '')::integer"
    for table, column in _tenant_tables().items():
        op.execute(f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY')
        op.execute(f'CREATE POLICY {_POLICY} ON "{table}" USING ("{column}" = {mine})')
    # The role, when this login may create it; db/row_security.py grants it the tables.
    op.execute(
        f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{_ROLE}')
           AND (SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
            CREATE ROLE {_ROLE} NOLOGIN;
        END IF;
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{_ROLE}')
           AND NOT pg_has_role(current_user, '{_ROLE}', 'MEMBER')
           AND (SELECT rolcreaterole FROM pg_roles WHERE rolname = current_user) THEN
            EXECUTE format('GRANT {_ROLE} TO %I', current_user);
        END IF;
        END $$"""
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _tenant_tables():
        op.execute(f'DROP POLICY IF EXISTS {_POLICY} ON "{table}"')
        op.execute(f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY')
    # The role is the cluster's, perhaps shared with other databases: it stays, without our tables.
    op.execute(
        f"""DO $$ BEGIN
        IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{_ROLE}') THEN
            EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA %I FROM {_ROLE}', current_schema());
            EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA %I FROM {_ROLE}', current_schema());
        END IF;
        END $$"""
    )
