"""A Client logged in as the ``tenant`` fixture's API user, on the real app in-process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from odyssee.client import Client
from tests.conftest import Tenant

USERNAME, PASSWORD = "api@example.com", "secret-pw"
"""The API login make_tenant creates in every tenant."""


@pytest.fixture
def client(tenant: Tenant, app_client: TestClient) -> Iterator[Client]:
    with Client(
        "http://testserver", username=USERNAME, password=PASSWORD, domain=tenant.domain, http=app_client, backoff=0
    ) as client:
        yield client
