"""Change stamps: ``modified_dateutc`` values that a poller can trust (docs/change-feed.md).

The seed's export recipe polls ``modified_dateutc gt <last value>`` and saves the last value
after each row. That loses rows when (a) two rows share a value and the client stops between
them, or (b) a transaction commits a value older than one a poller already read. So every
write takes its stamp here, and a stamp is

* **unique and increasing per tenant and table**: the ``change_clock`` row of (tenant, table)
  hands out ``max(last + 1 ms, now)``;
* **in commit order**: taking a stamp updates that clock row, whose lock is held until the
  transaction ends. A second writer of the same tenant's table waits at its stamp until the
  first commits, then gets a larger one. So when a poller can read a row with stamp S, every
  stamp below S of that table is already committed (or was rolled back and never existed).

Other tenants and other tables never wait. The same statement works on SQLite, whose single
writer makes commit order trivial, and on PostgreSQL with any number of API processes.

Each stamp also writes a ``change_event`` row in the same transaction: the outbox webhooks are
delivered from, and the tombstone a hard delete leaves for delta readers.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from odyssee.db import direct
from odyssee.domain import deferred
from odyssee.model.conventions import NULL_DATE, utcnow
from odyssee.model.errors import Gone
from odyssee.model.registry import registry
from odyssee.model.system import ChangeClock, ChangeEvent, ChangeHorizon, WebhookCursor

CREATED = "created"
UPDATED = "updated"
DELETED = "deleted"
EVENTS = (CREATED, UPDATED, DELETED)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


@functools.cache
def _clock_statement(dialect: str, prefix: str = "") -> sa.Insert:
    """``max(last + count, now + count - 1)``, as one upsert returning the new last stamp; built
    once per engine kind, as every write runs it. ``prefix`` names its parameters apart from the
    columns of a statement it is part of (:func:`_stamped_insert_statement`)."""
    clock: sa.Table = ChangeClock.__table__  # type: ignore[assignment]
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    larger = sa.func.greatest if dialect == "postgresql" else sa.func.max
    last = sa.bindparam(f"{prefix}last", type_=clock.c.last_ms.type)
    count = sa.bindparam(f"{prefix}count", type_=clock.c.last_ms.type)
    return (
        insert(clock)
        .values(
            tenant_id=sa.bindparam(f"{prefix}tenant_id", type_=clock.c.tenant_id.type),
            table_name=sa.bindparam(f"{prefix}table_name", type_=clock.c.table_name.type),
            last_ms=last,
        )
        .on_conflict_do_update(
            index_elements=["tenant_id", "table_name"],
            set_={"last_ms": larger(clock.c.last_ms + count, last)},
        )
        .returning(clock.c.last_ms)
    )


@functools.cache
def _stamped_event_statement(prefix: str = "") -> sa.Insert:
    """PostgreSQL, one stamp: the clock upsert of :func:`_clock_statement` and the change event it
    stamps in one statement (a data-modifying CTE), one round trip where a single write took two.
    The stamp is computed from the clock's milliseconds exactly (integer interval arithmetic)."""
    clock = _clock_statement("postgresql", prefix)
    taken = clock.returning(*clock.table.c["tenant_id", "table_name"]).cte("clock")
    event: sa.Table = ChangeEvent.__table__  # type: ignore[assignment]
    millisecond: Any = sa.literal_column("INTERVAL '1 millisecond'")
    stamp: Any = sa.literal_column("TIMESTAMPTZ 'epoch'") + taken.c.last_ms * millisecond
    rows = sa.select(
        taken.c.tenant_id,
        taken.c.table_name,
        sa.type_coerce(stamp, event.c.stamp.type),
        sa.bindparam(f"{prefix}entity_id", type_=event.c.entity_id.type),
        sa.bindparam(f"{prefix}event", type_=event.c.event.type),
    )
    return (
        sa.insert(event)
        .from_select(["tenant_id", "table_name", "stamp", "entity_id", "event"], rows)
        .returning(event.c.stamp)
    )


@functools.cache
def _column_defaults(table: sa.Table) -> dict[str, Any] | None:
    """The table's Python-side column defaults, all constants (model/base.py); None if one is not,
    which :func:`_stamped_insert_statement` could not apply."""
    defaults: dict[str, Any] = {}
    for column in table.c:
        default = column.default
        if default is None:
            continue
        if not isinstance(default, ScalarElementColumnDefault):
            return None
        defaults[column.key] = default.arg
    return defaults


