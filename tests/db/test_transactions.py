"""The kinds of transaction (db/engine.py ``Database.transaction`` and ``Database.reading``).

A read is read-only in the database itself: a write slipped into a GET path must fail loudly,
not be rolled back in silence at the end of the read. The same pooled connection then serves a
write as usual, and a read still sees what was committed before it.

An inline read (a short GET on SQLite's event loop, db/inline.py) reuses its thread's kept
connection: it must still see every commit before it, hold nothing open once it ended, and
survive a failed read or a broken connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from odyssee.db.engine import Database
from odyssee.db.inline import inline
from odyssee.db.reader import Reader

Read = Callable[[Database], AbstractContextManager[Any]]


@pytest.fixture(params=["session", "reader"])
def read(request: pytest.FixtureRequest) -> Read:
    """Both read transactions: a read-only ORM session, and the API's GETs' Core :class:`Reader`."""
    if request.param == "session":
        return lambda database: database.transaction(write=False)
    return lambda database: database.reading()


@pytest.fixture
def probe(database: Database) -> Iterator[sa.Table]:
    metadata = sa.MetaData()
    table = sa.Table(
        "transaction_probe", metadata, sa.Column("n", sa.Integer, primary_key=True), sa.Column("v", sa.Text)
    )
    metadata.create_all(database.engine)
    with database.transaction(write=True) as session:
        session.execute(sa.insert(table), [{"n": 1, "v": "committed"}])
    yield table
    metadata.drop_all(database.engine)


def _value(database: Database, table: sa.Table) -> str:
    with database.transaction(write=False) as session:
        return str(session.execute(sa.select(table.c.v).where(table.c.n == 1)).scalar_one())


def test_a_read_cannot_write(database: Database, probe: sa.Table, read: Read) -> None:
    with pytest.raises(sa.exc.DBAPIError) as raised, read(database) as session:
        session.execute(sa.update(probe).values(v="written by a read"))
    assert "read" in str(raised.value.orig).lower()  # "readonly database", "read-only transaction"
    assert _value(database, probe) == "committed"


def test_a_write_after_a_read_on_the_same_connection_writes(database: Database, probe: sa.Table, read: Read) -> None:
    """The read-only setting belongs to the read: the next write on the connection is not refused."""
    with read(database) as session:
        used = session.connection().connection.dbapi_connection
        assert session.execute(sa.select(sa.func.count()).select_from(probe)).scalar_one() == 1
    with database.transaction(write=True) as session:
        assert session.connection().connection.dbapi_connection is used, "the pool handed out the same connection"
        session.execute(sa.update(probe).values(v="written"))
    assert _value(database, probe) == "written"


def test_a_connection_that_wrote_reads_read_only_again(database: Database, probe: sa.Table, read: Read) -> None:
    with database.transaction(write=True) as session:
        session.execute(sa.update(probe).values(v="written"))
    with pytest.raises(sa.exc.DBAPIError), read(database) as session:
        session.execute(sa.delete(probe))
    assert _value(database, probe) == "written"


def test_a_failed_write_leaves_nothing_and_the_read_after_it_sees_the_last_commit(
    database: Database, probe: sa.Table
) -> None:
    with pytest.raises(RuntimeError), database.transaction(write=True) as session:
        session.execute(sa.update(probe).values(v="rolled back"))
        raise RuntimeError("the request failed after its update")
    assert _value(database, probe) == "committed"


def test_a_reader_reads_what_was_committed_and_its_own_dialect(database: Database, probe: sa.Table) -> None:
    with database.reading() as reader:
        assert reader.execute(sa.select(probe.c.v)).scalar_one() == "committed"
        assert reader.get_bind().dialect.name == database.dialect
        reader.info["kept"] = True
    with database.reading() as reader:
        assert "kept" not in reader.info, "info belongs to one transaction, not to the pooled connection"


def test_a_reader_refuses_by_name_what_only_an_orm_session_has(database: Database) -> None:
    with database.reading() as reader, pytest.raises(AttributeError, match=r"no 'add'.*not an ORM session"):
        reader.add(object())  # type: ignore[attr-defined]


def test_a_failed_read_hands_its_connection_back_usable(database: Database, probe: sa.Table) -> None:
    with pytest.raises(sa.exc.DBAPIError), database.reading() as reader:
        reader.execute(sa.text("SELECT no_such_column FROM transaction_probe"))
    with database.reading() as reader:
        assert reader.execute(sa.select(sa.func.count()).select_from(probe)).scalar_one() == 1


@contextmanager
def _inline_reading(database: Database) -> Iterator[Reader]:
    """A GET's read as the API runs a short one on SQLite: on the event loop's thread (db/inline.py)."""
    with inline(), database.reading() as reader:
        yield reader


def _dbapi(reader: Any) -> Any:
    return reader.connection().connection.dbapi_connection


def test_inline_reads_see_each_commit_made_between_them(database: Database, probe: sa.Table) -> None:
    """The connection kept for inline reads on SQLite ends every read: no stale snapshot survives."""
    for value in ("first", "second", "third"):
        with database.transaction(write=True) as session:
            session.execute(sa.update(probe).values(v=value))
        with _inline_reading(database) as reader:
            assert reader.execute(sa.select(probe.c.v)).scalar_one() == value


def test_an_inline_read_that_ended_holds_no_transaction_open(database: Database, probe: sa.Table) -> None:
    """A kept connection idle in a transaction would hold back SQLite's checkpoints (the WAL grows
    without bound) or PostgreSQL's vacuum."""
    with _inline_reading(database) as reader:
        assert reader.execute(sa.select(probe.c.v)).scalar_one() == "committed"
    with database.transaction(write=True) as session:
        session.execute(sa.update(probe).values(v="after the read"))
    with database.engine.connect() as connection:
        if database.dialect == "sqlite":
            busy, frames, copied = connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
            assert (busy, copied) == (0, frames), "a snapshot from before the write keeps its frames in the WAL"
        else:
            idle = connection.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%%'"
            ).scalar_one()
            assert idle == 0


