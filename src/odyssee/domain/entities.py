"""The generic controller's writes: create, replace (PUT), update (PATCH), delete — for every entity.

Each function runs inside the caller's transaction and either completes or raises an
:class:`~odyssee.model.errors.OdysseeError`, which rolls everything back.
"""

from __future__ import annotations

import functools
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from odyssee.domain import blobs, changes, deferred, embedding, hooks
from odyssee.domain.actor import Actor
from odyssee.domain.references import (
    apply_reference_defaults,
    check_references,
    referencing_counts,
)
from odyssee.domain.validation import check_required, read_payload
from odyssee.model.base import Deletion
from odyssee.model.conventions import utcnow
from odyssee.model.errors import (
    Conflict,
    ErrorDetail,
    InvalidInput,
    NotAllowed,
    NotFound,
    OdysseeError,
    PreconditionFailed,
)
from odyssee.model.registry import EntitySpec, new_id
from odyssee.model.system import Counter

Row = dict[str, Any]


def create_entity(session: Session, actor: Actor, spec: EntitySpec, payload: Any) -> uuid.UUID:
    """Insert a row from a client body. The client may choose the id (spec §3.1).

    Embedded codes and nested objects (domain/embedding.py) are resolved first, in the same
    transaction, so a failure anywhere leaves nothing behind.
    """
    _refuse_writes_to_read_only(spec)
    payload = embedding.resolve(session, actor, spec, payload, _upserter(session, actor))
    given_id, values = read_payload(spec, payload)
    key = given_id or new_id()
    row = {f.name: f.default for f in spec.writable} | values
    _apply_clock_defaults(spec, row, values)
    apply_reference_defaults(session, actor, spec, row)
    hooks.before_write(session, actor, spec, row)
    check_required(spec, row)
    check_references(session, actor, spec, row, self_id=key)
    _check_unique(session, actor, spec, key, row, check_id=given_id is not None)
    row["id"] = key
    hooks.before_create(session, actor, spec, row)
    if spec.options.numbered:
        row["id2"] = next_number(session, actor.tenant_id, spec.table_name)
    row.update(tenant_id=actor.tenant_id, id=key, row_version=1)
    apart = blobs.split(spec, row)
    _execute(session, actor, spec, key, changes.CREATED, row, _insert(spec), {})
    blobs.write(session, actor.tenant_id, spec, key, apart)
    hooks.after_create(session, actor, spec, row)
    return key


def replace_entity(
    session: Session,
    actor: Actor,
    spec: EntitySpec,
    key: uuid.UUID,
    payload: Any,
    *,
    partial: bool = False,
    if_match: frozenset[int] | None = None,
) -> None:
    """PUT: the body is the whole entity; omitted properties return to their defaults (docs/api.md).
    PATCH (``partial``): omitted properties keep their current values.

    ``if_match``: the row versions the client's ``If-Match`` accepts; None means unconditional.
    """
    _refuse_writes_to_read_only(spec)
    payload = embedding.resolve(session, actor, spec, payload, _upserter(session, actor))
    given_id, values = read_payload(spec, payload)
    if given_id is not None and given_id != key:
        raise InvalidInput(
            f"The body's id {given_id} differs from the id in the URL {key}.",
            code="KeyMismatch",
            target="id",
        )
    current = _lock(session, actor, spec, key, if_match)
    if current.get("sys_logical_delete"):
        raise Conflict(f"{spec.name} {key} was deleted and cannot be changed.", code="Deleted")
    if partial:
        row = {f.name: current[f.name] for f in spec.writable if not f.apart} | values
    else:
        row = {f.name: f.default for f in spec.writable} | values
        for f in spec.writable:
            if f.default_now and f.name not in values:
                row[f.name] = current[f.name]
    apply_reference_defaults(session, actor, spec, row)
    hooks.before_write(session, actor, spec, row)
    check_required(spec, row)
    check_references(session, actor, spec, row, self_id=key)
    _check_unique(session, actor, spec, key, row, check_id=False)
    hooks.before_update(session, actor, spec, current, row)
    row["row_version"] = current["row_version"] + 1
    apart = blobs.split(spec, row)
    _execute(session, actor, spec, key, changes.UPDATED, row, _update(spec), {"_tenant": actor.tenant_id, "_key": key})
    blobs.write(session, actor.tenant_id, spec, key, apart)
    hooks.after_update(session, actor, spec, current, row)


