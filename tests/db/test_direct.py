"""Statements run straight on the driver (db/direct.py) give exactly what SQLAlchemy gives, and
fail as it fails, on both engines."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from odyssee.db import direct
from odyssee.db.engine import Database
from odyssee.db.results import KEY as RESULTS
from odyssee.db.results import Results
from odyssee.domain.tenants import _LOGIN
from odyssee.model.registry import registry
from odyssee.odata.wire import guid_text, instant_text
from tests.conftest import Tenant
from tests.factories import Factory

JOBS = registry().by_table("jobs").table


def _both(database: Database, statement: sa.Select[Any], values: dict[str, Any] | None = None) -> None:
    with database.transaction(write=False) as session:
        connection = session.connection()
        expected = connection.execute(statement, values)
        keys, rows = direct.fetch(connection, statement, values)
        assert keys == tuple(expected.keys())
        assert rows == [tuple(row) for row in expected]
        assert rows, "the comparison needs rows"
        # Again: the compiled statement is reused and must still bind this call's values.
        assert direct.fetch(connection, statement, values) == (keys, rows)


def test_typed_columns_and_binds_read_as_sqlalchemy_reads_them(database: Database, make: Factory) -> None:
    job = make("Jobs", estimated_duration=1.25)
    statement = (
        sa.select(JOBS, guid_text(JOBS.c.company_id).label("company"), instant_text(JOBS.c.modified_dateutc))
        .where(JOBS.c.id == uuid.UUID(job["id"]), JOBS.c.modified_dateutc > datetime(2000, 1, 1, tzinfo=UTC))
        .limit(5)
    )
    _both(database, statement)
    with database.transaction(write=False) as session:
        _keys, rows = direct.fetch(session.connection(), statement)
        row = dict(zip(_keys, rows[0], strict=True))
    assert row["id"] == uuid.UUID(job["id"]) and row["estimated_duration"] == 1.25
    assert row["modified_dateutc"].tzinfo is not None and row["sys_logical_delete"] is False


def test_named_values_are_bound_per_call(database: Database, tenant: Tenant) -> None:
    _both(database, _LOGIN, {"domain": tenant.domain.upper(), "username": "api@example.com"})
    with database.transaction(write=False) as session:
        assert direct.fetch(session.connection(), _LOGIN, {"domain": "NO-SUCH", "username": "x"})[1] == []


def test_the_last_parameters_are_reused_only_for_the_same_plain_values(database: Database) -> None:
    """The parameters of the last call are reused only for the same values of the same types
    (``True == 1``, yet a JSON bind writes them as ``true`` and ``1``), and never for a value
    that may have changed since (a list)."""
    statement = sa.select(sa.bindparam("v", type_=sa.JSON).label("v"))
    with database.transaction(write=False) as session:
        for value in (1, True, True, 1, 2):
            (row,) = direct.fetch(session.connection(), statement, {"v": value})[1]
            assert row[0] == value and type(row[0]) is type(value)
        given = [1]
        assert direct.fetch(session.connection(), statement, {"v": given})[1] == [([1],)]
        given.append(2)  # the same list, changed: equal to itself, yet bound anew
        assert direct.fetch(session.connection(), statement, {"v": given})[1] == [([1, 2],)]


def test_in_lists_and_deferred_writes_go_through_sqlalchemy(database: Database, make: Factory) -> None:
    ids = [uuid.UUID(make("Jobs")["id"]) for _ in range(3)]
    _both(database, sa.select(JOBS.c.id).where(JOBS.c.id.in_(ids)).order_by(JOBS.c.id))
    seen: list[str] = []
    with database.transaction(write=False) as session:
        connection = session.connection()
        sa.event.listen(connection, "before_execute", lambda *_: seen.append("before_execute"))
        _keys, rows = direct.fetch(connection, sa.select(JOBS.c.id).where(JOBS.c.id == ids[0]))
    assert seen == ["before_execute"] and rows == [(ids[0],)]


def test_driver_errors_are_sqlalchemy_errors(database: Database) -> None:
    missing = sa.select(sa.column("x")).select_from(sa.table("no_such_table"))
    with pytest.raises(sa.exc.DBAPIError) as raised, database.transaction(write=False) as session:
        direct.fetch(session.connection(), missing)
    assert "no_such_table" in str(raised.value)
    with database.transaction(write=False) as session:  # the pool's connection still works
        assert direct.fetch(session.connection(), sa.select(sa.literal(1)))[1] == [(1,)]


def test_statements_of_one_shape_bind_their_own_literals(database: Database, make: Factory) -> None:
    """A poll whose $filter text is new builds a new statement of a known shape: it shares the
    compiled SQL, not the values."""
    ids = [uuid.UUID(make("Jobs")["id"]) for _ in range(3)]
    with database.transaction(write=False) as session:
        for key in ids:
            statement = sa.select(JOBS.c.id).where(JOBS.c.id == key)
            assert direct.fetch(session.connection(), statement)[1] == [(key,)]


def test_values_computed_when_the_statement_runs_are_computed_every_time(database: Database) -> None:
    """A bind with a callable (``now()`` in a ``$filter``) is not kept from one execution to the next."""
    ticks = iter(range(1, 100))
    statement = sa.select(sa.bindparam("tick", callable_=lambda: next(ticks), type_=sa.Integer).label("tick"))
    with database.transaction(write=False) as session:
        connection = session.connection()
        seen = [direct.fetch(connection, statement)[1][0][0] for _ in range(3)]
    assert seen == [1, 2, 3]


def test_values_override_a_reused_statements_own(database: Database) -> None:
    """How a ``$filter`` of a known shape runs its template's statement (odata/query.py ``_reused``)."""
    statement = sa.select(sa.bindparam("odyssee_literal_0", 5, type_=sa.Integer).label("value"))
    with database.transaction(write=False) as session:
        connection = session.connection()
        assert direct.fetch(connection, statement)[1] == [(5,)]
        assert direct.fetch(connection, statement, {"odyssee_literal_0": 7})[1] == [(7,)]
        assert direct.fetch(connection, statement)[1] == [(5,)], "the statement's own value is left as it was"


