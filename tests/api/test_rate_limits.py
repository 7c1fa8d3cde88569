"""Per-login and per-tenant rate limits: 429 with Retry-After, and the RateLimit-* headers.

Each test builds the real app with tiny buckets. The limiter's clock is a counter the test moves,
so refills happen exactly when the test says (no sleeping, no timing).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from odyssee.api.app import create_app
from odyssee.api.limits import RateLimiter
from odyssee.db.engine import Database
from odyssee.domain.tenants import create_credential
from odyssee.settings import Rate, Settings
from tests.conftest import Clock, Tenant, make_tenant


def limited_client(database: Database, clock: Clock, user: Rate, tenant: Rate) -> TestClient:
    app = create_app(Settings(database_url=database.url, rate_user=user, rate_tenant=tenant), database)
    app.state.rate_limiter = RateLimiter(user, tenant, clock=clock)
    return TestClient(app, base_url="http://testserver")


@pytest.fixture
def client(database: Database, clock: Clock, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    user, tenant = request.param
    with limited_client(database, clock, user, tenant) as client:
        yield client


def companies(database: Database) -> int:
    with database.transaction(write=False) as session:
        return int(session.execute(sa.text("SELECT count(*) FROM company")).scalar_one())


def budget(response: Any) -> tuple[int, int, int]:
    headers = response.headers
    return int(headers["RateLimit-Limit"]), int(headers["RateLimit-Remaining"]), int(headers["RateLimit-Reset"])


@pytest.mark.parametrize("client", [(Rate(1, 5), Rate(0, 0))], indirect=True)
def test_every_authenticated_response_carries_the_budget(database: Database, client: TestClient) -> None:
    tenant = make_tenant(database, client)
    assert budget(tenant.get("/api/Company")) == (5, 4, 1)
    assert budget(tenant.get("/api/$metadata")) == (5, 3, 2)
    missing = tenant.get("/api/Company(00000000-0000-0000-0000-000000000001)")
    assert missing.status_code == 404
    assert budget(missing) == (5, 2, 3), "errors after authentication carry the budget too"
    unauthenticated = client.get("/api/Company")
    assert unauthenticated.status_code == 401
    assert "RateLimit-Limit" not in unauthenticated.headers


@pytest.mark.parametrize("client", [(Rate(0.5, 2), Rate(0, 0))], indirect=True)
def test_a_spent_budget_is_429_with_retry_after_and_changes_nothing(
    database: Database, client: TestClient, clock: Clock
) -> None:
    tenant = make_tenant(database, client)
    for name in ("A", "B"):
        assert tenant.post("/api/Company", {"name": name}).status_code == 201
    refused = tenant.post("/api/Company", {"name": "C"})
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/json")
    error = refused.json()["error"]
    assert error["code"] == "TooManyRequests"
    assert "login" in error["message"]
    assert refused.headers["Retry-After"] == "2", "one token at 0.5 per second"
    assert budget(refused) == (2, 0, 4)
    assert companies(database) == 2
    clock.now += 2
    assert tenant.post("/api/Company", {"name": "C"}).status_code == 201
    assert companies(database) == 3


@pytest.mark.parametrize("client", [(Rate(1, 2), Rate(1, 3))], indirect=True)
def test_logins_have_their_own_buckets_and_share_the_tenants(database: Database, client: TestClient) -> None:
    first = make_tenant(database, client)
    with database.transaction(write=True) as session:
        create_credential(session, first.domain, "second", "second-pw", api=True)
    second = Tenant(client, first.domain, "second", "second-pw")
    other = make_tenant(database, client)
    assert [first.get("/api/JobType").status_code for _ in range(3)] == [200, 200, 429]
    assert second.get("/api/JobType").status_code == 200, "its own login bucket is full; the tenant has 1 left"
    refused = second.get("/api/JobType")
    assert refused.status_code == 429
    assert "tenant" in refused.json()["error"]["message"]
    assert other.get("/api/JobType").status_code == 200, "another tenant is not affected"


@pytest.mark.parametrize("client", [(Rate(1, 5), Rate(0, 0))], indirect=True)
def test_a_batch_costs_one_token_per_operation(database: Database, client: TestClient, clock: Clock) -> None:
    tenant = make_tenant(database, client)

    def batch(size: int) -> Any:
        requests = [{"id": str(i), "method": "POST", "url": "Company", "body": {"name": f"N{i}"}} for i in range(size)]
        return tenant.post("/api/$batch", {"requests": requests})

    accepted = batch(3)
    assert accepted.status_code == 200
    assert [part["status"] for part in accepted.json()["responses"]] == [201, 201, 201]
    assert budget(accepted)[1] == 2
    refused = batch(3)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert companies(database) == 3, "a refused batch runs none of its operations"
    clock.now += 10
    larger = batch(7)
    assert larger.status_code == 200, "a batch above the burst runs when the bucket is full"
    assert budget(larger) == (5, 0, 7)
    assert tenant.get("/api/Company").status_code == 429, "and leaves the bucket in debt"
    assert companies(database) == 10


@pytest.mark.parametrize("client", [(Rate(0, 0), Rate(0, 0))], indirect=True)
def test_zero_disables_the_limits(database: Database, client: TestClient) -> None:
    tenant = make_tenant(database, client)
    statuses = {tenant.get("/api/JobType").status_code for _ in range(5)}
    assert statuses == {200}
    assert "RateLimit-Limit" not in tenant.get("/api/JobType").headers


def test_settings_read_rates_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ODYSSEE_RATE_USER", "50,500")
    monkeypatch.setenv("ODYSSEE_RATE_TENANT", "0")
    monkeypatch.setenv("ODYSSEE_STATEMENT_TIMEOUT_MS", "1500")
    settings = Settings.from_env()
    assert settings.rate_user == Rate(50, 500)
    assert not settings.rate_tenant.enabled
    assert settings.statement_timeout_ms == 1500
    monkeypatch.setenv("ODYSSEE_RATE_USER", "20")
    assert Settings.from_env().rate_user == Rate(20, 20), "the burst defaults to one second's worth"
    monkeypatch.setenv("ODYSSEE_RATE_USER", "fast")
    with pytest.raises(ValueError, match="ODYSSEE_RATE_USER"):
        Settings.from_env()


def test_the_defaults_leave_room_for_normal_integrations(database: Database, app_client: TestClient) -> None:
    tenant = make_tenant(database, app_client)
    limit, remaining, _reset = budget(tenant.get("/api/JobType"))
    defaults = Settings()
    assert limit == defaults.rate_user.burst
    assert remaining >= limit - 2
    assert defaults.rate_user.burst >= 1000, "a full 1000-operation $batch fits the burst"
