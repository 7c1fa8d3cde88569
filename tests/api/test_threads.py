"""``ODYSSEE_THREADS``: how many transactions one API process runs at once (settings.py, api/app.py).

Fewer threads than anyio's default 40 is faster on a small machine (docs/performance.md), but a
transaction that waits holds its thread: the bound must be real, and the operator must be able
to raise it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import anyio.to_thread
import pytest
from starlette.testclient import TestClient

from odyssee.api.app import create_app
from odyssee.db.engine import Database
from odyssee.settings import Settings
from tests.conftest import Tenant, make_tenant

HOLD_S = 1.5


def _client(database: Database, threads: int) -> TestClient:
    # debug_hold lets a write keep its transaction (and its thread) open; inline_read_ms=0 sends
    # reads to a thread as well, on both engines.
    settings = Settings(database_url=database.url, threads=threads, debug_hold=True, inline_read_ms=0)
    return TestClient(create_app(settings, database), base_url="http://testserver")


@pytest.fixture
def one_thread(database: Database) -> Iterator[tuple[TestClient, Tenant]]:
    with _client(database, 1) as client:
        yield client, make_tenant(database, client)


@pytest.fixture
def two_threads(database: Database) -> Iterator[tuple[TestClient, Tenant]]:
    with _client(database, 2) as client:
        yield client, make_tenant(database, client)


def _read_beside_a_held_write(tenant: Tenant) -> float:
    """Seconds a GET takes while a POST holds its transaction open for HOLD_S."""
    held = threading.Thread(
        target=lambda: tenant.post("/api/JobType", {"name": "held"}, headers={"X-Odyssee-Debug-Hold": str(HOLD_S)})
    )
    held.start()
    time.sleep(0.3)  # the write is in its transaction by now
    started = time.monotonic()
    response = tenant.get("/api/JobType")
    elapsed = time.monotonic() - started
    held.join()
    assert response.status_code == 200, response.text
    return elapsed


def test_the_app_runs_at_most_the_configured_transactions_at_once(one_thread: tuple[TestClient, Tenant]) -> None:
    client, tenant = one_thread
    assert client.portal is not None
    assert client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens) == 1
    assert _read_beside_a_held_write(tenant) > HOLD_S / 2, "the read waited for the only thread"


def test_a_second_thread_lets_a_read_pass_a_waiting_write(two_threads: tuple[TestClient, Tenant]) -> None:
    _client, tenant = two_threads
    assert _read_beside_a_held_write(tenant) < HOLD_S / 2


def test_threads_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().threads == Settings().threads
    monkeypatch.setenv("ODYSSEE_THREADS", "4")
    assert Settings.from_env().threads == 4
    for wrong in ("0", "many", "-2"):
        monkeypatch.setenv("ODYSSEE_THREADS", wrong)
        with pytest.raises(ValueError, match="ODYSSEE_THREADS"):
            Settings.from_env()
