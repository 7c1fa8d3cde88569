"""The declarative base of every table, and the column helpers entity modules are written with.

An entity is one class in ``model/entities/``. Everything else — the SQL table, the Alembic
migration, ``$filter`` binding, request validation, serialisation, the generic controller and
the OpenAPI document — is derived from that class by :mod:`odyssee.model.registry`.

Column helpers encode the spec's conventions once: every column is ``NOT NULL`` with the
documented default (``false``, ``0``, ``""``, 1980-01-01, the empty GUID), string columns carry
their documented max length, and facts the API needs (required, read-only, which entity a
foreign key points to) travel in ``Column.info``.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from odyssee.model.conventions import EMPTY_GUID, NULL_DATE
from odyssee.model.types import Guid, Money, UtcDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


class Base(DeclarativeBase):
    """Every table, exposed or internal."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class Deletion(enum.Enum):
    """What ``DELETE /api/<Controller>(id)`` does for an entity (reference.md §2.2, §3.4)."""

    HARD = "hard"
    """The row is removed; refused with 409 while other rows still reference it."""
    LOGICAL = "logical"
    """``sys_logical_delete`` is set and ``modified_dateutc`` bumped, so pollers see the delete."""
    FORBIDDEN = "forbidden"
    """The spec says this entity is archived, never deleted: 405 with the reason."""


@dataclass(frozen=True)
class EntityOptions:
    """Per-entity facts that are not columns."""

    erp_key: str | None = None
    """The column an ERP uses as its key (``code`` or ``reference_back_office``); unique per tenant when not empty."""
    deletion: Deletion = Deletion.HARD
    deletion_hint: str = ""
    """Shown to a client whose DELETE is refused, e.g. "archive the company instead"."""
    read_only: bool = False
    """Rows are maintained by the server (e.g. the system job statuses): GET only."""
    numbered: bool = False
    """The entity has ``id2``, a per-tenant running number people quote ("Job #41")."""
    unique: tuple[str, ...] = ()
    """Further columns unique per tenant when not empty."""
    description: str = ""


class Entity(Base):
    """An entity exposed by the API. Subclasses declare columns with the helpers below.

    The table's primary key is ``(tenant_id, id)``: a tenant (the Basic-auth *domain*) can never
    see or collide with another tenant's rows. ``tenant_id`` is never exposed.
    """

    __abstract__ = True
    odata: ClassVar[EntityOptions] = EntityOptions()

    tenant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("tenant.id", ondelete="CASCADE"),
        primary_key=True,
        sort_order=-20,
        info={"hidden": True},
    )
    id: Mapped[uuid.UUID] = mapped_column(
        Guid,
        primary_key=True,
        sort_order=-10,
        info={"doc": "Primary key. May be supplied by the client on create."},
    )
    modified_dateutc: Mapped[datetime] = mapped_column(
        UtcDateTime,
        nullable=False,
        sort_order=1000,
        server_default=sa.text("'1980-01-01 00:00:00.000000'"),
        info={
            "read_only": True,
            "doc": "UTC time of the last insert or update, set by the server.",
        },
    )

    row_version: Mapped[int] = mapped_column(
        sa.Integer,
        nullable=False,
        sort_order=1001,
        server_default=sa.text("1"),
        info={"hidden": True, "doc": 'Incremented by every write; the entity\'s ETag (W/"<n>").'},
    )

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:  # noqa: N805 - declarative directive
        table = cls.__tablename__
        args: list[Any] = [sa.Index(f"ix_{table}_delta", "tenant_id", "modified_dateutc", "id")]
        keys = ([cls.odata.erp_key] if cls.odata.erp_key else []) + list(cls.odata.unique)
        for key in keys:
            args.append(
                sa.Index(
                    f"uq_{table}_{key}",
                    "tenant_id",
                    key,
                    unique=True,
                    sqlite_where=sa.text(f"{key} <> ''"),
                    postgresql_where=sa.text(f"{key} <> ''"),
                )
            )
        return tuple(args)


def _info(doc: str | None, **facts: Any) -> dict[str, Any]:
    info = {key: value for key, value in facts.items() if value is not None and value is not False}
    if doc:
        info["doc"] = doc
    return info