_STAMP = "_stamp_"
"""The prefix of the stamp's parameters in a statement whose other parameters are a row's columns."""


@functools.cache
def _stamped_insert_statement(table: sa.Table, names: tuple[str, ...]) -> sa.Insert:
    """PostgreSQL, one new row: the clock upsert, its change event and the row, stamped, in one
    statement, one round trip where :func:`_stamped_event_statement` and the insert were two. The
    columns ``names`` are parameters of the same names; built once per table and column set."""
    event = _stamped_event_statement(_STAMP).cte("event")
    # With DML in its CTEs SQLAlchemy applies no column default of the table (they are lost with
    # the CTEs' own defaults), so every column that has one is among ``names`` (_column_defaults).
    values: dict[str, Any] = {name: sa.bindparam(name, type_=table.c[name].type) for name in names}
    values["modified_dateutc"] = sa.select(event.c.stamp).scalar_subquery()
    return sa.insert(table).values(values).returning(table.c.modified_dateutc)


_EVENT = sa.insert(ChangeEvent.__table__)  # type: ignore[arg-type]
_CLOCKS = "odyssee_clocks"
_describe_event = deferred.conflict("change event")


class _Clocks:
    """One transaction's stamp reservations, kept in ``session.info`` and valid for that transaction only."""

    def __init__(self, transaction: object) -> None:
        self.transaction = transaction
        self.reserved: dict[tuple[int, str], tuple[int, int]] = {}
        """(tenant, table) → (first, last) stamps in ms reserved on the locked clock row, not yet used."""
        self.expected: dict[str, int] = {}


def _clocks(session: Session) -> _Clocks:
    """This transaction's reservations. A session that runs several transactions one after the
    other must not carry stamps over: the next one has not locked the clock row."""
    transaction = session.get_transaction()
    found: _Clocks | None = session.info.get(_CLOCKS)
    if found is None or found.transaction is not transaction:
        found = session.info[_CLOCKS] = _Clocks(transaction)
    return found


def expect(session: Session, table: str, count: int) -> None:
    """Announce that this transaction will take about ``count`` stamps of ``table`` (a ``$batch``
    group knows how many of its requests address each entity set): the first stamp then reserves
    them all with one clock upsert instead of one upsert per request."""
    expected = _clocks(session).expected
    expected[table] = max(expected.get(table, 0), count)


def forget_reservations(session: Session) -> None:
    """Drop the reserved, unused stamps: a savepoint that took them was rolled back, and with it
    the clock row's advance, so handing them out would repeat stamps of the next transaction."""
    _clocks(session).reserved.clear()


def stamps(session: Session, tenant_id: int, table: str, entity_ids: Sequence[uuid.UUID], event: str) -> list[datetime]:
    """One stamp per entity, consecutive, for rows of ``table`` this transaction writes; records the events.

    Stamps come from a block this transaction reserved on the clock row (at least ``count``, or
    what :func:`expect` announced). The clock row stays locked until the transaction ends, and
    reserved stamps are all above what any committed transaction used and below what any later
    one will get, so the guarantees of the module docstring hold; unused stamps are gaps, which
    pollers never rely on. The clock may run up to the reserved count of milliseconds ahead of
    the wall clock, as it already did for one large multi-row write.
    """
    count = len(entity_ids)
    if count == 0:
        return []
    clocks = _clocks(session)
    if count == 1 and _taken_alone(session, clocks, tenant_id, table):  # one round trip
        parameters = _single_stamp_parameters(tenant_id, table, entity_ids[0], event)
        return [_returned(session, _stamped_event_statement(), parameters)]
    reserved = clocks.reserved
    first, last = reserved.get((tenant_id, table), (1, 0))
    if last - first + 1 < count:
        want = max(count, clocks.expected.pop(table, 0))
        parameters = {"tenant_id": tenant_id, "table_name": table, "last": to_ms(utcnow()) + want - 1, "count": want}
        last = int(_returned(session, _clock_statement(session.connection().dialect.name), parameters))
        first = last - want + 1
    reserved[(tenant_id, table)] = (first + count, last)
    moments = [from_ms(ms) for ms in range(first, first + count)]
    events = [
        {"tenant_id": tenant_id, "table_name": table, "stamp": moment, "entity_id": entity_id, "event": event}
        for entity_id, moment in zip(entity_ids, moments, strict=True)
    ]
    if deferred.pending(session) is None:
        session.connection().execute(_EVENT, events)
    else:
        for row in events:
            deferred.insert(session, _EVENT, row, _describe_event, last=True)
    return moments