def test_inline_reads_reuse_one_connection_and_a_read_inside_one_draws_its_own(
    database: Database, probe: sa.Table
) -> None:
    with _inline_reading(database) as first:
        used = _dbapi(first)
        with _inline_reading(database) as inner:
            assert _dbapi(inner) is not used
            assert inner.execute(sa.select(probe.c.v)).scalar_one() == "committed"
        assert first.execute(sa.select(probe.c.v)).scalar_one() == "committed"
    with _inline_reading(database) as second:
        if database.dialect == "sqlite":
            assert _dbapi(second) is used, "the next inline read on this thread uses the same connection"


def test_a_failed_inline_read_leaves_the_next_one_working_and_read_only(database: Database, probe: sa.Table) -> None:
    with pytest.raises(sa.exc.DBAPIError), _inline_reading(database) as reader:
        reader.execute(sa.text("SELECT no_such_column FROM transaction_probe"))
    with pytest.raises(sa.exc.DBAPIError), _inline_reading(database) as reader:
        reader.execute(sa.update(probe).values(v="written by a read"))
    with _inline_reading(database) as reader:
        assert reader.execute(sa.select(probe.c.v)).scalar_one() == "committed"


def test_a_kept_connection_found_closed_fails_one_read_and_is_replaced(database: Database, probe: sa.Table) -> None:
    with _inline_reading(database) as reader:
        kept = _dbapi(reader)
    kept.close()  # what a connection lost under the process does (a server restart, a file handle closed)
    with pytest.raises(sa.exc.DBAPIError), _inline_reading(database) as reader:
        reader.execute(sa.select(probe.c.v))
    with _inline_reading(database) as reader:
        assert reader.execute(sa.select(probe.c.v)).scalar_one() == "committed"


def test_dispose_closes_the_connections_kept_for_inline_reads(database_url: str) -> None:
    database = Database(database_url)
    pool = database.engine.pool
    with _inline_reading(database) as reader:
        kept = _dbapi(reader)
    database.dispose()
    assert pool.checkedout() == 0, "no connection is left out of the pool"
    if database.dialect == "sqlite":
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            kept.execute("SELECT 1")