def string(
    max_length: int | None = None,
    *,
    required: bool = False,
    read_only: bool = False,
    write_only: bool = False,
    doc: str | None = None,
) -> Any:
    """A text column, ``""`` when unset. ``max_length=None`` means unbounded text.

    ``write_only``: a secret (a webhook's signing key): accepted in bodies, never returned or queryable.
    """
    column_type: sa.types.TypeEngine[str] = sa.String(max_length) if max_length else sa.Text()
    return mapped_column(
        column_type,
        nullable=False,
        default="",
        server_default="",
        info=_info(doc, required=required, read_only=read_only, write_only=write_only),
    )


def flag(default: bool = False, *, read_only: bool = False, doc: str | None = None) -> Any:
    """A boolean column."""
    return mapped_column(
        sa.Boolean,
        nullable=False,
        default=default,
        server_default=sa.text("true" if default else "false"),
        info=_info(doc, read_only=read_only, default=default),
    )


def _number(
    column_type: Any, required: bool, read_only: bool, minimum: float | None, maximum: float | None, doc: str | None
) -> Any:
    return mapped_column(
        column_type,
        nullable=False,
        default=0,
        server_default="0",
        info=_info(doc, required=required, read_only=read_only, minimum=minimum, maximum=maximum),
    )


def integer(
    *,
    required: bool = False,
    read_only: bool = False,
    minimum: int | None = None,
    maximum: int | None = None,
    doc: str | None = None,
) -> Any:
    """A 32-bit integer column, 0 when unset."""
    return _number(sa.Integer, required, read_only, minimum, maximum, doc)


def decimal(
    *,
    required: bool = False,
    read_only: bool = False,
    minimum: float | None = None,
    maximum: float | None = None,
    doc: str | None = None,
) -> Any:
    """A decimal (quantity, price) column, 0 when unset."""
    return _number(Money, required, read_only, minimum, maximum, doc)


def timestamp(
    *,
    required: bool = False,
    read_only: bool = False,
    default_now: bool = False,
    doc: str | None = None,
) -> Any:
    """A UTC datetime column, 1980-01-01T00:00:00Z when unset (or the server's clock with ``default_now``)."""
    return mapped_column(
        UtcDateTime,
        nullable=False,
        default=NULL_DATE,
        server_default=sa.text("'1980-01-01 00:00:00.000000'"),
        info=_info(doc, required=required, read_only=read_only, default_now=default_now),
    )


def guid(*, required: bool = False, read_only: bool = False, doc: str | None = None) -> Any:
    """A GUID that is not a foreign key of ours (e.g. ``db_file.id_in_table``)."""
    return mapped_column(
        Guid,
        nullable=False,
        default=EMPTY_GUID,
        server_default=str(EMPTY_GUID),
        info=_info(doc, required=required, read_only=read_only),
    )


def reference(
    target_table: str,
    *,
    required: bool = False,
    read_only: bool = False,
    default: uuid.UUID | None = None,
    doc: str | None = None,
) -> Any:
    """A foreign key ``<target_table>_id``: the empty GUID or the id of a row of the same tenant.

    There is no SQL foreign-key constraint because the spec's "no reference" value is the empty
    GUID, not NULL; the domain layer checks existence (and locks the target on PostgreSQL)
    inside the writing transaction. ``required=True`` means the spec's "Optionally required":
    a value must be given, or the target table's ``is_default`` row is used. ``default`` is the
    row used when the client names none (e.g. a new job is Open).
    """
    return mapped_column(
        Guid,
        nullable=False,
        default=default or EMPTY_GUID,
        server_default=str(EMPTY_GUID),
        index=True,
        info=_info(
            doc,
            required=required,
            read_only=read_only,
            references=target_table,
            default=default,
        ),
    )


@dataclass(frozen=True)
class StoredApart:
    """A binary property kept in the blob store (``model/system.py`` ``Blob``), not in its entity's table.

    Why: file bytes in a hot table make every scan, index lookup and row lock of that table drag
    megabytes along. Apart, a listing of files reads small rows, and the bytes are fetched only
    for the rows and properties a client asked for (docs/files.md). The API still shows the
    property as an ordinary ``Edm.Binary`` (base64 in JSON).
    """

    doc: str = ""


def stored_apart(*, doc: str = "") -> Any:
    """Declare a binary property whose bytes live in the blob store (``x: ClassVar[StoredApart] = stored_apart()``)."""
    return StoredApart(doc)


def binary(*, doc: str | None = None) -> Any:
    """Bytes, exchanged as base64 in JSON."""
    return mapped_column(
        sa.LargeBinary,
        nullable=False,
        default=b"",
        server_default=sa.text("''"),
        info=_info(doc),
    )
