"""The blob store: where the bytes of stored-apart properties (``db_file.file_content``) live.

Entity tables stay small so that listing, filtering and locking them never drags file bytes
along; a read fetches bytes only for the rows and properties the client asked for. Everything
goes through :class:`BlobStore`, so another backend (a directory, an object store) is one new
class. The default, :class:`DatabaseBlobs`, keeps the bytes in the ``blob`` table, inside the
caller's transaction: a file row and its bytes commit or roll back together.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from odyssee.model.registry import EntitySpec, Field
from odyssee.model.system import Blob
from odyssee.odata.options import QueryOptions

Row = dict[str, Any]


class BlobStore(Protocol):
    """Bytes keyed by (tenant, owner table, owner id, property). Missing bytes read as empty."""

    def put(self, session: Session, tenant_id: int, owner: tuple[str, uuid.UUID], prop: str, content: bytes) -> None:
        """Store ``content`` (empty bytes remove the entry)."""

    def get_many(
        self, session: Session, tenant_id: int, owner_table: str, owner_ids: Iterable[uuid.UUID], prop: str
    ) -> dict[uuid.UUID, bytes]:
        """The stored bytes of each owner that has some."""

    def delete(self, session: Session, tenant_id: int, owner: tuple[str, uuid.UUID]) -> None:
        """Forget every property of a deleted owner row."""


class DatabaseBlobs:
    """The ``blob`` table, in the caller's transaction (SQLite and PostgreSQL)."""

    def put(self, session: Session, tenant_id: int, owner: tuple[str, uuid.UUID], prop: str, content: bytes) -> None:
        table, key = owner
        where = (Blob.tenant_id == tenant_id, Blob.owner_table == table, Blob.owner_id == key, Blob.property == prop)
        if not content:
            session.execute(sa.delete(Blob).where(*where))
            return
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        values = {"tenant_id": tenant_id, "owner_table": table, "owner_id": key, "property": prop}
        statement = (
            insert(Blob)
            .values(values | {"content": content, "size": len(content)})
            .on_conflict_do_update(index_elements=list(values), set_={"content": content, "size": len(content)})
        )
        session.execute(statement)

    def get_many(
        self, session: Session, tenant_id: int, owner_table: str, owner_ids: Iterable[uuid.UUID], prop: str
    ) -> dict[uuid.UUID, bytes]:
        keys = sorted(set(owner_ids))
        if not keys:
            return {}
        statement = sa.select(Blob.owner_id, Blob.content).where(
            Blob.tenant_id == tenant_id,
            Blob.owner_table == owner_table,
            Blob.property == prop,
            Blob.owner_id.in_(keys),
        )
        return {owner_id: bytes(content) for owner_id, content in session.execute(statement)}

    def delete(self, session: Session, tenant_id: int, owner: tuple[str, uuid.UUID]) -> None:
        table, key = owner
        session.execute(
            sa.delete(Blob).where(Blob.tenant_id == tenant_id, Blob.owner_table == table, Blob.owner_id == key)
        )


STORE: BlobStore = DatabaseBlobs()


def wanted(spec: EntitySpec, options: QueryOptions, *, single: bool) -> tuple[Field, ...]:
    """The stored-apart fields a read returns: those ``$select`` names; all of them for a single
    entity without ``$select`` (Odyssee's GET ``DbFile(id)`` includes the bytes); none in a
    collection without ``$select``, so that listing files never ships their bytes."""
    if options.select is not None:
        return tuple(f for f in options.select if f.apart)
    return spec.apart if single else ()


def fill(session: Session, tenant_id: int, spec: EntitySpec, rows: Sequence[Row], fields: Sequence[Field]) -> None:
    """Put the bytes of ``fields`` into ``rows`` (one query per field for all rows); row ids may be
    text (rows of domain/reads.py) or GUIDs."""
    if not rows or not fields:
        return
    keys = [_as_uuid(row["id"]) for row in rows]
    for f in fields:
        found = STORE.get_many(session, tenant_id, spec.table_name, keys, f.name)
        for row, key in zip(rows, keys, strict=True):
            row[f.name] = found.get(key, b"")


def _as_uuid(value: uuid.UUID | str) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


def split(spec: EntitySpec, row: Row) -> Row:
    """Remove the stored-apart values from a row about to be written to the table; returns them."""
    return {f.name: row.pop(f.name) for f in spec.apart if f.name in row}


def write(session: Session, tenant_id: int, spec: EntitySpec, key: uuid.UUID, values: Row) -> None:
    for name, content in values.items():
        STORE.put(session, tenant_id, (spec.table_name, key), name, content)


def forget(session: Session, tenant_id: int, spec: EntitySpec, key: uuid.UUID) -> None:
    if spec.apart:
        STORE.delete(session, tenant_id, (spec.table_name, key))
