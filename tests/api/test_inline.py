"""Short reads and writes run on the event loop; on SQLite anything long leaves it (api/inline.py,
db/inline.py), on PostgreSQL it awaits the database there.

What users depend on: every request answers exactly as before, whatever thread it ran on; one
that outgrows SQLite's inline budget is finished on a worker thread under the full statement
timeout (never cut short, never a 503 of its own); a long PostgreSQL query on the loop holds up
no other request; the real timeout still answers 503; a request is charged to the rate limit once
however many tries it took; a write tried twice changes the data once; the policy sends a slow
SQLite query straight to a thread the next time; and the loop's PostgreSQL connections close
with the app. The test route below
runs a chosen SQL statement (after an INSERT, for a POST) through the API's own runner
(``routes.run``: authentication, admission, transaction) and reports the thread it ran on.
"""

from __future__ import annotations

import asyncio
import threading
import time
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
from odyssee.api.inline import MAX_BODY_BYTES, InlinePolicy
from odyssee.db import row_security
from odyssee.db.engine import LOOP_APPLICATION_NAME, Database
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
    """The app with ``/probe``: a GET counts to ``top``; a POST first inserts a row into ``probe``
    (so a write run twice would show as two rows), then counts."""
    with database.engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE IF NOT EXISTS probe (x integer)"))
        if database.dialect == "postgresql":
            row_security.grant(connection)  # the tenant role writes it, like every table of the schema
    app = create_app(settings, database)

    async def probe(request: Request) -> JSONResponse:
        runs.loop = threading.get_ident()
        sql = ENDLESS if "endless" in request.query_params else COUNT_TO
        top = int(request.query_params.get("top", "3"))
        write = request.method == "POST"

        def work(session: Any, _actor: Any) -> int:
            runs.threads.append(threading.get_ident())
            if write:
                session.execute(sa.text("INSERT INTO probe (x) VALUES (:top)"), {"top": top})
            return int(session.execute(sa.text(sql), {"top": top}).scalar_one())

        return JSONResponse({"count": await routes.run(request, work, write=write)})

    app.router.routes.insert(0, Route("/probe", probe, methods=["GET", "POST"]))
    return app


def probe_rows(database: Database) -> list[int]:
    with database.engine.connect() as connection:
        return list(connection.execute(sa.text("SELECT x FROM probe ORDER BY x")).scalars())


@pytest.fixture
def runs() -> Runs:
    return Runs()


@pytest.fixture
def client(database: Database, runs: Runs) -> Iterator[TestClient]:
    settings = Settings(
        database_url=database.url, statement_timeout_ms=3000, inline_read_ms=BUDGET_MS, inline_write_ms=BUDGET_MS
    )
    with TestClient(app_with_probe(database, settings, runs), base_url="http://testserver") as client:
        yield client


@pytest.fixture
def tenant(database: Database, client: TestClient) -> Tenant:
    return make_tenant(database, client)


def on_loop(runs: Runs) -> list[bool]:
    return [thread == runs.loop for thread in runs.threads]


def test_a_short_read_runs_on_the_event_loop(tenant: Tenant, runs: Runs) -> None:
    tenant.get("/probe?top=3")  # the first call hashes the password: on a thread, whatever the engine
    runs.threads.clear()
    response = tenant.get("/probe?top=3")
    assert response.status_code == 200, response.text
    assert response.json() == {"count": 3}
    assert on_loop(runs) == [True]


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
        assert on_loop(runs) == [True], "PostgreSQL: awaited on the loop to its end, under the full timeout"


