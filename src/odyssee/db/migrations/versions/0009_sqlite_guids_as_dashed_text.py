"""SQLite: GUIDs stored as their canonical text (8-4-4-4-12), not 32 bare hex digits

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 21:20:00

SQLAlchemy's ``Uuid`` stored a GUID on SQLite as 32 hex digits, which every read had to dash
again in Python (model/types.py ``Guid`` says why that mattered). Every ``CHAR(32)`` column
becomes ``CHAR(36)`` (SQLite rebuilds the table: Alembic's batch mode, indexes kept) and its
values are dashed. PostgreSQL keeps its native ``uuid``: nothing to do there.
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.engine.interfaces import ReflectedColumn

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_HEX, _DASHED = 32, 36


def _guid_columns(length: int) -> dict[str, list[ReflectedColumn]]:
    """Per table, its GUID columns as stored now (``CHAR(length)``)."""
    inspector = sa.inspect(op.get_bind())
    found: dict[str, list[ReflectedColumn]] = {}
    for table in inspector.get_table_names():
        if table == "alembic_version":
            continue
        columns = [c for c in inspector.get_columns(table) if isinstance(c["type"], sa.CHAR) and c["type"].length == length]
        if columns:
            found[table] = columns
    return found


def _convert(from_length: int, to_length: int, empty: str, rewrite: Callable[[str], str]) -> None:
    """Every GUID column stored in ``from_length`` characters: retyped, its default the empty
    GUID in the new form, its values rewritten (those already in the new form are left alone)."""
    if op.get_bind().dialect.name != "sqlite":
        return
    for table, columns in _guid_columns(from_length).items():
        with op.batch_alter_table(table, recreate="always") as batch:
            for column in columns:
                default = sa.text(f"'{empty}'") if column["default"] is not None else None
                batch.alter_column(column["name"], type_=sa.CHAR(to_length), existing_nullable=column["nullable"],
                                   server_default=default)
        for column in columns:
            name = column["name"]
            op.execute(f"UPDATE {table} SET {name} = {rewrite(name)} WHERE length({name}) = {from_length}")


def _dashed(column: str) -> str:
    pieces = [f"substr({column}, {start}, {length})" for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))]
    return "lower(" + " || '-' || ".join(pieces) + ")"


def upgrade() -> None:
    _convert(_HEX, _DASHED, "00000000-0000-0000-0000-000000000000", _dashed)


def downgrade() -> None:
    _convert(_DASHED, _HEX, "0" * _HEX, lambda column: f"replace({column}, '-', '')")
