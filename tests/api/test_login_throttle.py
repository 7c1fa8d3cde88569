"""Failed-login throttling: after N failures a login (or a client address) waits out the window.

The throttle's clock is a counter the test moves, so windows close exactly when the test says.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from odyssee.api.app import create_app
from odyssee.api.throttle import LoginThrottle
from odyssee.db.engine import Database
from odyssee.domain.tenants import create_credential
from odyssee.settings import Settings
from tests.conftest import Clock, Tenant, basic, make_tenant

WINDOW = 60.0


def throttled_app(database: Database, clock: Clock, per_login: int, per_address: int) -> Any:
    settings = Settings(
        database_url=database.url,
        login_failures=per_login,
        login_failures_per_ip=per_address,
        login_window_seconds=WINDOW,
    )
    app = create_app(settings, database)
    app.state.login_throttle = LoginThrottle(per_login, per_address, WINDOW, clock=clock)
    return app


@pytest.fixture
def client(database: Database, clock: Clock) -> Iterator[TestClient]:
    with TestClient(throttled_app(database, clock, 3, 50), base_url="http://testserver") as client:
        yield client


@pytest.fixture
def tenant(database: Database, client: TestClient) -> Tenant:
    return make_tenant(database, client)


def attempt(client: TestClient, username: str, password: str, domain: str) -> Any:
    return client.get("/api/JobType", headers=basic(username, password, domain))


def test_after_n_failures_even_the_right_password_waits_out_the_window(
    tenant: Tenant, client: TestClient, clock: Clock
) -> None:
    wrong = [attempt(client, "api@example.com", "guess", tenant.domain).status_code for _ in range(3)]
    assert wrong == [401, 401, 401]
    clock.now += 10
    refused = tenant.get("/api/JobType")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "50"
    assert refused.json()["error"]["code"] == "TooManyRequests"
    assert "RateLimit-Limit" not in refused.headers, "the caller is not authenticated"
    same_login = attempt(client, "API@EXAMPLE.COM", "secret-pw", tenant.domain.lower())
    assert same_login.status_code == 429, "matched like authenticate matches: case-insensitively"
    clock.now += 50
    assert tenant.get("/api/JobType").status_code == 200


def test_the_throttle_does_not_reveal_whether_a_login_exists(tenant: Tenant, client: TestClient) -> None:
    def story(username: str, domain: str) -> list[tuple[int, Any, str | None]]:
        responses = [attempt(client, username, "guess", domain) for _ in range(4)]
        return [(r.status_code, r.json(), r.headers.get("Retry-After")) for r in responses]

    real = story("api@example.com", tenant.domain)
    assert [status for status, _body, _retry in real] == [401, 401, 401, 429]
    assert story("nobody", tenant.domain) == real
    assert story("api@example.com", "NO-SUCH-DOMAIN") == real


def test_a_success_clears_the_logins_failures(tenant: Tenant, client: TestClient) -> None:
    statuses = []
    for _ in range(3):
        statuses += [attempt(client, "api@example.com", "guess", tenant.domain).status_code for _ in range(2)]
        statuses.append(tenant.get("/api/JobType").status_code)
    assert statuses == [401, 401, 200] * 3


def test_failures_from_one_address_throttle_every_login_from_it(database: Database, clock: Clock) -> None:
    app = throttled_app(database, clock, per_login=100, per_address=4)
    with (
        TestClient(app, base_url="http://testserver", client=("203.0.113.7", 5000)) as sprayer,
        TestClient(app, base_url="http://testserver", client=("198.51.100.2", 5000)) as elsewhere,
    ):
        tenant = make_tenant(database, sprayer)
        with database.transaction(write=True) as session:
            create_credential(session, tenant.domain, "other", "other-pw", api=True)
        sprayed = [attempt(sprayer, f"user{i}", "guess", tenant.domain).status_code for i in range(4)]
        assert sprayed == [401] * 4
        assert attempt(sprayer, "other", "other-pw", tenant.domain).status_code == 429
        assert attempt(elsewhere, "other", "other-pw", tenant.domain).status_code == 200
        assert attempt(sprayer, "api@example.com", "secret-pw", tenant.domain).status_code == 429, (
            "a success elsewhere does not clear the address"
        )
        clock.now += WINDOW
        assert tenant.get("/api/JobType").status_code == 200


def test_batch_logins_are_throttled_too(tenant: Tenant, client: TestClient) -> None:
    body = {"requests": [{"id": "1", "method": "GET", "url": "JobType"}]}
    bad = basic("api@example.com", "guess", tenant.domain)
    statuses = [client.post("/api/$batch", json=body, headers=bad).status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    assert tenant.post("/api/$batch", body).status_code == 429


def test_zero_disables_the_throttle(database: Database, clock: Clock) -> None:
    with TestClient(throttled_app(database, clock, 0, 0), base_url="http://testserver") as client:
        tenant = make_tenant(database, client)
        statuses = {attempt(client, "api@example.com", "guess", tenant.domain).status_code for _ in range(5)}
        assert statuses == {401}
        assert tenant.get("/api/JobType").status_code == 200
