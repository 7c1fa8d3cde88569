"""Internal tables: tenants, login credentials and per-tenant counters. Never exposed over OData."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from odyssee.model.base import Base
from odyssee.model.types import Guid, UtcDateTime


class Tenant(Base):
    """A customer database, named by the *domain* of ``username:password@domain``."""

    __tablename__ = "tenant"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    domain: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    domain_key: Mapped[str] = mapped_column(
        sa.String(100),
        nullable=False,
        unique=True,
        doc="Upper-cased domain: domains are matched case-insensitively.",
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class Credential(Base):
    """A login. API users (``is_api``) stand alone; other logins belong to a ``user`` row (a technician)."""

    __tablename__ = "credential"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "username_key"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenant.id", ondelete="CASCADE"), nullable=False)
    username: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    username_key: Mapped[str] = mapped_column(
        sa.String(255),
        nullable=False,
        doc="Lower-cased username: usernames are e-mail-like and case-insensitive.",
    )
    password_hash: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    is_api: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Guid, nullable=True)
    disabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)


class Counter(Base):
    """Per-tenant running numbers (``jobs.id2`` ...), incremented under a row lock."""

    __tablename__ = "counter"

    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    value: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)


class QueuedTask(Base):
    """A durable background task (the approval PDF ...): rows of the work queue ``odyssee worker`` drains.

    The queue lives in the database so that a task exists iff the transaction that enqueued it
    committed, and survives restarts. A worker claims a task by setting ``status='running'`` and a
    lease (``locked_by``/``locked_until``); a task whose lease expired (its worker was killed) is
    claimable again. ``run_after`` delays retries (exponential backoff).
    """

    __tablename__ = "task_queue"
    __table_args__ = (sa.Index("ix_task_queue_claim", "status", "run_after"),)

    id: Mapped[uuid.UUID] = mapped_column(Guid, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenant.id", ondelete="CASCADE"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(sa.String(50), nullable=False)
    payload: Mapped[str] = mapped_column(sa.Text, nullable=False, doc="JSON object, the task's arguments.")
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, doc="queued, running, done or failed.")
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0, doc="Claims so far.")
    max_attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    run_after: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    locked_by: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    locked_until: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    last_error: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    finished_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class Blob(Base):
    """The bytes of a stored-apart property (``db_file.file_content``), one row per owner row and property.

    Kept out of the entity tables so that listing and filtering them never reads file bytes;
    written in the same transaction as the owner row, so the two never disagree.
    """

    __tablename__ = "blob"

    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True)
    owner_table: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(Guid, primary_key=True)
    property: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary, nullable=False)
    size: Mapped[int] = mapped_column(sa.Integer, nullable=False)


class ChangeClock(Base):
    """The last change stamp handed out per tenant and table, in milliseconds since 1970 (domain/changes.py).

    Taking a stamp updates this row, which holds its lock until the transaction ends: stamps of
    one tenant's table are therefore unique and increase in commit order.
    """

    __tablename__ = "change_clock"

    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True)
    table_name: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    last_ms: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)


class ChangeEvent(Base):
    """One committed change of one row: the outbox webhooks are delivered from, and the tombstones of
    hard-deleted rows that delta readers see as ``@removed``. Written in the changing transaction."""

    __tablename__ = "change_event"

    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True)
    table_name: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    stamp: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True, doc="The row's new modified_dateutc.")
    entity_id: Mapped[uuid.UUID] = mapped_column(Guid, nullable=False)
    event: Mapped[str] = mapped_column(sa.String(20), nullable=False, doc="created, updated or deleted.")


class WebhookCursor(Base):
    """How far a subscription's deliveries got in one table's change events (worker/webhooks.py)."""

    __tablename__ = "webhook_cursor"

    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True)
    subscription_id: Mapped[uuid.UUID] = mapped_column(Guid, primary_key=True)
    table_name: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    last_stamp: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, doc="Events up to here were delivered.")


class ChangeHorizon(Base):
    """How far ``change_event`` of one tenant's table was pruned (worker/retention.py).

    ``events_ms``: the largest stamp of any pruned event — a webhook replay from before it
    cannot be complete. ``tombstones_ms``: the largest stamp of a pruned ``deleted`` event — a
    delta token whose removals position is older may have lost hard deletes and gets 410 Gone.
    Kept apart from ``change_clock`` so pruning never waits on (nor blocks) a writer's clock lock.
    """

    __tablename__ = "change_horizon"

    tenant_id: Mapped[int] = mapped_column(sa.ForeignKey("tenant.id", ondelete="CASCADE"), primary_key=True)
    table_name: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    events_ms: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    tombstones_ms: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)


class LoginEpoch(Base):
    """A counter that every change to ``credential`` or ``tenant`` moves, by trigger (migration 0011).

    An API process on PostgreSQL keeps the login rows it verified (domain/logins.py) with the
    epoch they were read at, and a request of a kept login checks, inside its ``BEGIN``, that the
    epoch has not moved (db/engine.py): a revoked login or rotated password is refused on its next
    request, as when the row is read every time, whoever changed it (the CLI, an operator's SQL)."""

    __tablename__ = "login_epoch"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False, doc="Always 1: one row.")
    epoch: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