def stamp(session: Session, tenant_id: int, table: str, entity_id: uuid.UUID, event: str) -> datetime:
    """The ``modified_dateutc`` for one row this transaction writes (see the module docstring)."""
    return stamps(session, tenant_id, table, [entity_id], event)[0]


def insert_stamped(
    session: Session, tenant_id: int, statement: sa.Insert, row: dict[str, Any], event: str, describe: deferred.Describe
) -> None:
    """Insert ``row`` (its ``id`` a new row's) with ``statement``, stamped: ``row["modified_dateutc"]``
    is set to its :func:`stamp`. A lost uniqueness race is ``describe``'s error.

    On PostgreSQL, when the stamp needs the clock (no reserved block, nothing queued), the stamp
    and the row are written by one statement (:func:`_stamped_insert_statement`): a single
    create's statements were its largest cost in the API process (docs/performance.md).
    """
    table = statement.table
    assert isinstance(table, sa.Table)
    defaults = _column_defaults(table)
    if defaults is None or not _taken_alone(session, _clocks(session), tenant_id, table.name):
        row["modified_dateutc"] = stamp(session, tenant_id, table.name, row["id"], event)
        deferred.insert(session, statement, row, describe)
        return
    values = defaults | row
    values.pop("modified_dateutc", None)
    parameters = values | _single_stamp_parameters(tenant_id, table.name, row["id"], event, _STAMP)
    try:
        found = _returned(session, _stamped_insert_statement(table, tuple(values)), parameters)
    except IntegrityError as error:
        raise describe(error) from None
    row["modified_dateutc"] = found


def _returned(session: Session, statement: sa.Insert, parameters: dict[str, Any]) -> Any:
    """The one value ``statement`` returns (a clock upsert, a stamped insert), executed straight on
    the driver (db/direct.py): every write runs one of these, and SQLAlchemy's execution of it
    cost more of the API's time than the round trip (docs/performance.md)."""
    _names, rows = direct.fetch(session.connection(), statement, parameters)
    (row,) = rows
    return row[0]


def _taken_alone(session: Session, clocks: _Clocks, tenant_id: int, table: str) -> bool:
    """Whether the next stamp of ``table`` comes from the clock inside the statement that needs it:
    no block reserved on the clock row or announced (:func:`expect`) for it, PostgreSQL's
    data-modifying CTEs, and no ``$batch`` queue whose rows must be written in order first. An
    announcement of one stamp is used up here."""
    first, last = clocks.reserved.get((tenant_id, table), (1, 0))
    if last >= first or clocks.expected.get(table, 0) > 1:
        return False
    if session.connection().dialect.name != "postgresql" or deferred.pending(session) is not None:
        return False
    clocks.expected.pop(table, None)
    return True


def _single_stamp_parameters(
    tenant_id: int, table: str, entity_id: uuid.UUID, event: str, prefix: str = ""
) -> dict[str, Any]:
    """The parameters of :func:`_stamped_event_statement` for one stamp taken now."""
    values = {"tenant_id": tenant_id, "table_name": table, "last": to_ms(utcnow()), "count": 1}
    return {f"{prefix}{name}": value for name, value in (values | {"entity_id": entity_id, "event": event}).items()}


def high_water(session: Session, tenant_id: int, table: str) -> datetime | None:
    """The largest committed stamp of a tenant's table, or None if it never changed.

    Commit order makes this a safe delta start: nothing at or below it can still appear.
    """
    found: datetime | None = session.execute(
        sa.select(sa.func.max(ChangeEvent.stamp)).where(
            ChangeEvent.tenant_id == tenant_id, ChangeEvent.table_name == table
        )
    ).scalar()
    return found


def update_rows(
    session: Session,
    tenant_id: int,
    table: sa.Table,
    where: Sequence[sa.ColumnElement[bool]],
    values: dict[str, object],
) -> int:
    """``UPDATE table SET values WHERE where`` for one tenant, each row with its own stamp; returns the count.

    A single multi-row UPDATE would give every row the same ``modified_dateutc``, which a
    poller saving its watermark between two of them would lose.
    """
    ids = list(
        session.execute(
            sa.select(table.c.id).where(table.c.tenant_id == tenant_id, *where).order_by(table.c.id)
        ).scalars()
    )
    for entity_id, moment in zip(ids, stamps(session, tenant_id, table.name, ids, UPDATED), strict=True):
        session.execute(
            sa.update(table)
            .where(table.c.tenant_id == tenant_id, table.c.id == entity_id)
            .values(values | {"modified_dateutc": moment, "row_version": table.c.row_version + 1})
        )
    return len(ids)