def delete_entity(
    session: Session,
    actor: Actor,
    spec: EntitySpec,
    key: uuid.UUID,
    *,
    if_match: frozenset[int] | None = None,
) -> None:
    """DELETE by the entity's policy: hard (if unreferenced), logical, or refused."""
    deletion = spec.options.deletion
    if deletion is Deletion.FORBIDDEN or spec.options.read_only:
        raise NotAllowed(
            spec.options.deletion_hint or f"{spec.name} rows cannot be deleted.",
            code="DeleteNotAllowed",
        )
    current = _lock(session, actor, spec, key, if_match)
    hooks.before_delete(session, actor, spec, current)
    if deletion is Deletion.LOGICAL:
        if current["sys_logical_delete"]:
            raise not_found(spec, key)
        session.execute(
            sa.update(spec.table)
            .where(*_key(spec, actor, key))
            .values(
                sys_logical_delete=True,
                modified_dateutc=changes.stamp(session, actor.tenant_id, spec.table_name, key, changes.DELETED),
                row_version=current["row_version"] + 1,
            )
        )
        return
    referenced = referencing_counts(session, actor, spec, key)
    if referenced:
        raise Conflict(
            f"{spec.name} {key} is still used by "
            + ", ".join(f"{count} {name}" for name, count in referenced)
            + "; remove those references first.",
            code="StillReferenced",
            details=[ErrorDetail("StillReferenced", f"{count} rows", name) for name, count in referenced],
        )
    session.execute(sa.delete(spec.table).where(*_key(spec, actor, key)))
    changes.stamp(session, actor.tenant_id, spec.table_name, key, changes.DELETED)  # the tombstone
    blobs.forget(session, actor.tenant_id, spec, key)


def upsert_node(session: Session, actor: Actor, spec: EntitySpec, node: dict[str, Any]) -> uuid.UUID:
    """A nested object: the row it names (updated only if a supplied property differs), or a new one.

    Two requests embedding the same new code at once: on SQLite writers are serialised; on
    PostgreSQL the loser's insert waits for the winner's unique-index entry, fails, and we
    then find and use the winner's row — one row, and no error for either client.
    """
    embedding.needs_key(spec, node)
    existing = embedding.locate(session, actor, spec, node)
    if existing is None:
        deferred.flush(session)  # earlier requests' rows: the savepoint's rollback must not take them
        connection = session.connection()
        try:
            with connection.begin_nested():  # a Core savepoint: the ORM's costs several times more
                created = create_entity(session, actor, spec, node)
                deferred.flush(session)  # this row's unique-index race surfaces here, inside the savepoint
            return created
        except OdysseeError as error:
            changes.forget_reservations(session)  # the rollback took back the clock's advance too
            if not isinstance(error, Conflict) or error.code != "DuplicateKey":
                raise
            deferred.recovered(session)
            existing = embedding.locate(session, actor, spec, node)
            if existing is None:
                raise
    resolved = embedding.resolve(session, actor, spec, node, _upserter(session, actor))
    if embedding.differs(spec, resolved, existing):
        replace_entity(session, actor, spec, existing["id"], resolved | {"id": str(existing["id"])}, partial=True)
    return existing["id"]  # type: ignore[no-any-return]


def _upserter(session: Session, actor: Actor) -> embedding.Upsert:
    return lambda spec, node: upsert_node(session, actor, spec, node)


def next_number(session: Session, tenant_id: int, name: str) -> int:
    """The next per-tenant running number; the counter row is locked until the transaction ends."""
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(Counter)
    statement = insert.values(tenant_id=tenant_id, name=name, value=1).on_conflict_do_update(
        index_elements=["tenant_id", "name"], set_={"value": Counter.value + 1}
    )
    return int(session.execute(statement.returning(Counter.value)).scalar_one())


def not_found(spec: EntitySpec, key: uuid.UUID) -> NotFound:
    return NotFound(f"There is no {spec.name} with id {key}.", code="NotFound")


def _key(spec: EntitySpec, actor: Actor, key: uuid.UUID) -> tuple[sa.ColumnElement[bool], ...]:
    return spec.table.c.tenant_id == actor.tenant_id, spec.table.c.id == key


def _lock(
    session: Session,
    actor: Actor,
    spec: EntitySpec,
    key: uuid.UUID,
    if_match: frozenset[int] | None = None,
) -> Row:
    """The current row, locked until the transaction ends; checked against ``If-Match`` under the lock."""
    row = session.execute(sa.select(spec.table).where(*_key(spec, actor, key)).with_for_update()).mappings().first()
    if row is None:
        raise not_found(spec, key)
    if if_match is not None and row["row_version"] not in if_match:
        raise PreconditionFailed(
            f"{spec.name} {key} has changed since you read it (If-Match does not match its current ETag); "
            "read it again and reapply your change.",
            code="PreconditionFailed",
        )
    return dict(row)


