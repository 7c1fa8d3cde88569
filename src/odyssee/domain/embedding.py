"""Embedded codes and embedded entities (reference.md §3.5): one call per ERP object.

Every foreign key ``X_id`` of every entity may instead be given as

* ``X_<key>`` — the target's ERP key (``company_code``, ``project_reference_back_office``): the
  row must exist, else 422;
* ``X`` — a nested object: looked up by its ``id`` or ERP key, inserted when missing, updated
  when a supplied property differs (and only then), itself free to embed further.

Several forms for one key must name the same row (``X_id`` wins, as the spec's step 1 says;
a code or node beside it is only checked). The helper properties are write-only: they are
consumed here and never stored or returned; the response shows the resolved ``X_id``.
Everything is derived from the registry, so a new entity or foreign key needs no code here.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from odyssee.domain.actor import Actor
from odyssee.domain.validation import read_payload
from odyssee.model.conventions import EMPTY_GUID
from odyssee.model.errors import ErrorDetail, InvalidInput, OdysseeError, UnknownReference
from odyssee.model.registry import EntitySpec, Field, registry
from odyssee.model.values import parse_guid

Upsert = Callable[[EntitySpec, dict[str, Any]], uuid.UUID]
"""Insert-or-update a nested object of an entity; returns its id (supplied by domain/entities.py)."""


@dataclass(frozen=True)
class Embedding:
    """The three ways to fill one foreign key."""

    foreign_key: Field
    node: str
    """Name of the nested-object form: the to-one navigation property (``company``)."""
    code: str | None
    """Name of the ERP-key form (``company_code``), None when the target has no ERP key."""
    target: EntitySpec

    @property
    def key(self) -> str | None:
        return self.target.options.erp_key


@cache
def embeddings(spec: EntitySpec) -> tuple[Embedding, ...]:
    found = []
    for fk in spec.references:
        assert fk.references is not None
        target = registry().by_table(fk.references)
        node = fk.name.removesuffix("_id")
        key = target.options.erp_key
        code = f"{node}_{key}" if key else None
        if code is not None and spec.field(code) is not None:
            raise LookupError(f"{spec.name}.{code} is a property and cannot also be the embedded code of {fk.name}")
        found.append(Embedding(fk, node, code, target))
    return tuple(found)


def helper_names(spec: EntitySpec) -> set[str]:
    """The write-only property names this entity accepts besides its own."""
    names = set()
    for embedding in embeddings(spec):
        names.add(embedding.node)
        if embedding.code:
            names.add(embedding.code)
    return names


def find(session: Session, actor: Actor, spec: EntitySpec, column: str, value: Any) -> dict[str, Any] | None:
    """The row of ``spec`` whose ``column`` equals ``value`` exactly, in the actor's tenant."""
    table = spec.table
    row = (
        session.execute(sa.select(table).where(table.c.tenant_id == actor.tenant_id, table.c[column] == value))
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


def _conflict(spec: EntitySpec, embedding: Embedding, message: str) -> InvalidInput:
    forms = ", ".join(f for f in (embedding.foreign_key.name, embedding.code, embedding.node) if f)
    return InvalidInput(
        f"The {spec.name} names its {embedding.node} in conflicting ways: {message}. Give one of {forms}.",
        code="ConflictingReference",
        target=embedding.foreign_key.name,
        details=[ErrorDetail("ConflictingReference", message, embedding.foreign_key.name)],
    )


def _by_code(session: Session, actor: Actor, spec: EntitySpec, embedding: Embedding, value: Any) -> uuid.UUID:
    assert embedding.code is not None and embedding.key is not None
    if not isinstance(value, str):
        raise InvalidInput(
            f"{embedding.code} must be a string, got {type(value).__name__}.",
            code="ValidationFailed",
            target=embedding.code,
            details=[ErrorDetail("InvalidType", f"{embedding.code} must be a string", embedding.code)],
        )
    row = find(session, actor, embedding.target, embedding.key, value)
    if row is None:
        message = f"There is no {embedding.target.name} with {embedding.key} '{value}' ({embedding.code})."
        raise UnknownReference(
            message,
            code="UnknownReference",
            target=embedding.code,
            details=[ErrorDetail("UnknownReference", message, embedding.code)],
        )
    return row["id"]  # type: ignore[no-any-return]


def _prefixed(error: OdysseeError, node: str) -> OdysseeError:
    """An error from inside a nested object, with the path to it in its message and targets."""
    details = [ErrorDetail(d.code, d.message, f"{node}.{d.target}" if d.target else node) for d in error.details]
    return type(error)(
        f"In the embedded '{node}': {error.message}",
        code=error.code,
        target=f"{node}.{error.target}" if error.target else node,
        details=details,
    )


def _by_node(upsert: Upsert, spec: EntitySpec, embedding: Embedding, node: Any) -> uuid.UUID:
    if not isinstance(node, dict):
        raise InvalidInput(
            f"{embedding.node} must be an object describing a {embedding.target.name}.",
            code="ValidationFailed",
            target=embedding.node,
            details=[ErrorDetail("InvalidType", f"{embedding.node} must be an object", embedding.node)],
        )
    try:
        return upsert(embedding.target, node)
    except OdysseeError as error:
        raise _prefixed(error, embedding.node) from None


def _given_id(embedding: Embedding, payload: dict[str, Any]) -> uuid.UUID | None:
    raw = payload.get(embedding.foreign_key.name)
    if raw is None or raw == "":
        return None
    try:
        value = parse_guid(raw) if isinstance(raw, str) else None
    except ValueError:
        return None  # read_payload reports the malformed GUID with its usual message
    return value if value != EMPTY_GUID else None


def resolve(session: Session, actor: Actor, spec: EntitySpec, payload: Any, upsert: Upsert) -> Any:
    """``payload`` with every embedded code or node replaced by the foreign key it names."""
    if not isinstance(payload, dict):
        return payload
    result = dict(payload)
    for embedding in embeddings(spec):
        code_value = result.pop(embedding.code, None) if embedding.code else None
        node_value = result.pop(embedding.node, None)
        if code_value == "":
            code_value = None
        given = _given_id(embedding, result)
        from_node = None
        if node_value is not None:
            if given is None:
                from_node = _by_node(upsert, spec, embedding, node_value)
            else:  # the id wins: the node is only checked against it, never applied
                located = locate(session, actor, embedding.target, node_value) if isinstance(node_value, dict) else None
                from_node = located["id"] if located is not None else None
                if from_node is None:
                    raise _conflict(spec, embedding, f"{embedding.node} names no existing row, but the id is {given}")
        from_code = _by_code(session, actor, spec, embedding, code_value) if code_value is not None else None
        chosen = given or from_node or from_code
        if chosen is None:
            continue
        for other, label in ((from_node, embedding.node), (from_code, f"{embedding.code} '{code_value}'")):
            if other is not None and other != chosen:
                raise _conflict(spec, embedding, f"{label} is {other}, not {chosen}")
        result[embedding.foreign_key.name] = str(chosen)
    return result


def locate(session: Session, actor: Actor, spec: EntitySpec, node: dict[str, Any]) -> dict[str, Any] | None:
    """The existing row a nested object stands for: by its ``id``, else by its ERP key."""
    given_id, values = read_payload(spec, {k: v for k, v in node.items() if k == "id" or k == spec.options.erp_key})
    if given_id is not None:
        return find(session, actor, spec, "id", given_id)
    key = spec.options.erp_key
    if key and values.get(key):
        return find(session, actor, spec, key, values[key])
    return None


def needs_key(spec: EntitySpec, node: dict[str, Any]) -> None:
    """A nested object of a keyed entity must say which row it is, or every call would add one."""
    key = spec.options.erp_key
    if key and not node.get(key) and not node.get("id"):
        raise InvalidInput(
            f"An embedded {spec.name} needs its {key} (or id) so that it can be found again.",
            code="ValidationFailed",
            target=key,
            details=[ErrorDetail("Required", f"{key} is required to embed a {spec.name}", key)],
        )


def differs(spec: EntitySpec, node: dict[str, Any], current: dict[str, Any]) -> bool:
    """Whether any property the nested object supplies differs from the stored row."""
    _given_id, values = read_payload(spec, node)
    return any(current.get(name) != value for name, value in values.items())
