"""The login epoch (model/system.py ``LoginEpoch``, migration 0011): every change to a credential or
tenant moves it, whoever makes it, and a transaction begun for a kept login checks it (db/engine.py).

A kept login (domain/logins.py) is only as safe as these two facts: a change the epoch misses
would let a revoked login in, and a check that passed a moved epoch would too."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from odyssee.db import row_security
from odyssee.db.engine import Database, LoginsMoved
from odyssee.db.migrate import upgrade
from odyssee.domain.tenants import create_credential, create_tenant, revoke_credential, rotate_password
from tests.db.conftest import downgrade


def _epoch(database: Database) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT epoch FROM login_epoch WHERE id = 1")).scalar_one())


def _in_session(database: Database, change: Callable[..., object], *args: object, **kwargs: object) -> None:
    with database.transaction(write=True) as session:
        change(session, *args, **kwargs)


def _sql(database: Database, statement: str) -> None:
    with database.engine.begin() as connection:
        connection.execute(sa.text(statement))


def test_every_change_to_a_credential_or_tenant_moves_the_epoch(database: Database) -> None:
    changes: list[tuple[str, Callable[[], None]]] = [
        ("create a tenant", lambda: _in_session(database, create_tenant, "EPOCH")),
        ("create a login", lambda: _in_session(database, create_credential, "EPOCH", "a", "pw-epoch-a", api=True)),
        ("rotate its password", lambda: _in_session(database, rotate_password, "EPOCH", "a", "pw-epoch-b")),
        ("revoke it", lambda: _in_session(database, revoke_credential, "EPOCH", "a")),
        ("an operator's UPDATE", lambda: _sql(database, "UPDATE credential SET disabled = false")),
        ("an UPDATE of a tenant", lambda: _sql(database, "UPDATE tenant SET domain = domain")),
        ("a DELETE", lambda: _sql(database, "DELETE FROM credential")),
    ]
    for what, change in changes:
        before = _epoch(database)
        change()
        assert _epoch(database) > before, what
    if database.dialect == "postgresql":
        before = _epoch(database)
        _sql(database, "TRUNCATE credential")
        assert _epoch(database) > before, "TRUNCATE"


def test_a_rolled_back_change_and_other_tables_leave_the_epoch_alone(database: Database) -> None:
    _in_session(database, create_tenant, "STILL")
    before = _epoch(database)
    with pytest.raises(RuntimeError), database.transaction(write=True) as session:
        create_credential(session, "STILL", "b", "pw-still-b", api=True)
        raise RuntimeError("rolled back")
    _sql(database, "UPDATE change_clock SET last_ms = last_ms")
    assert _epoch(database) == before


def test_a_transaction_for_a_kept_login_begins_only_at_its_epoch(database: Database) -> None:
    _in_session(database, create_tenant, "KEPT")
    with database.engine.connect() as connection:
        tenant = connection.execute(sa.text("SELECT id FROM tenant WHERE domain_key = 'KEPT'")).scalar_one()
    epoch = _epoch(database)
    with database.reading(tenant_id=tenant, login_epoch=epoch) as reader:
        assert reader.execute(sa.text("SELECT count(*) FROM tenant")).scalar_one() == 1
        if database.dialect == "postgresql":  # the BEGIN entered the wall for the kept tenant
            assert reader.execute(sa.text("SELECT current_user")).scalar_one() == row_security.ROLE
    if database.dialect == "sqlite":  # nothing to check there: SQLite keeps no logins (api/routes.py)
        with database.reading(login_epoch=epoch - 1) as reader:
            assert reader.execute(sa.text("SELECT 1")).scalar_one() == 1
        return
    for write in (False, True):  # a session begins at its first statement (authenticate asks for it)
        with (
            pytest.raises(LoginsMoved),
            database.transaction(write=write, tenant_id=tenant, login_epoch=epoch - 1) as session,
        ):
            session.connection()
            pytest.fail("the transaction began at a moved epoch")
    with pytest.raises(LoginsMoved), database.reading(login_epoch=epoch + 1):
        pytest.fail("the transaction began at a moved epoch")
    with database.reading() as reader:  # the connection went back to the pool clean
        assert reader.execute(sa.text("SELECT count(*) FROM login_epoch")).scalar_one() == 1


def test_the_login_epoch_comes_with_0011_and_goes_with_its_downgrade(empty_url: str) -> None:
    """0011's table starts at 0 and its triggers go with its downgrade: a tenant written without
    them is not counted, one deleted after the upgrade again is."""
    database = Database(empty_url)
    try:
        upgrade(database.engine)
        assert _epoch(database) == 0
        downgrade(database, "0010")
        with database.engine.connect() as connection:
            assert "login_epoch" not in sa.inspect(connection).get_table_names()
        _sql(database, "INSERT INTO tenant (domain, domain_key, created_at) VALUES ('x', 'X', CURRENT_TIMESTAMP)")
        upgrade(database.engine)
        _sql(database, "DELETE FROM tenant")
        assert _epoch(database) > 0
    finally:
        database.dispose()