def _refuse_writes_to_read_only(spec: EntitySpec) -> None:
    if spec.options.read_only:
        raise NotAllowed(
            f"{spec.name} is read-only: its rows are maintained by the server.",
            code="ReadOnlyEntity",
        )


def _apply_clock_defaults(spec: EntitySpec, row: Row, given: Row) -> None:
    now = utcnow()
    for f in spec.writable:
        if f.default_now and f.name not in given:
            row[f.name] = now


def _check_unique(
    session: Session,
    actor: Actor,
    spec: EntitySpec,
    key: uuid.UUID,
    row: Row,
    *,
    check_id: bool,
) -> None:
    """Give a precise 409 for a duplicate id or ERP key before the database refuses it.

    ``check_id``: only for an id the client chose; one the server drew (``uuid4``) cannot be
    taken, and looking cost a query per create.
    """
    connection = session.connection()
    if check_id and connection.execute(_id_taken(spec), {"tenant": actor.tenant_id, "key": key}).first():
        raise Conflict(
            f"A {spec.name} with id {key} already exists.",
            code="DuplicateKey",
            target="id",
        )
    keys = ([spec.options.erp_key] if spec.options.erp_key else []) + list(spec.options.unique)
    for name in keys:
        value = row.get(name, "")
        if not value:
            continue
        clash = connection.execute(
            _value_taken(spec, name), {"tenant": actor.tenant_id, "value": value, "key": key}
        ).scalar()
        if clash is not None:
            raise Conflict(
                f"Another {spec.name} ({clash}) already has {name} '{value}'.",
                code="DuplicateKey",
                target=name,
                details=[ErrorDetail("DuplicateKey", f"{name} must be unique", name)],
            )


@functools.cache
def _id_taken(spec: EntitySpec) -> sa.Select[Any]:
    table = spec.table
    return sa.select(table.c.id).where(
        table.c.tenant_id == sa.bindparam("tenant"), table.c.id == sa.bindparam("key", type_=table.c.id.type)
    )


@functools.cache
def _value_taken(spec: EntitySpec, name: str) -> sa.Select[Any]:
    """Another row of the tenant with this value of a unique column (built once per column, like
    every statement a write runs each time)."""
    table = spec.table
    return sa.select(table.c.id).where(
        table.c.tenant_id == sa.bindparam("tenant"),
        table.c[name] == sa.bindparam("value", type_=table.c[name].type),
        table.c.id != sa.bindparam("key", type_=table.c.id.type),
    )


@functools.cache
def _insert(spec: EntitySpec) -> sa.Insert:
    """Built once per entity set; the row's values are the execution's parameters."""
    return sa.insert(spec.table)


@functools.cache
def _update(spec: EntitySpec) -> sa.Update:
    """One row of one tenant, named by the ``_tenant`` and ``_key`` parameters (prefixed: the
    other parameters are the columns set)."""
    table = spec.table
    return sa.update(table).where(
        table.c.tenant_id == sa.bindparam("_tenant"), table.c.id == sa.bindparam("_key", type_=table.c.id.type)
    )


def _execute(
    session: Session,
    actor: Actor,
    spec: EntitySpec,
    key: uuid.UUID,
    event: str,
    row: Row,
    statement: sa.Insert | sa.Update,
    where: dict[str, Any],
) -> None:
    """Stamp the row (domain/changes.py) and write it; a uniqueness race lost to a concurrent
    writer is a 409, never a 500.

    No savepoint: a failed write fails the request, and its transaction (or the ``$batch``
    atomicity group sharing it) is rolled back whole, the change event with it. Only
    :func:`upsert_node`, which goes on after losing such a race, takes one. An insert inside a
    ``$batch`` group is queued and written with its neighbours (domain/deferred.py).
    """
    if isinstance(statement, sa.Insert):
        changes.insert_stamped(session, actor.tenant_id, statement, row, event, _describe(spec))
        return
    row["modified_dateutc"] = changes.stamp(session, actor.tenant_id, spec.table_name, key, event)
    try:
        session.connection().execute(statement, row | where)
    except IntegrityError as error:
        raise _describe(spec)(error) from None


@functools.cache
def _describe(spec: EntitySpec) -> deferred.Describe:
    return deferred.conflict(spec.name)
