"""The HTTP edge: turn a Starlette request into a :class:`~odyssee.api.messages.Call`, run it in a
transaction on a worker thread, and render the reply.

``/api/`` is the service document, ``/api/$batch`` the batch endpoint, and every other path
under ``/api/`` goes to the generic controller in :mod:`odyssee.api.resources`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.util import greenlet_spawn
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from odyssee.api import batch, resources
from odyssee.api.auth import parse_basic
from odyssee.api.inline import InlinePolicy
from odyssee.api.limits import BUDGET_KEY, RateLimiter
from odyssee.api.messages import Call
from odyssee.api.negotiation import accepted_format, query_of, read_body
from odyssee.api.responses import json_response, render
from odyssee.api.throttle import LoginThrottle
from odyssee.db.engine import Database, LoginsMoved
from odyssee.db.inline import Offload, inline
from odyssee.domain.actor import Actor
from odyssee.domain.logins import KnownLogins
from odyssee.domain.tenants import authenticate
from odyssee.model.errors import QueryTimeout, TooManyRequests, Unauthorized
from odyssee.model.registry import registry
from odyssee.settings import Settings

T = TypeVar("T")


def database_of(request: Request) -> Database:
    return request.app.state.database  # type: ignore[no-any-return]


def read_database_of(request: Request) -> Database:
    """Where a GET reads: the replica of ``ODYSSEE_READ_DATABASE_URL``, or the primary (docs/deployment.md)."""
    return request.app.state.read_database  # type: ignore[no-any-return]


def settings_of(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


_ROOTS: dict[tuple[Any, ...], str] = {}


def service_root(request: Request) -> str:
    """``http(s)://host/…/api/`` as the client addressed us. Starlette builds ``base_url`` anew on
    every request (a twentieth of a small GET), so the few distinct answers are kept."""
    scope = request.scope
    key = (scope.get("scheme"), request.headers.get("host"), tuple(scope.get("server") or ()), scope.get("root_path"),
           scope.get("app_root_path"))  # fmt: skip
    root = _ROOTS.get(key)
    if root is None:
        if len(_ROOTS) >= 256:  # the Host header is the client's to choose: stay bounded
            _ROOTS.clear()
        root = _ROOTS[key] = f"{request.base_url}api/"
    return root


def known_logins(request: Request, database: Database) -> KnownLogins | None:
    """The logins this process verified and keeps for transactions of ``database``
    (domain/logins.py): PostgreSQL only, one set per database (a replica's login epoch lags its
    primary's); None on SQLite, where a repeated login read is a kept result already
    (db/results.py) and costs no round trip."""
    kept: dict[int, KnownLogins] = request.app.state.known_logins
    return kept.get(id(database))


class Credentials:
    """The request's Basic credentials, checked in a given session of a database (call it),
    throttling failed logins (api/throttle.py) before the password is even looked at; the rest of
    the transaction then sees the login's tenant only, if the database has row-level security.

    :meth:`known` is the login's row this process kept (domain/logins.py), looked up before the
    transaction begins so that its ``BEGIN`` checks the row's login epoch and enters the wall for
    its tenant; given it, the check reads no credentials (domain/tenants.py ``authenticate``)."""

    def __init__(self, request: Request, database: Database) -> None:
        self._username, self._password, self._domain = parse_basic(request.headers.get("authorization"))
        self._login = (self._domain.upper(), self._username.lower())
        self._address = request.client.host if request.client else ""
        self._throttle: LoginThrottle = request.app.state.login_throttle
        self._wall = database.row_security
        self._logins = known_logins(request, database)

    def known(self) -> dict[str, Any] | None:
        return None if self._logins is None else self._logins.find(self._login)

    def forget(self) -> None:
        """The login epoch moved (:class:`~odyssee.db.engine.LoginsMoved`): no kept row is sure."""
        if self._logins is not None:
            self._logins.forget()

    def __call__(self, session: Any, known: dict[str, Any] | None = None) -> Actor:
        self._throttle.check(self._login, self._address)
        try:
            actor = authenticate(
                session, self._username, self._password, self._domain,
                wall=self._wall, logins=self._logins, known=known,
            )  # fmt: skip
        except Unauthorized:
            self._throttle.failed(self._login, self._address)
            raise
        self._throttle.succeeded(self._login)
        return actor


def admitter(request: Request) -> Callable[[Actor, int], None]:
    """A function that charges an authenticated call's cost to the rate limits (api/limits.py) and
    leaves the remaining budget for the ``RateLimit-*`` headers; 429 when the budget is spent."""
    limiter: RateLimiter = request.app.state.rate_limiter

    def admit(actor: Actor, cost: int) -> None:
        try:
            budget = limiter.charge(actor, cost)
        except TooManyRequests:
            request.scope.setdefault("state", {})[BUDGET_KEY] = limiter.peek(actor)
            raise
        if budget is not None:
            request.scope.setdefault("state", {})[BUDGET_KEY] = budget

    return admit


async def run(request: Request, work: Callable[[Any, Actor], T], *, write: bool) -> T:
    """Authenticate and admit, then do ``work(session, actor)``, all in one transaction: on a worker
    thread, or for a short read or write on the event loop itself (api/inline.py): on SQLite under
    the inline budget, on PostgreSQL in a greenlet whose every wait on the network is an await."""
    database = database_of(request) if write else read_database_of(request)
    check = Credentials(request, database)
    admit = admitter(request)
    settings = settings_of(request)
    timeout = settings.statement_timeout_ms
    hold = _debug_hold(request) if write else 0.0
    admitted = False

    def attempt(timeout_ms: int) -> T:
        known = check.known()
        if known is not None:
            try:
                return attempt_as(timeout_ms, known)
            except LoginsMoved:  # a credential or tenant changed since it was kept: read it again
                check.forget()
        return attempt_as(timeout_ms, None)

    def attempt_as(timeout_ms: int, known: dict[str, Any] | None) -> T:
        nonlocal admitted
        # One transaction for the credentials and the work: a second one cost as much as a read.
        tenant_id, epoch = (None, None) if known is None else (known["tenant_id"], known["login_epoch"])
        unit = (
            database.transaction(write=True, timeout_ms=timeout_ms, tenant_id=tenant_id, login_epoch=epoch)
            if write
            else database.reading(timeout_ms=timeout_ms, tenant_id=tenant_id, login_epoch=epoch)
        )
        with unit as session:
            actor = check(session, known)
            if not admitted:  # a request run again on a thread was charged on its first try
                admit(actor, 1)
                admitted = True
            result = work(session, actor)
            if hold:
                time.sleep(hold)
            return result

    policy: InlinePolicy = request.app.state.inline
    key = None if hold else policy.key(request, settings.page_size, write=write)
    if key is None:
        return await run_in_threadpool(attempt, timeout)
    if database.dialect == "postgresql":
        return await _awaited(database, attempt, timeout)
    return await _within_budget(policy, key, attempt, timeout, write=write)


async def _awaited(database: Database, attempt: Callable[[int], T], timeout: int) -> T:
    """PostgreSQL inline: ``attempt`` in a greenlet on the loop, each wait on the network an await
    (db/engine.py ``serve_loop``); no budget and no retry for a slow query, which holds up no one.
    An app whose lifespan did not run (a test client outside ``with``) has no loop engine: a thread."""
    if not database.serves_loop():
        return await run_in_threadpool(attempt, timeout)
    try:
        with inline():
            return await greenlet_spawn(attempt, timeout)
    except Offload:  # something slow that says so (a password not in the cache)
        return await run_in_threadpool(attempt, timeout)


async def _within_budget(
    policy: InlinePolicy, key: str, attempt: Callable[[int], T], timeout: int, *, write: bool
) -> T:
    """SQLite inline: ``attempt`` on the loop's thread under the inline budget, else on a thread."""
    budget = policy.budget_ms(write=write)
    budget = min(budget, timeout) if timeout else budget
    try:
        with inline():
            return attempt(budget)
    except Offload:  # something slow that says so (a password not in the cache), not the query
        return await run_in_threadpool(attempt, timeout)
    except QueryTimeout:
        if budget == timeout:  # the real statement timeout, not the inline budget
            raise
    started = time.monotonic()
    result = await run_in_threadpool(attempt, timeout)
    if (time.monotonic() - started) * 1000 > budget:  # slow again, not a cold cache: remember it
        policy.slow(key)
    return result


def _debug_hold(request: Request) -> float:
    """Seconds to keep a write's transaction open (settings.debug_hold; the soak test only), at most 10."""
    if not settings_of(request).debug_hold:
        return 0.0
    try:
        return min(max(float(request.headers.get("x-odyssee-debug-hold", "0")), 0.0), 10.0)
    except ValueError:
        return 0.0


async def call_of(request: Request, path: str) -> Call:
    body = b""
    if request.method in ("POST", "PUT", "PATCH"):
        body = await read_body(request, settings_of(request).max_body_bytes)
    return Call(
        method=request.method,
        path=path,
        query=query_of(request),
        headers=request.headers,
        body=body,
        root=service_root(request),
    )


async def service_document(request: Request) -> Response:
    accepted_format(request.headers)
    await run(request, lambda _session, _actor: None, write=False)
    root = service_root(request)
    sets = [{"name": spec.name, "kind": "EntitySet", "url": spec.name} for spec in registry()]
    return json_response({"@odata.context": f"{root}$metadata", "value": sets})


async def batch_request(request: Request) -> Response:
    body = await read_body(request, settings_of(request).max_body_bytes)
    database = database_of(request)
    return await batch.serve(
        request, body, database, settings_of(request), Credentials(request, database), admitter(request)
    )


async def resource(request: Request) -> Response:
    """Every entity set and entity (the generic controller, api/resources.py)."""
    fmt = accepted_format(request.headers)
    call = await call_of(request, request.path_params["path"])
    settings = settings_of(request)
    reply = await run(request, lambda s, a: resources.handle(s, a, call, settings), write=call.writes)
    return render(reply, fmt)


ROUTES = [
    Route("/api/", service_document, methods=["GET"]),
    Route("/api", service_document, methods=["GET"]),
    Route("/api/$batch", batch_request, methods=["POST"]),
    Route("/api/{path:path}", resource, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]),
]