def committed_high_ms(session: Session, tenant_id: int, table: str) -> int:
    """The last stamp of a tenant's table that is committed, in ms (the clock row as this transaction sees it).

    Never pruned, unlike ``change_event``; read *before* the rows of a delta page, every removal
    committed later has a larger stamp.
    """
    found = session.execute(
        sa.select(ChangeClock.last_ms).where(ChangeClock.tenant_id == tenant_id, ChangeClock.table_name == table)
    ).scalar()
    return int(found) if found is not None else to_ms(NULL_DATE)


def horizon(session: Session, tenant_id: int, table: str) -> tuple[int, int]:
    """``(events_ms, tombstones_ms)``: the largest pruned stamp of any event / of a ``deleted`` one (0 if none)."""
    row = session.execute(
        sa.select(ChangeHorizon.events_ms, ChangeHorizon.tombstones_ms).where(
            ChangeHorizon.tenant_id == tenant_id, ChangeHorizon.table_name == table
        )
    ).first()
    return (int(row[0]), int(row[1])) if row is not None else (0, 0)


def check_tombstones_kept(session: Session, tenant_id: int, table: str, since_ms: int, entity_set: str) -> None:
    """Gone (410) when hard-delete tombstones after ``since_ms`` may have been pruned.

    Read *after* the tombstones themselves: on PostgreSQL each statement sees the commits before
    it, so a prune committing between the two reads is seen here rather than missed.
    """
    if since_ms < horizon(session, tenant_id, table)[1]:
        raise Gone(
            f"This $deltatoken for {entity_set} is older than the change history the server keeps "
            "(deletions before it were pruned): start again with Prefer: odata.track-changes.",
            code="DeltaTokenExpired",
            target="$deltatoken",
        )


def prune_limit(session: Session, tenant_id: int, table: str, cutoff: datetime) -> datetime:
    """The newest stamp of a tenant's table that may be pruned: ``cutoff``, or earlier if an active
    webhook subscription has not delivered past it yet (its cursor)."""
    subscriptions = registry().by_table("webhook_subscription").table
    undelivered = session.execute(
        sa.select(sa.func.min(WebhookCursor.last_stamp))
        .join(
            subscriptions,
            sa.and_(
                subscriptions.c.tenant_id == WebhookCursor.tenant_id,
                subscriptions.c.id == WebhookCursor.subscription_id,
            ),
        )
        .where(WebhookCursor.tenant_id == tenant_id, WebhookCursor.table_name == table, subscriptions.c.is_active)
    ).scalar()
    return min(cutoff, undelivered) if undelivered is not None else cutoff


def prune_batch(session: Session, tenant_id: int, table: str, limit: datetime, size: int) -> int:
    """Delete at most ``size`` of the oldest events of a tenant's table stamped ``<= limit``; how many.

    The horizon moves forward in the same transaction as the delete, so no reader can see the
    events gone but the horizon not yet moved.
    """
    oldest = (
        sa.select(ChangeEvent.stamp, ChangeEvent.event)
        .where(ChangeEvent.tenant_id == tenant_id, ChangeEvent.table_name == table, ChangeEvent.stamp <= limit)
        .order_by(ChangeEvent.stamp)
        .limit(size)
        .subquery()
    )
    count, last, last_tombstone = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.max(oldest.c.stamp),
            sa.func.max(sa.case((oldest.c.event == DELETED, oldest.c.stamp))),
        )
    ).one()
    if not count:
        return 0
    events_ms = to_ms(last)
    tombstones_ms = to_ms(last_tombstone) if last_tombstone is not None else 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    larger = sa.func.greatest if dialect == "postgresql" else sa.func.max
    statement = insert(ChangeHorizon).values(
        tenant_id=tenant_id, table_name=table, events_ms=events_ms, tombstones_ms=tombstones_ms
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["tenant_id", "table_name"],
            set_={
                "events_ms": larger(ChangeHorizon.events_ms, events_ms),
                "tombstones_ms": larger(ChangeHorizon.tombstones_ms, tombstones_ms),
            },
        )
    )
    session.execute(
        sa.delete(ChangeEvent).where(
            ChangeEvent.tenant_id == tenant_id, ChangeEvent.table_name == table, ChangeEvent.stamp <= last
        )
    )
    return int(count)
