"""Deferred inserts: the rows a ``$batch`` atomicity group creates, written many at a time.

A group of 1000 creates used to send 1000 ``INSERT``s for the rows and 1000 for their change
events, one round trip each. Inside :func:`deferring`, :func:`insert` only queues the row; the
queue is written with one ``executemany`` per run of rows of the same table (and one for all
change events) *before any other statement runs on the transaction's connection* (a
``before_execute`` listener on that connection) and when the block ends. So every read — a
uniqueness check, a reference check, a hook, the echo of a created entity, a delta poll in the
same group — sees exactly what it would have seen had each insert run at once; consecutive
plain creates, between which nothing reads, are what gets batched.

A failing deferred insert (a unique index raced by a concurrent writer, a value the database
refuses) must still be charged to the request that queued it: each queued row carries its
``owner`` (the batch request id), and when a multi-row flush fails it is replayed one row at a
time under a savepoint to find the first failing row. :attr:`Pending.failed_owner` names it and
the error raised is the one that request would have got on its own. The transaction is then
rolled back by the caller, as for any failed request of an atomicity group.

Outside :func:`deferring` (a plain request), :func:`insert` executes at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from odyssee.model.errors import Conflict, InvalidInput, OdysseeError

_KEY = "odyssee_deferred"

Describe = Callable[[IntegrityError], OdysseeError]
"""Turns a lost unique-index race into the error the request gets (409)."""


@dataclass
class _Row:
    statement: sa.Insert
    params: dict[str, Any]
    owner: str | None
    describe: Describe


@dataclass
class Pending:
    """The queue of one transaction's deferred inserts (see the module docstring)."""

    connection: sa.Connection
    owner: str | None = None
    """Charged with the rows queued from now on (the batch sets it to each request's id)."""
    failed_owner: str | None = None
    """The owner of the row whose insert failed, once one has."""
    rows: list[_Row] = field(default_factory=list)
    last: list[_Row] = field(default_factory=list)
    """Rows written after all others (change events: nothing reads them back but their table's readers)."""
    _flushing: bool = False

    def __bool__(self) -> bool:
        return bool(self.rows or self.last)

    def before_execute(self, *_args: Any) -> None:
        if not self._flushing and (self.rows or self.last):
            self.flush()

    def flush(self) -> None:
        """Write everything queued; on failure raise the failing request's error (see the module docstring)."""
        if not self:
            return
        queued = [*self.rows, *self.last]
        self.rows, self.last = [], []
        self._flushing = True
        try:
            if len(queued) == 1:
                self._write(queued[0])
                return
            savepoint = self.connection.begin_nested()
            try:
                for run in _runs(queued):
                    self.connection.execute(run[0].statement, [row.params for row in run])
            except (IntegrityError, DataError):
                savepoint.rollback()
            else:
                savepoint.commit()
                return
            for row in queued:  # the same rows one by one: the first failure names its request
                self._write(row)
        finally:
            self._flushing = False

    def _write(self, row: _Row) -> None:
        try:
            self.connection.execute(row.statement, row.params)
        except IntegrityError as error:
            self.failed_owner = row.owner
            raise row.describe(error) from None
        except DataError as error:
            self.failed_owner = row.owner
            raise refused(error) from None


def refused(error: DataError) -> InvalidInput:
    """A value the database refused while the statement ran (the request's fault, 400)."""
    reason = str(error.orig).splitlines()[0] if error.orig is not None else "invalid value"
    return InvalidInput(f"The database refused a value of this request: {reason}.", code="ValueOutOfRange")


def _runs(rows: list[_Row]) -> Iterator[list[_Row]]:
    """Consecutive rows of the same statement and columns: one ``executemany`` each, in queue order."""
    run: list[_Row] = []
    for row in rows:
        if run and (row.statement is not run[0].statement or row.params.keys() != run[0].params.keys()):
            yield run
            run = []
        run.append(row)
    if run:
        yield run


def pending(session: Session) -> Pending | None:
    found: Pending | None = session.info.get(_KEY)
    return found


@contextmanager
def deferring(session: Session) -> Iterator[Pending]:
    """Queue this transaction's inserts until another statement needs them, or the block ends."""
    connection = session.connection()
    queue = Pending(connection)
    session.info[_KEY] = queue
    sa.event.listen(connection, "before_execute", queue.before_execute)
    try:
        yield queue
        queue.flush()
    finally:
        sa.event.remove(connection, "before_execute", queue.before_execute)
        del session.info[_KEY]


def flush(session: Session) -> None:
    """Write what is queued now (before a savepoint whose rollback must not take earlier rows with it)."""
    queue = pending(session)
    if queue is not None:
        queue.flush()


def recovered(session: Session) -> None:
    """The caller rolled back to a savepoint and went on after a failed flush: nobody failed after all."""
    queue = pending(session)
    if queue is not None:
        queue.failed_owner = None


def insert(
    session: Session, statement: sa.Insert, params: dict[str, Any], describe: Describe, *, last: bool = False
) -> None:
    """``statement`` with ``params``: queued inside :func:`deferring`, else executed now.

    ``last``: written after the other queued rows (change events, which no entity row depends on).
    """
    queue = pending(session)
    if queue is None:
        try:
            session.connection().execute(statement, params)
        except IntegrityError as error:
            raise describe(error) from None
        return
    (queue.last if last else queue.rows).append(_Row(statement, params, queue.owner, describe))


def conflict(what: str) -> Describe:
    """The 409 of a unique index raced by a concurrent writer, for rows of ``what``."""

    def describe(error: IntegrityError) -> OdysseeError:
        return Conflict(f"The {what} conflicts with a row written concurrently: {error.orig}", code="DuplicateKey")

    return describe
