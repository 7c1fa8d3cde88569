"""An API process keeps the logins it verified (domain/logins.py): on PostgreSQL a request of a
kept login reads no credentials, yet a revoked login, a rotated password or a wrong password is
refused from the very next request on, as when the credentials are read every time.

The app here runs without its lifespan, so its requests run on worker threads; on the event
loop, as in production, tests/cli/test_cli.py revokes and rotates through the lifespan app."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from odyssee.api.app import create_app
from odyssee.db.engine import Database
from odyssee.domain.tenants import create_credential, revoke_credential, rotate_password
from odyssee.settings import Settings
from tests.conftest import basic, counted, is_login_query, make_tenant


class LoginReads:
    """How many login queries (:func:`~tests.conftest.is_login_query`) ran so far."""

    def __init__(self, statements: list[str]) -> None:
        self._statements = statements

    @property
    def count(self) -> int:
        return sum(map(is_login_query, self._statements))


@pytest.fixture
def reads() -> Iterator[LoginReads]:
    with counted() as statements:
        yield LoginReads(statements)


@pytest.fixture
def threaded_client(database: Database) -> TestClient:
    """The real app, its requests on worker threads (no lifespan: no event-loop engine)."""
    return TestClient(create_app(Settings(database_url=database.url), database), base_url="http://testserver")


def _status(client: TestClient, password: str, domain: str, username: str = "api@example.com") -> int:
    return client.get("/api/Company", headers=basic(username, password, domain)).status_code


def test_a_kept_login_reads_no_credentials_and_is_refused_once_revoked(
    database: Database, threaded_client: TestClient, reads: LoginReads
) -> None:
    domain = make_tenant(database, threaded_client).domain
    assert _status(threaded_client, "secret-pw", domain) == 200
    first = reads.count
    assert first >= 1 or database.dialect == "sqlite"  # SQLite may answer from a kept result (db/results.py)
    assert _status(threaded_client, "secret-pw", domain) == 200
    kept: dict[int, Any] = threaded_client.app.state.known_logins  # type: ignore[attr-defined]
    if database.dialect == "postgresql":
        assert reads.count == first, "a kept login's request read the credentials again"
        assert kept[id(database)].find((domain, "api@example.com")) is not None
    else:
        assert kept == {}, "SQLite keeps no logins: its login read costs no round trip"
    assert _status(threaded_client, "wrong-pw", domain) == 401, "the password is checked on every request"
    assert _status(threaded_client, "secret-pw", domain) == 200
    with database.transaction(write=True) as session:
        revoke_credential(session, domain, "api@example.com")
    assert _status(threaded_client, "secret-pw", domain) == 401
    assert _status(threaded_client, "secret-pw", domain) == 401


def test_a_rotated_password_counts_from_the_next_request_and_other_logins_are_read_again(
    database: Database, threaded_client: TestClient, reads: LoginReads
) -> None:
    one, two = make_tenant(database, threaded_client), make_tenant(database, threaded_client)
    assert _status(threaded_client, "secret-pw", one.domain) == 200
    assert _status(threaded_client, "secret-pw", two.domain) == 200
    with database.transaction(write=True) as session:
        rotate_password(session, one.domain, "api@example.com", "rotated-pw")
    assert _status(threaded_client, "secret-pw", one.domain) == 401
    assert _status(threaded_client, "rotated-pw", one.domain) == 200
    before = reads.count
    with database.transaction(write=True) as session:  # any change to the logins moves the epoch
        create_credential(session, one.domain, "erp", "pw-erp-3", api=True)
    assert _status(threaded_client, "secret-pw", two.domain) == 200, "an unrelated change refuses no one"
    if database.dialect == "postgresql":
        assert reads.count == before + 1, "the kept login of the other tenant was read again, once"
        assert _status(threaded_client, "secret-pw", two.domain) == 200
        assert reads.count == before + 1
    assert _status(threaded_client, "pw-erp-3", one.domain, "erp") == 200


def test_keep_logins_off_reads_them_on_every_request(database: Database, reads: LoginReads) -> None:
    client = TestClient(
        create_app(Settings(database_url=database.url, keep_logins=False), database), base_url="http://testserver"
    )
    domain = make_tenant(database, client).domain
    assert client.app.state.known_logins == {}  # type: ignore[attr-defined]
    for _ in range(3):
        assert _status(client, "secret-pw", domain) == 200
    if database.dialect == "postgresql":
        assert reads.count == 3


def test_without_row_security_a_kept_login_is_still_checked_by_its_epoch(database_url: str) -> None:
    """``ODYSSEE_ROW_SECURITY=off``: the ``BEGIN`` of a kept login enters no wall, but still checks."""
    database = Database(database_url, row_security=False)
    try:
        client = TestClient(create_app(Settings(database_url=database_url), database), base_url="http://testserver")
        domain = make_tenant(database, client).domain
        with counted() as statements:
            assert [_status(client, "secret-pw", domain) for _ in range(2)] == [200, 200]
        if database.dialect == "postgresql":
            assert LoginReads(statements).count == 1
        with database.transaction(write=True) as session:
            revoke_credential(session, domain, "api@example.com")
        assert _status(client, "secret-pw", domain) == 401
    finally:
        database.dispose()


def test_without_the_epochs_row_no_login_is_kept(
    database: Database, threaded_client: TestClient, reads: LoginReads
) -> None:
    """Someone deleted ``login_epoch``'s one row: no change could be counted, so nothing is kept."""
    domain = make_tenant(database, threaded_client).domain
    with database.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM login_epoch"))
    assert [_status(threaded_client, "secret-pw", domain) for _ in range(2)] == [200, 200]
    if database.dialect == "postgresql":
        assert reads.count == 2, "a login read without an epoch was kept"
    with database.transaction(write=True) as session:
        revoke_credential(session, domain, "api@example.com")
    assert _status(threaded_client, "secret-pw", domain) == 401
