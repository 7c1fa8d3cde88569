"""A read-only view of the entity model, shaped for the layers that consume it.

Built once from the declarative classes in ``model/entities``; nothing here is declared by
hand. The OData, validation, controller and OpenAPI code only ever ask this registry.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from typing import Any

import sqlalchemy as sa

from odyssee.model import entities
from odyssee.model.base import Entity, EntityOptions, StoredApart
from odyssee.model.conventions import EMPTY_GUID, NULL_DATE
from odyssee.model.types import Guid, Money, UtcDateTime


class Kind(enum.Enum):
    """The value kinds of the API, with their OData (Edm) type names."""

    GUID = "Edm.Guid"
    STRING = "Edm.String"
    BOOLEAN = "Edm.Boolean"
    INT32 = "Edm.Int32"
    DECIMAL = "Edm.Decimal"
    DATETIME = "Edm.DateTimeOffset"
    BINARY = "Edm.Binary"


DEFAULTS: dict[Kind, Any] = {
    Kind.GUID: EMPTY_GUID,
    Kind.STRING: "",
    Kind.BOOLEAN: False,
    Kind.INT32: 0,
    Kind.DECIMAL: 0.0,
    Kind.DATETIME: NULL_DATE,
    Kind.BINARY: b"",
}


def _kind(column: sa.Column[Any]) -> Kind:
    column_type = column.type
    if isinstance(column_type, UtcDateTime):
        return Kind.DATETIME
    if isinstance(column_type, Money):
        return Kind.DECIMAL
    if isinstance(column_type, Guid):
        return Kind.GUID
    if isinstance(column_type, sa.Boolean):
        return Kind.BOOLEAN
    if isinstance(column_type, sa.Integer):
        return Kind.INT32
    if isinstance(column_type, sa.LargeBinary):
        return Kind.BINARY
    if isinstance(column_type, sa.String):
        return Kind.STRING
    raise TypeError(f"column {column} has a type the API cannot exchange: {column_type!r}")


@dataclass(frozen=True, eq=False)
class Field:
    """One exposed property of an entity. Compared and hashed by identity, like :class:`EntitySpec`:
    fields are made once, and serialisation plans are cached per tuple of them (odata/serialize.py)."""

    name: str
    kind: Kind
    column: sa.Column[Any] = field(repr=False)
    max_length: int | None = None
    required: bool = False
    read_only: bool = False
    references: str | None = None
    """Table name of the entity a foreign key points to."""
    minimum: float | None = None
    maximum: float | None = None
    default: Any = None
    default_now: bool = False
    """A datetime that takes the server's clock when the client gives none."""
    doc: str = ""
    write_only: bool = False
    """A secret: accepted in bodies, never in a response, never in ``$filter``/``$orderby``/``$select``."""
    apart: bool = False
    """Bytes kept in the blob store, not in the table: never a SQL column of ``table``
    (no ``$filter``/``$orderby``); read for the rows that ask for it (domain/blobs.py)."""

    @property
    def is_key(self) -> bool:
        return self.name == "id"


@dataclass(frozen=True)
class Navigation:
    """A navigation property, derived from a foreign key (OData's ``NavigationProperty``).

    ``Jobs.company_id`` gives ``Jobs.company`` (to one, named like the Odyssee embedded node of
    issue 4) and its partner ``Company.jobs`` (to many, the plural of the referencing table;
    ``children`` for a ``parent_id``; ``<plural>_as_<role>`` for any other second-role key).
    """

    name: str
    source: str
    """Table of the entity that has this navigation property."""
    target: str
    """Table of the entity it leads to."""
    foreign_key: str
    """The ``*_id`` column: on ``source`` when ``many`` is false, on ``target`` when it is true."""
    many: bool
    partner: str
    """The name of the navigation property going back."""


@dataclass(frozen=True, eq=False)
class EntitySpec:
    """One entity set: its controller name, table and fields in declaration order.

    Compared and hashed by identity (``eq=False``): specs are built once, and hashing one by value
    would hash every field and column on each ``by_name`` lookup — a hot path on every request.
    The field subsets (``writable``, ``columns``…) are computed once for the same reason: a
    write reads them several times.
    """

    name: str
    """The controller (entity set) name used in URLs and ``@odata.context``: ``Company``, ``Jobs``."""
    table: sa.Table = field(repr=False)
    fields: tuple[Field, ...] = field(repr=False)
    options: EntityOptions = field(repr=False)
    navigations: tuple[Navigation, ...] = field(default=(), repr=False)

    @property
    def table_name(self) -> str:
        return self.table.name

    @property
    def by_name(self) -> dict[str, Field]:
        return _fields_by_name(self)

    def field(self, name: str) -> Field | None:
        return self.by_name.get(name)

    def navigation(self, name: str) -> Navigation | None:
        return next((n for n in self.navigations if n.name == name), None)

    @cached_property
    def writable(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if not f.read_only and not f.is_key)

    @cached_property
    def references(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.references)

    @cached_property
    def columns(self) -> tuple[Field, ...]:
        """The fields that are columns of ``table`` (all but the stored-apart ones)."""
        return tuple(f for f in self.fields if not f.apart)

    @cached_property
    def apart(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.apart)


