"""The login epoch: one counter that every change to ``credential`` or ``tenant`` moves

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 02:20:00

An API process on PostgreSQL keeps the login rows it verified, each with the epoch it was read
at, and every request of a kept login checks in its ``BEGIN`` that the epoch has not moved
(domain/logins.py, db/engine.py ``postgresql_begin``): the credentials are not read again, and a
change to them still counts from the next request on. Triggers move the epoch whoever writes —
the CLI's ``user revoke`` and ``rotate-password``, the API, an operator's own SQL: on PostgreSQL
one per statement (``TRUNCATE`` included), in a function that runs as the schema's owner so that
the row-level security role needs no right to the counter; on SQLite one per row and kind of
change. The check is a function on PostgreSQL that raises ``OD001`` when the epoch moved.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("credential", "tenant")
_MOVE = "odyssee_login_epoch_move"
_CHECK = "odyssee_login_epoch_check"
_MOVED = "OD001"
_KINDS = ("INSERT", "UPDATE", "DELETE")


def upgrade() -> None:
    op.create_table(
        "login_epoch",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_epoch")),
    )
    op.execute("INSERT INTO login_epoch (id, epoch) VALUES (1, 0)")
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
        return
    for table in _TABLES:
        for kind in _KINDS:
            op.execute(
                f'CREATE TRIGGER {_MOVE}_{table}_{kind.lower()} AFTER {kind} ON "{table}" '
                f"BEGIN UPDATE login_epoch SET epoch = epoch + 1 WHERE id = 1; END"
            )


def _upgrade_postgresql() -> None:
    op.execute(
        f"""CREATE FUNCTION {_MOVE}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
        SET search_path FROM CURRENT AS $$
        BEGIN
            UPDATE login_epoch SET epoch = epoch + 1 WHERE id = 1;
            RETURN NULL;
        END $$"""
    )
    for table in _TABLES:
        op.execute(
            f'CREATE TRIGGER {_MOVE} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "{table}" '
            f"FOR EACH STATEMENT EXECUTE FUNCTION {_MOVE}()"
        )
    op.execute(
        f"""CREATE FUNCTION {_CHECK}(seen bigint) RETURNS void LANGUAGE plpgsql STABLE
        SET search_path FROM CURRENT AS $$
        BEGIN
            IF (SELECT epoch FROM login_epoch WHERE id = 1) IS DISTINCT FROM seen THEN
                RAISE EXCEPTION 'the logins changed since this one was kept' USING ERRCODE = '{_MOVED}';
            END IF;
        END $$"""
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _TABLES:
            op.execute(f'DROP TRIGGER IF EXISTS {_MOVE} ON "{table}"')
        op.execute(f"DROP FUNCTION IF EXISTS {_MOVE}()")
        op.execute(f"DROP FUNCTION IF EXISTS {_CHECK}(bigint)")
    else:
        for table in _TABLES:
            for kind in _KINDS:
                op.execute(f"DROP TRIGGER IF EXISTS {_MOVE}_{table}_{kind.lower()}")
    op.drop_table("login_epoch")