def test_a_long_query_holds_up_no_other_request(tenant: Tenant, runs: Runs) -> None:
    """SQLite moves it to a thread at the budget; PostgreSQL awaits it on the loop, which serves
    others meanwhile (psycopg's asyncio connection)."""
    tenant.get("/probe?top=3")
    finished: dict[str, float] = {}

    def long_read() -> None:
        assert tenant.get("/probe?top=3000000").json() == {"count": 3000000}
        finished["long"] = time.monotonic()

    started = time.monotonic()
    reader = threading.Thread(target=long_read)
    reader.start()
    try:
        time.sleep(0.05)  # the long read is under way
        assert tenant.get("/probe?top=3").json() == {"count": 3}
        finished["short"] = time.monotonic()
    finally:
        reader.join(timeout=30)
    assert "long" in finished, "the long read answered"
    assert finished["short"] < finished["long"], (
        f"the short read waited for the long one (short after {finished['short'] - started:.3f} s, "
        f"long after {finished['long'] - started:.3f} s)"
    )


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
    """The policy itself: large pages and unparsable sizes go to a thread, small pages inline."""
    policy = InlinePolicy(BUDGET_MS, BUDGET_MS)
    scope: dict[str, Any] = {"type": "http", "method": "GET", "path": "/api/Jobs", "headers": [], "query_string": b""}
    small = Request({**scope, "headers": [(b"prefer", b"odata.maxpagesize=100")]})
    bulk = Request({**scope, "headers": [(b"prefer", b"odata.maxpagesize=5000")]})
    bulk_but_top = Request({**scope, "headers": [(b"prefer", b"odata.maxpagesize=5000")], "query_string": b"$top=10"})
    garbage = Request({**scope, "query_string": b"$top=lots"})
    superscript = Request({**scope, "query_string": "$top=²".encode()})
    assert policy.key(small, 20, write=False) is not None
    assert policy.key(bulk_but_top, 20, write=False) is not None
    assert policy.key(bulk, 20, write=False) is None
    assert policy.key(garbage, 20, write=False) is None, "the thread reports the 400"
    assert policy.key(superscript, 20, write=False) is None
    assert InlinePolicy(0, BUDGET_MS).key(small, 20, write=False) is None, "ODYSSEE_INLINE_READ_MS=0: off"
    assert tenant.get("/api/Jobs?$top=lots").status_code == 400


def test_a_short_write_runs_on_the_event_loop(database: Database, tenant: Tenant, runs: Runs) -> None:
    tenant.get("/probe?top=3")
    runs.threads.clear()
    response = tenant.post("/probe?top=3")
    assert response.status_code == 200, response.text
    assert on_loop(runs) == [True]
    assert probe_rows(database) == [3]


def test_a_write_past_the_budget_is_finished_on_a_thread_and_changes_the_data_once(
    database: Database, tenant: Tenant, runs: Runs
) -> None:
    tenant.get("/probe?top=3")
    runs.threads.clear()
    response = tenant.post("/probe?top=3000000")
    assert response.status_code == 200, response.text
    assert response.json() == {"count": 3000000}
    assert probe_rows(database) == [3000000], "the interrupted try was rolled back: one row, not two"
    if database.dialect == "sqlite":
        assert on_loop(runs) == [True, False]
        runs.threads.clear()
        tenant.post("/probe?top=3000000")
        assert on_loop(runs) == [False], "remembered as slow"
        runs.threads.clear()
        tenant.get("/probe?top=3000000")
        assert on_loop(runs) == [True, False], "the memory is per method: the GET was not slow yet"
    else:
        assert on_loop(runs) == [True], "PostgreSQL: one try, awaited on the loop"


def test_a_write_never_waits_on_the_loop_for_a_writer_on_a_thread(
    database: Database, tenant: Tenant, runs: Runs
) -> None:
    """A ``$batch`` (or the background worker) on a thread holds this process's write lock: a
    write arriving meanwhile waits for it on a thread, so the event loop keeps serving reads."""
    tenant.get("/probe?top=3")
    runs.threads.clear()
    writer = database._writer
    if writer is None:  # PostgreSQL has no such lock: a writer waits for row locks with an await
        assert tenant.post("/probe?top=4").status_code == 200
        assert on_loop(runs) == [True]
        return
    writer.acquire()
    release = threading.Timer(0.3, writer.release)
    release.start()
    try:
        response = tenant.post("/probe?top=4")
    finally:
        release.join()
    assert response.status_code == 200, response.text
    assert on_loop(runs) == [False], "it left the loop before doing anything, and ran once, on a thread"
    assert probe_rows(database) == [4]


def test_a_write_run_twice_is_charged_once(database: Database, runs: Runs) -> None:
    settings = Settings(
        database_url=database.url, inline_read_ms=BUDGET_MS, inline_write_ms=BUDGET_MS, rate_user=Rate(0.001, 50)
    )
    with TestClient(app_with_probe(database, settings, runs), base_url="http://testserver") as client:
        tenant = make_tenant(database, client)
        first = tenant.post("/probe?top=3")  # hashed on a thread after an inline try
        slow = tenant.post("/probe?top=3000000")  # interrupted inline, finished on a thread (SQLite)
    remaining = [int(response.headers["RateLimit-Remaining"]) for response in (first, slow)]
    assert remaining == [49, 48]
    assert probe_rows(database) == [3, 3000000]


