"""Results kept for repeated SQLite reads (db/results.py), and what makes them be forgotten.

A kept result is only ever the answer the statement would give at that moment: any commit, by
this process or another, through this pool or another, is seen by the next read. Only the
event loop's read-only connection on SQLite keeps results; reads on pooled connections and
every read on PostgreSQL run their statements each time.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from odyssee.db import direct, results
from odyssee.db.engine import Database
from odyssee.db.inline import inline
from odyssee.db.reader import Reader


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Database]:
    """A SQLite file whatever engine the suite runs on: only SQLite keeps results."""
    database = Database(f"sqlite:///{tmp_path / 'results.db'}")
    yield database
    database.dispose()


def _probe(database: Database) -> sa.Table:
    metadata = sa.MetaData()
    table = sa.Table("results_probe", metadata, sa.Column("n", sa.Integer, primary_key=True), sa.Column("v", sa.Text))
    metadata.create_all(database.engine)
    with database.transaction(write=True) as session:
        session.execute(sa.insert(table), [{"n": 1, "v": "committed"}])
    return table


@pytest.fixture
def probe(sqlite: Database) -> sa.Table:
    return _probe(sqlite)


@contextmanager
def _inline_reading(database: Database) -> Iterator[Reader]:
    with inline(), database.reading() as reader:
        yield reader


@contextmanager
def _statements(database: Database) -> Iterator[list[str]]:
    """The SQL the kept SQLite connection runs meanwhile (the driver's trace callback)."""
    with _inline_reading(database) as reader:
        dbapi = reader.connection().connection.dbapi_connection
    ran: list[str] = []
    dbapi.set_trace_callback(ran.append)
    try:
        yield ran
    finally:
        dbapi.set_trace_callback(None)


def _read(database: Database, statement: sa.Select[Any]) -> list[tuple[Any, ...]]:
    with _inline_reading(database) as reader:
        return direct.fetch(reader.connection(), statement)[1]


def _selects(ran: list[str]) -> list[str]:
    return [sql for sql in ran if "results_probe" in sql]


def _set(database: Database, table: sa.Table, value: str) -> None:
    with database.transaction(write=True) as session:
        session.execute(sa.update(table).values(v=value))


def test_a_repeated_read_on_an_unchanged_database_does_not_run_again(sqlite: Database, probe: sa.Table) -> None:
    statement = sa.select(probe.c.n, probe.c.v).where(probe.c.n == 1)
    with _statements(sqlite) as ran:
        first, second = _read(sqlite, statement), _read(sqlite, statement)
    assert first == second == [(1, "committed")]
    assert len(_selects(ran)) == 1, ran
    assert ran.count("PRAGMA data_version") == 2, "each read still asks whether the database changed"


@pytest.mark.parametrize("writer", ["this pool", "another pool", "another process"])
def test_every_commit_is_seen_by_the_next_read(sqlite: Database, probe: sa.Table, writer: str) -> None:
    statement = sa.select(probe.c.v).where(probe.c.n == 1)
    assert _read(sqlite, statement) == [("committed",)]
    for value in ("second", "third"):
        if writer == "this pool":
            _set(sqlite, probe, value)
        elif writer == "another pool":
            other = Database(sqlite.url)
            try:
                _set(other, probe, value)
            finally:
                other.dispose()
        else:
            path = sqlite.engine.url.database
            code = (
                "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                "c.execute('UPDATE results_probe SET v = ?', (sys.argv[2],)); c.commit()"
            )
            subprocess.run([sys.executable, "-c", code, str(path), value], check=True, timeout=60)
        assert _read(sqlite, statement) == [(value,)], f"a commit by {writer} must be seen at once"
        assert _read(sqlite, statement) == [(value,)]


def test_a_commit_during_a_read_is_seen_by_the_next_read(sqlite: Database, probe: sa.Table) -> None:
    """The version a read sees is its snapshot's: what it keeps of that snapshot is never given
    to a later read for the newer state."""
    value = sa.select(probe.c.v).where(probe.c.n == 1)
    key = sa.select(probe.c.n).where(probe.c.n == 1)
    other = Database(sqlite.url)
    try:
        with _inline_reading(sqlite) as reader:
            assert direct.fetch(reader.connection(), key)[1] == [(1,)]  # the snapshot starts here
            _set(other, probe, "meanwhile")
            assert direct.fetch(reader.connection(), value)[1] == [("committed",)], "the read's own snapshot"
    finally:
        other.dispose()
    assert _read(sqlite, value) == [("meanwhile",)]
    assert _read(sqlite, value) == [("meanwhile",)]


def test_a_statement_with_a_value_computed_when_it_runs_is_never_kept(sqlite: Database, probe: sa.Table) -> None:
    calls: list[int] = []

    def key() -> int:
        calls.append(1)
        return 1

    statement = sa.select(probe.c.v).where(probe.c.n == sa.bindparam("n", callable_=key))
    with _statements(sqlite) as ran:
        for _ in range(3):
            assert _read(sqlite, statement) == [("committed",)]
    assert len(_selects(ran)) == 3 and len(calls) == 3


def test_large_results_are_not_kept(sqlite: Database, probe: sa.Table) -> None:
    with sqlite.transaction(write=True) as session:
        session.execute(sa.insert(probe), [{"n": n, "v": "row"} for n in range(2, results.MAX_ROWS + 2)])
    statement = sa.select(probe.c.n).order_by(probe.c.n)
    with _statements(sqlite) as ran:
        assert len(_read(sqlite, statement)) == len(_read(sqlite, statement)) == results.MAX_ROWS + 1
    assert len(_selects(ran)) == 2


def test_reads_on_pooled_connections_and_on_postgresql_keep_nothing(database: Database) -> None:
    probe = _probe(database)
    statement = sa.select(probe.c.v).where(probe.c.n == 1)
    with database.reading() as reader:  # not on the event loop: a pooled connection
        assert direct.fetch(reader.connection(), statement)[1] == [("committed",)]
        assert results.KEY not in reader.connection().info
    with _inline_reading(database) as reader:
        assert direct.fetch(reader.connection(), statement)[1] == [("committed",)]
        assert (results.KEY in reader.connection().info) is (database.dialect == "sqlite")


def test_a_kept_connection_handed_back_to_the_pool_forgets_its_results(sqlite: Database, probe: sa.Table) -> None:
    """Its own commits would not change its data_version: once it may write again, it keeps nothing."""
    statement = sa.select(probe.c.v).where(probe.c.n == 1)
    assert _read(sqlite, statement) == [("committed",)]
    (kept,) = sqlite._kept.values()
    info = kept.info
    assert len(info[results.KEY]) == 1
    kept.close()  # back to the pool (as when it is replaced or the database disposed)
    assert results.KEY not in info
    _set(sqlite, probe, "after")
    assert _read(sqlite, statement) == [("after",)], "the next kept connection starts afresh"


def test_the_cache_holds_one_version_and_a_bounded_number_of_results() -> None:
    kept = results.Results()
    assert kept.get(1, "a") is None
    kept.put(1, "a", [(1,)])
    assert kept.get(1, "a") == [(1,)]
    assert kept.get(2, "a") is None, "another version: the database changed"
    kept.put(1, "a", [(1,)])
    assert kept.get(2, "a") is None, "a result of another version is never given"
    for n in range(results.MAX_ENTRIES + 1):
        kept.put(2, n, [(n,)])
    assert len(kept) == results.MAX_ENTRIES
    assert kept.get(2, 0) is None, "the least recently used went first"
    assert kept.get(2, results.MAX_ENTRIES) == [(results.MAX_ENTRIES,)]
    kept.put(2, "big", [(n,) for n in range(results.MAX_ROWS + 1)])
    assert kept.get(2, "big") is None