@cache
def _fields_by_name(spec: EntitySpec) -> dict[str, Field]:
    return {f.name: f for f in spec.fields}


def _field(column: sa.Column[Any]) -> Field:
    info = column.info
    kind = _kind(column)
    default = info.get("default", DEFAULTS[kind]) if kind in (Kind.BOOLEAN, Kind.GUID) else DEFAULTS[kind]
    return Field(
        name=str(column.name),
        kind=kind,
        column=column,
        max_length=getattr(column.type, "length", None) if kind is Kind.STRING else None,
        required=bool(info.get("required")),
        read_only=bool(info.get("read_only")),
        references=info.get("references"),
        minimum=info.get("minimum"),
        maximum=info.get("maximum"),
        default=default,
        default_now=bool(info.get("default_now")),
        doc=info.get("doc", ""),
        write_only=bool(info.get("write_only")),
    )


def _apart_field(name: str, declared: StoredApart) -> Field:
    column: sa.Column[Any] = sa.Column(name, sa.LargeBinary, nullable=False, info={"doc": declared.doc})
    return Field(name=name, kind=Kind.BINARY, column=column, default=b"", doc=declared.doc, apart=True)


def _spec(cls: type[Entity]) -> EntitySpec:
    table = cls.__table__
    assert isinstance(table, sa.Table)
    fields = tuple(_field(column) for column in table.columns if not column.info.get("hidden"))
    fields += tuple(_apart_field(name, value) for name, value in vars(cls).items() if isinstance(value, StoredApart))
    return EntitySpec(name=cls.__name__, table=table, fields=fields, options=cls.odata)


@dataclass(frozen=True)
class Registry:
    specs: tuple[EntitySpec, ...]

    def __iter__(self) -> Iterator[EntitySpec]:
        return iter(self.specs)

    def lookup(self, name: str) -> EntitySpec | None:
        """Find an entity set by controller name, case-insensitively as ASP.NET routing does."""
        return _by_lower_name(self).get(name.lower())

    def by_table(self, table_name: str) -> EntitySpec:
        return _by_table(self)[table_name]

    def referencing(self, target: EntitySpec) -> tuple[tuple[EntitySpec, Field], ...]:
        """Every (entity, foreign key) pair that points at ``target``."""
        return tuple((spec, f) for spec in self.specs for f in spec.references if f.references == target.table_name)


@cache
def _by_lower_name(registry: Registry) -> dict[str, EntitySpec]:
    return {spec.name.lower(): spec for spec in registry.specs}


@cache
def _by_table(registry: Registry) -> dict[str, EntitySpec]:
    return {spec.table_name: spec for spec in registry.specs}


def plural(word: str) -> str:
    """English plural of a table name, enough for ours: ``company`` → ``companies``, ``jobs`` stays."""
    if word.endswith("us"):
        return word + "es"
    if word.endswith("s"):
        return word
    if word.endswith("y") and word[-2:-1] not in tuple("aeiou"):
        return word[:-1] + "ies"
    return word + "s"


def _navigation_pair(source: EntitySpec, fk: Field) -> tuple[Navigation, Navigation]:
    assert fk.references is not None
    to_one = fk.name.removesuffix("_id")
    if fk.name in ("parent_id", "_parent_id"):
        to_many = "children"
    elif fk.name == f"{fk.references}_id":
        to_many = plural(source.table_name)
    else:
        to_many = f"{plural(source.table_name)}_as_{to_one}"
    # str(): SQLAlchemy names are ``quoted_name`` (a str subclass), which orjson refuses as keys.
    to_one, to_many, source_table, fk_name = str(to_one), str(to_many), str(source.table_name), str(fk.name)
    return (
        Navigation(to_one, source_table, fk.references, fk_name, many=False, partner=to_many),
        Navigation(to_many, fk.references, source_table, fk_name, many=True, partner=to_one),
    )


def _with_navigations(specs: list[EntitySpec]) -> list[EntitySpec]:
    tables = {spec.table_name for spec in specs}
    found: dict[str, list[Navigation]] = {spec.table_name: [] for spec in specs}
    for spec in specs:
        for fk in spec.references:
            if fk.references not in tables:
                raise LookupError(f"{spec.name}.{fk.name} references unknown table {fk.references!r}")
            to_one, to_many = _navigation_pair(spec, fk)
            found[to_one.source].append(to_one)
            found[to_many.source].append(to_many)
    result = []
    for spec in specs:
        navigations = tuple(found[spec.table_name])
        names = [n.name for n in navigations] + [f.name for f in spec.fields]
        clashes = {name for name in names if names.count(name) > 1}
        if clashes:
            raise LookupError(f"{spec.name}: navigation names clash with other names: {sorted(clashes)}")
        result.append(replace(spec, navigations=navigations))
    return result


@cache
def registry() -> Registry:
    """The registry of all entities, in controller-name order."""
    classes = [getattr(entities, name) for name in entities.__all__]
    specs = sorted((_spec(cls) for cls in classes), key=lambda spec: spec.name)
    return Registry(tuple(_with_navigations(specs)))


def new_id() -> uuid.UUID:
    return uuid.uuid4()


__all__ = ["DEFAULTS", "EntitySpec", "Field", "Kind", "Navigation", "Registry", "new_id", "plural", "registry"]