def test_the_write_policy_keeps_large_bodies_and_unknown_sizes_off_the_loop(database: Database) -> None:
    policy = InlinePolicy(BUDGET_MS, BUDGET_MS)
    scope: dict[str, Any] = {"type": "http", "method": "POST", "path": "/api/Jobs", "query_string": b""}

    def request(method: str, *headers: tuple[bytes, bytes]) -> Request:
        return Request({**scope, "method": method, "headers": list(headers)})

    small = request("POST", (b"content-length", b"512"))
    assert policy.key(small, 20, write=True) is not None
    assert policy.key(request("DELETE"), 20, write=True) is not None, "no body at all"
    large = request("POST", (b"content-length", str(MAX_BODY_BYTES + 1).encode()))
    assert policy.key(large, 20, write=True) is None, "a file upload decodes and stores megabytes"
    assert policy.key(request("PATCH", (b"transfer-encoding", b"chunked")), 20, write=True) is None
    assert InlinePolicy(BUDGET_MS, 0).key(small, 20, write=True) is None, "ODYSSEE_INLINE_WRITE_MS=0: off"
    reads_off = InlinePolicy(0, BUDGET_MS)
    assert reads_off.key(small, 20, write=True) is not None, "each switch is its own"


def _loop_connections(database: Database) -> int:
    """The PostgreSQL connections of event loops (db/engine.py) open on the test's database."""
    with database.engine.connect() as connection:
        return int(
            connection.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND application_name = :name"
                ),
                {"name": LOOP_APPLICATION_NAME},
            ).scalar_one()
        )


def test_the_loops_connections_close_with_the_app(database: Database, runs: Runs) -> None:
    """PostgreSQL: the loop's asyncio connections serve while the app runs and are closed at its
    shutdown, on their own loop (a connection left open would hold a server backend until the
    process ends). SQLite's inline work needs no engine of its own."""
    if database.dialect == "sqlite":

        async def serve() -> bool:
            await database.serve_loop()
            try:
                return database.serves_loop()
            finally:
                await database.release_loop()

        assert asyncio.run(serve()) is False
        return
    settings = Settings(database_url=database.url, inline_read_ms=BUDGET_MS, inline_write_ms=BUDGET_MS)
    with TestClient(app_with_probe(database, settings, runs), base_url="http://testserver") as client:
        tenant = make_tenant(database, client)
        tenant.get("/probe?top=3")
        runs.threads.clear()
        assert tenant.post("/probe?top=3").status_code == 200
        assert on_loop(runs) == [True]
        assert _loop_connections(database) >= 1
    assert _loop_connections(database) == 0


def _drained(database: Database) -> list[sa.Connection]:
    """Every connection the threads' pool will still hand out (1 + 10 overflow, less any kept)."""
    held = []
    for _ in range(11):
        try:
            held.append(database.engine.connect())
        except sa.exc.TimeoutError:
            break
    return held


def test_a_request_that_finds_every_connection_busy_answers_503(database_url: str, runs: Runs) -> None:
    """A pool that hands out no connection within its timeout is a 503 ``ServerBusy`` in the
    OData error format, not a 500, on a worker thread (its pool is drained here) and, on
    PostgreSQL, on the event loop (its one connection held by a long read)."""
    database = Database(database_url, pool_size=1, pool_timeout_s=0.2)
    settings = Settings(database_url=database_url, inline_read_ms=BUDGET_MS, inline_write_ms=BUDGET_MS)
    try:
        with TestClient(app_with_probe(database, settings, runs), base_url="http://testserver") as client:
            tenant = make_tenant(database, client)
            assert tenant.get("/probe?top=3").status_code == 200
            held = _drained(database)
            try:
                busy = tenant.get("/api/Jobs", headers={"Prefer": "odata.maxpagesize=5000"})  # a bulk page: a thread
            finally:
                for connection in held:
                    connection.close()
            assert busy.status_code == 503, busy.text
            assert busy.json()["error"]["code"] == "ServerBusy"
            assert tenant.get("/probe?top=3").status_code == 200, "and serves again once a connection is free"
            if database.dialect == "postgresql":
                answers: list[int] = []
                reader = threading.Thread(target=lambda: answers.append(tenant.get("/probe?top=3000000").status_code))
                reader.start()
                time.sleep(0.05)  # the long read holds the loop's only connection
                try:
                    busy = tenant.get("/probe?top=3")
                finally:
                    reader.join(timeout=30)
                assert busy.status_code == 503, busy.text
                assert busy.json()["error"]["code"] == "ServerBusy"
                assert answers == [200], "the long read itself answered"
    finally:
        database.dispose()
