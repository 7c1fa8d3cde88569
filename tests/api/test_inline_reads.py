"""Short SQLite reads run on the event loop; anything long leaves it (api/inline.py, db/inline.py).

What users depend on: every read answers exactly as before, whatever thread it ran on; a read
that outgrows the inline budget is finished on a worker thread under the full statement timeout
(never cut short, never a 503 of its own); the real timeout still answers 503; a read is charged
to the rate limit once however many tries it took; and the policy sends a slow query straight to
a thread the next time. The test routes below run a chosen SQL statement through the API's own
runner (``routes.run``: authentication, admission, transaction) and report the thread it ran on.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from odyssee.api import routes
from odyssee.api.app import create_app
from odyssee.api.inline import InlineReads
from odyssee.db.engine import Database
from odyssee.settings import Rate, Settings
from tests.conftest import Tenant, make_tenant

COUNT_TO = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < :top) SELECT count(*) FROM n"
"""A read whose length the test chooses: a few rows are instant, millions take a second or so."""
ENDLESS = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT count(*) FROM n"
BUDGET_MS = 20


class Runs:
    """Which threads the test route's work ran on, in order, and the event loop's thread."""

    def __init__(self) -> None:
        self.threads: list[int] = []
        self.loop = 0


def app_with_probe(database: Database, settings: Settings, runs: Runs) -> Any:
    app = create_app(settings, database)

    async def probe(request: Request) -> JSONResponse:
        runs.loop = threading.get_ident()
        sql = ENDLESS if "endless" in request.query_params else COUNT_TO
        top = int(request.query_params.get("top", "3"))

        def work(session: Any, _actor: Any) -> int:
            runs.threads.append(threading.get_ident())
            return int(session.execute(sa.text(sql), {"top": top}).scalar_one())

        return JSONResponse({"count": await routes.run(request, work, write=False)})

    app.router.routes.insert(0, Route("/probe", probe))
    return app


@pytest.fixture
def runs() -> Runs:
    return Runs()


@pytest.fixture
def client(database: Database, runs: Runs) -> Iterator[TestClient]:
    settings = Settings(database_url=database.url, statement_timeout_ms=3000, inline_read_ms=BUDGET_MS)
    with TestClient(app_with_probe(database, settings, runs), base_url="http://testserver") as client:
        yield client


@pytest.fixture
def tenant(database: Database, client: TestClient) -> Tenant:
    return make_tenant(database, client)


def on_loop(runs: Runs) -> list[bool]:
    return [thread == runs.loop for thread in runs.threads]


def test_a_short_read_runs_on_the_event_loop_on_sqlite_only(database: Database, tenant: Tenant, runs: Runs) -> None:
    tenant.get("/probe?top=3")  # the first call hashes the password: on a thread, whatever the engine
    runs.threads.clear()
    response = tenant.get("/probe?top=3")
    assert response.status_code == 200, response.text
    assert response.json() == {"count": 3}
    assert on_loop(runs) == [database.dialect == "sqlite"], "PostgreSQL waits on the network: always a thread"


def test_a_read_past_the_budget_is_finished_on_a_thread_not_cut_short(
    database: Database, tenant: Tenant, runs: Runs, client: TestClient
) -> None:
    tenant.get("/probe?top=3")
    runs.threads.clear()
    response = tenant.get("/probe?top=3000000")  # far past 20 ms, well within the 3 s timeout
    assert response.status_code == 200, response.text
    assert response.json() == {"count": 3000000}
    if database.dialect == "sqlite":
        assert on_loop(runs) == [True, False], "tried inline, interrupted at the budget, finished on a thread"
        runs.threads.clear()
        assert tenant.get("/probe?top=3000000").json() == {"count": 3000000}
        assert on_loop(runs) == [False], "remembered as slow: straight to a thread, no second interruption"
        runs.threads.clear()
        assert tenant.get("/probe?top=3").status_code == 200
        assert on_loop(runs) == [True], "only that query is remembered"
    else:
        assert on_loop(runs) == [False]


def test_the_real_statement_timeout_still_answers_503(tenant: Tenant, runs: Runs) -> None:
    response = tenant.get("/probe?endless=1")
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "QueryTimeout"
    assert "longer than 3 s" in response.json()["error"]["message"], "the full timeout, not the inline budget"


def test_a_timeout_at_or_below_the_budget_is_not_retried(database: Database, runs: Runs) -> None:
    settings = Settings(database_url=database.url, statement_timeout_ms=10, inline_read_ms=BUDGET_MS)
    with TestClient(app_with_probe(database, settings, runs), base_url="http://testserver") as client:
        tenant = make_tenant(database, client)
        tenant.get("/probe?top=3")
        runs.threads.clear()
        response = tenant.get("/probe?endless=1")
    assert response.status_code == 503, response.text
    assert "longer than 0.01 s" in response.json()["error"]["message"]
    assert len(runs.threads) == 1, "the statement timeout is the user's; it is not a reason to try again"


def test_a_read_run_twice_is_charged_once(database: Database, runs: Runs) -> None:
    settings = Settings(database_url=database.url, inline_read_ms=BUDGET_MS, rate_user=Rate(0.001, 50))
    with TestClient(app_with_probe(database, settings, runs), base_url="http://testserver") as client:
        tenant = make_tenant(database, client)
        first = tenant.get("/probe?top=3")  # hashed on a thread after an inline try
        slow = tenant.get("/probe?top=3000000")  # interrupted inline, finished on a thread (SQLite)
        fast = tenant.get("/probe?top=3")
    remaining = [int(response.headers["RateLimit-Remaining"]) for response in (first, slow, fast)]
    assert remaining == [49, 48, 47]


def test_a_new_password_is_hashed_off_the_loop_and_the_read_answers(
    database: Database, runs: Runs, client: TestClient
) -> None:
    tenant = make_tenant(database, client)
    response = tenant.get("/probe?top=5")
    assert response.status_code == 200 and response.json() == {"count": 5}
    assert on_loop(runs) == [False], "argon2 takes tens of ms: the work ran once, on a thread"


def test_bulk_pages_never_run_inline(tenant: Tenant, database: Database) -> None:
    """The policy itself: large pages go to a thread, small ones and unknown engines as described."""
    policy = InlineReads(BUDGET_MS)
    scope: dict[str, Any] = {"type": "http", "path": "/api/Jobs", "headers": [], "query_string": b""}
    small = Request({**scope, "headers": [(b"prefer", b"odata.maxpagesize=100")]})
    bulk = Request({**scope, "headers": [(b"prefer", b"odata.maxpagesize=5000")]})
    bulk_but_top = Request({**scope, "headers": [(b"prefer", b"odata.maxpagesize=5000")], "query_string": b"$top=10"})
    garbage = Request({**scope, "query_string": b"$top=lots"})
    superscript = Request({**scope, "query_string": "$top=²".encode()})
    expected = database.dialect == "sqlite"
    assert (policy.key(small, database, 20) is not None) == expected
    assert (policy.key(bulk_but_top, database, 20) is not None) == expected
    assert policy.key(bulk, database, 20) is None
    assert policy.key(garbage, database, 20) is None, "the thread reports the 400"
    assert policy.key(superscript, database, 20) is None
    assert InlineReads(0).key(small, database, 20) is None, "ODYSSEE_INLINE_READ_MS=0 turns it off"
    assert tenant.get("/api/Jobs?$top=lots").status_code == 400
