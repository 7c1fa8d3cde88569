"""PostgreSQL row-level security: the database's own wall between tenants, behind the application's.

Every statement the API builds names the caller's tenant (``tenant_id = :tenant``), and
tests/api/test_tenant_isolation.py checks every route for leaks. This is the second wall, for the
bug those miss: PostgreSQL itself hides and refuses another tenant's rows.

How it works (migration 0010 installs it):

* Every table of tenant rows has row-level security on and one policy, ``tenant_wall``: a row is
  visible, updatable and insertable only when its ``tenant_id`` equals the transaction's
  ``odyssee.tenant_id`` setting. Unset, nothing is visible.
* The role the server connects as owns the schema and is not subject to the policy (it is not
  forced): migrations, the worker, the CLI and the login lookup itself work across tenants.
* An API request becomes the role :data:`ROLE` (``odyssee_tenant``, no login, no privilege but
  DML on our tables) and sets ``odyssee.tenant_id`` once its login is found — in the login query
  itself (:func:`entering`, domain/tenants.py), so the wall costs no round trip. A ``$batch``
  operation's transaction, whose login was checked before, does both in its ``BEGIN``
  (:func:`begin_sql`). Both are ``SET LOCAL``: they end with the transaction, so a pooled
  connection (or PgBouncer in transaction mode) carries nothing to the next request.

Off with ``ODYSSEE_ROW_SECURITY=off``; SQLite has no row-level security and ignores the setting.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

ROLE = "odyssee_tenant"
SETTING = "odyssee.tenant_id"
POLICY = "tenant_wall"
_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")
_WITHOUT_TENANT = ("alembic_version", "login_epoch")
"""Tables the role needs no access to: no request reads or writes them."""


def entering(tenant: sa.ColumnElement[Any]) -> list[sa.ColumnElement[Any]]:
    """Columns that, selected with the login's row, switch the rest of the transaction to
    :data:`ROLE` and ``tenant``. A login that finds no row switches nothing (and is refused)."""
    return [
        sa.func.set_config("role", ROLE, True).label("_row_security_role"),
        sa.func.set_config(SETTING, sa.cast(tenant, sa.Text), True).label("_row_security_tenant"),
    ]


def begin_sql(tenant_id: int) -> str:
    """What a transaction acting for a known tenant runs after ``BEGIN`` (same round trip)."""
    return f"SET LOCAL ROLE {ROLE}; SET LOCAL {SETTING} = '{int(tenant_id)}'"


_MISSING_GRANTS = sa.text(
    """
    SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'S') AND c.relname <> ALL(:without) AND (
        (c.relkind IN ('r', 'p') AND NOT (
            has_table_privilege(:role, c.oid, 'SELECT') AND has_table_privilege(:role, c.oid, 'INSERT')
            AND has_table_privilege(:role, c.oid, 'UPDATE') AND has_table_privilege(:role, c.oid, 'DELETE')))
        OR (c.relkind = 'S' AND NOT has_sequence_privilege(:role, c.oid, 'USAGE'))
        OR NOT has_schema_privilege(:role, n.oid, 'USAGE'))
    ORDER BY c.relname
    """
)


_ROLE_EXISTS = sa.text("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = :role)")


def _role_exists(connection: sa.Connection) -> bool:
    return bool(connection.execute(_ROLE_EXISTS, {"role": ROLE}).scalar())


def _missing_grants(connection: sa.Connection) -> list[tuple[str, str]]:
    rows = connection.execute(_MISSING_GRANTS, {"role": ROLE, "without": list(_WITHOUT_TENANT)})
    return [(name, kind) for name, kind in rows]


def grant(connection: sa.Connection) -> None:
    """Give :data:`ROLE` the DML it needs on every table (and sequence) of the schema that it lacks.

    Run after every upgrade (db/migrate.py), so a table a later migration adds is covered, and a
    role a superuser created after migration 0010 is granted on the next ``odyssee db upgrade``.
    Grants only what is missing: two processes starting together would otherwise both rewrite
    the catalog rows. Nothing to do on SQLite, or while the role does not exist (see
    :func:`problem`)."""
    if connection.dialect.name != "postgresql" or not _role_exists(connection):
        return
    missing = _missing_grants(connection)
    if not missing:
        return
    current = connection.exec_driver_sql("SELECT current_schema()").scalar()
    schema = connection.dialect.identifier_preparer.quote(str(current))
    connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {ROLE}")
    tables = ", ".join(f'"{name}"' for name, kind in missing if kind in ("r", "p"))
    if tables:
        connection.exec_driver_sql(f"GRANT {', '.join(_PRIVILEGES)} ON TABLE {tables} TO {ROLE}")
    sequences = ", ".join(f'"{name}"' for name, kind in missing if kind == "S")
    if sequences:
        connection.exec_driver_sql(f"GRANT USAGE, SELECT ON SEQUENCE {sequences} TO {ROLE}")


_UNWALLED = sa.text(
    """
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND (
        c.relname = 'tenant' OR EXISTS (
            SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
      AND NOT (c.relrowsecurity AND EXISTS (SELECT FROM pg_policy p WHERE p.polrelid = c.oid AND p.polname = :policy))
    ORDER BY c.relname
    """
)


def unwalled_tables(connection: sa.Connection) -> list[str]:
    """Tables of tenant rows without the policy: a migration that added one forgot it."""
    return list(connection.execute(_UNWALLED, {"policy": POLICY}).scalars())


def problem(connection: sa.Connection) -> str | None:
    """Why an API process connected this way cannot put its requests behind the wall, or None.

    The server refuses to start rather than serve without the wall it was told to use."""
    user = connection.execute(sa.text("SELECT current_user")).scalar()
    off = "or set ODYSSEE_ROW_SECURITY=off to serve without this second wall (docs/deployment.md)"
    if not _role_exists(connection):
        return (
            f"Row-level security needs the PostgreSQL role '{ROLE}', which does not exist and '{user}' may "
            f'not create. Have a superuser run: CREATE ROLE {ROLE} NOLOGIN; GRANT {ROLE} TO "{user}"; '
            f"then run 'odyssee db upgrade' again, {off}."
        )
    member = connection.execute(sa.text("SELECT pg_has_role(current_user, :role, 'MEMBER')"), {"role": ROLE}).scalar()
    if not member:
        return (
            f"Row-level security: '{user}' cannot act as the role '{ROLE}'. Have a superuser run: "
            f'GRANT {ROLE} TO "{user}"; {off}.'
        )
    missing = _missing_grants(connection)
    if missing:
        names = ", ".join(name for name, _ in missing[:5])
        return (
            f"Row-level security: the role '{ROLE}' lacks access to {names}{' …' if len(missing) > 5 else ''}. "
            f"Run 'odyssee db upgrade' as the owner of the schema, {off}."
        )
    unwalled = unwalled_tables(connection)
    if unwalled:
        return (
            f"Row-level security: {', '.join(unwalled)} ha{'s' if len(unwalled) == 1 else 've'} no "
            f"'{POLICY}' policy. Run 'odyssee db upgrade', {off}."
        )
    return None