def _probe_table(database: Database) -> sa.Table:
    """A table of this test's own, with a key the database numbers and a Python-side default."""
    table = sa.Table(
        "direct_probe",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("value", sa.Integer, nullable=False),
        sa.Column("filled", sa.Integer, nullable=False, default=lambda: 42),
    )
    table.create(database.engine)
    return table


def test_a_write_returns_what_sqlalchemy_returns_and_runs_every_time(database: Database) -> None:
    """A write with RETURNING runs on the driver (a single create, domain/changes.py); executed
    twice with the same values it writes twice, even where a connection keeps the results of its
    reads (SQLite's data version does not move for the connection's own writes, db/results.py)."""
    table = _probe_table(database)
    statement = sa.insert(table).values(value=sa.bindparam("value"), filled=7).returning(table.c.id, table.c.value)
    with database.transaction(write=True) as session:
        connection = session.connection()
        connection.info[RESULTS] = Results()
        expected = connection.execute(statement, {"value": 5}).one()
        first = direct.fetch(connection, statement, {"value": 5})
        second = direct.fetch(connection, statement, {"value": 5})
    assert first[0] == ("id", "value")
    assert [expected[0], first[1][0][0], second[1][0][0]] == [1, 2, 3] and first[1][0][1] == 5
    with database.transaction(write=False) as session:
        assert session.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 3


def test_a_write_whose_values_sqlalchemy_computes_goes_through_sqlalchemy(database: Database) -> None:
    """A Python-side column default is computed by SQLAlchemy before it executes: such a write is
    left to it, and the default is there."""
    table = _probe_table(database)
    statement = sa.insert(table).values(value=sa.bindparam("value")).returning(table.c.filled)
    with database.transaction(write=True) as session:
        assert direct.fetch(session.connection(), statement, {"value": 1})[1] == [(42,)]


def test_a_write_that_breaks_a_constraint_is_sqlalchemys_integrity_error(database: Database) -> None:
    """What domain/changes.py ``insert_stamped`` turns into the API's 409 for a lost uniqueness race."""
    table = _probe_table(database)
    statement = sa.insert(table).values(id=sa.bindparam("id"), value=1, filled=1).returning(table.c.id)
    with pytest.raises(sa.exc.IntegrityError), database.transaction(write=True) as session:
        direct.fetch(session.connection(), statement, {"id": 9})
        direct.fetch(session.connection(), statement, {"id": 9})
    with database.transaction(write=False) as session:  # rolled back whole
        assert session.execute(sa.select(sa.func.count()).select_from(table)).scalar() == 0
