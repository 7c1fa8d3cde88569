"""The retry policy, unit-tested on an httpx.MockTransport stub (the one place a stub stands in
for the server: it makes 503s, 429s, HTTP-date Retry-After and dropped connections on demand)."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from odyssee.client import Client, InvalidInput, ServerError, TooManyRequests
from odyssee.client._core import RetryPolicy, retry_after

Script = list[Callable[[httpx.Request], httpx.Response]]


def _status(status: int, **headers: str) -> Callable[[httpx.Request], httpx.Response]:
    def answer(_request: httpx.Request) -> httpx.Response:
        body = {"error": {"code": f"E{status}", "message": "try later", "target": None, "details": []}}
        return httpx.Response(status, json=body, headers=headers)

    return answer


def _ok(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"value": [{"id": "1"}]})


def _raise(error: type[httpx.TransportError]) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        raise error("boom", request=request)

    return answer


class Stub:
    def __init__(self, *script: Callable[[httpx.Request], httpx.Response], **options: float) -> None:
        self.script: Iterator[Callable[[httpx.Request], httpx.Response]] = iter(script)
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []
        http = httpx.Client(transport=httpx.MockTransport(self._answer))
        self.client = Client("http://stub", username="u", password="p", domain="D", http=http, **options)
        self.client._core._sleep = self.sleeps.append

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return next(self.script)(request)


def test_retry_after_seconds_and_http_date_are_honoured_and_capped() -> None:
    soon = email.utils.formatdate(time.time() + 3, usegmt=True)
    later = email.utils.formatdate(time.time() + 3600, usegmt=True)
    stub = Stub(
        _status(503, **{"Retry-After": "2"}),
        _status(429, **{"Retry-After": soon}),
        _status(503, **{"Retry-After": later}),
        _ok,
        max_backoff=30,
    )
    assert stub.client.set("Company").list() == [{"id": "1"}]
    assert len(stub.requests) == 4
    assert stub.sleeps[0] == 2.0
    assert 1.0 <= stub.sleeps[1] <= 3.0
    assert stub.sleeps[2] == 30.0  # an hour's hint is capped


def test_exponential_backoff_with_jitter_then_give_up() -> None:
    stub = Stub(*[_status(502)] * 4, backoff=0.5)
    with pytest.raises(ServerError) as raised:
        stub.client.set("Company").count()
    assert raised.value.status == 502 and raised.value.code == "E502"
    assert len(stub.requests) == 4  # the first try and 3 retries
    for sleep, base in zip(stub.sleeps, (0.5, 1.0, 2.0), strict=True):
        assert base <= sleep <= base * 1.1


def test_too_many_requests_after_every_retry_carries_the_hint() -> None:
    stub = Stub(*[_status(429, **{"Retry-After": "1"})] * 3, retries=2)
    with pytest.raises(TooManyRequests) as raised:
        stub.client.set("Company").list()
    assert raised.value.retry_after == 1.0 and stub.sleeps == [1.0, 1.0]


def test_no_retries_when_disabled_and_none_for_client_errors() -> None:
    stub = Stub(_status(503), retries=0)
    with pytest.raises(ServerError):
        stub.client.set("Company").list()
    assert len(stub.requests) == 1
    stub = Stub(_status(400))
    with pytest.raises(InvalidInput):
        stub.client.set("Company").list()
    assert len(stub.requests) == 1 and stub.sleeps == []


def test_500_is_retried_only_when_replaying_is_safe() -> None:
    stub = Stub(_status(500), _ok)
    assert stub.client.set("Company").list() == [{"id": "1"}]  # a GET
    stub = Stub(_status(500), _ok)
    with pytest.raises(ServerError):
        stub.client.batch([{"method": "POST", "url": "Company", "body": {"name": "x"}}])
    assert len(stub.requests) == 1  # a $batch may have done part of its work


def test_connection_errors() -> None:
    stub = Stub(_raise(httpx.ReadError), _raise(httpx.ConnectError), _ok)
    assert stub.client.set("Company").list() == [{"id": "1"}]
    assert len(stub.requests) == 3

    batch_ok = httpx.Response(200, json={"responses": [{"id": "1", "status": 200, "body": {}}]})
    stub = Stub(_raise(httpx.ConnectError), _status(503), lambda _r: batch_ok)  # never sent / not processed
    assert stub.client.batch([{"method": "GET", "url": "Company"}])[0]["status"] == 200
    assert len(stub.requests) == 3

    stub = Stub(_raise(httpx.ReadError), _ok)  # sent, outcome unknown: a batch is not replayed
    with pytest.raises(httpx.ReadError):
        stub.client.batch([{"method": "POST", "url": "Company", "body": {"name": "x"}}])
    assert len(stub.requests) == 1

    stub = Stub(*[_raise(httpx.ConnectError)] * 4)
    with pytest.raises(httpx.ConnectError):
        stub.client.set("Company").list()
    assert len(stub.requests) == 4


def test_create_is_retried_with_the_same_client_id() -> None:
    stub = Stub(_raise(httpx.ReadTimeout), _status(504), lambda r: httpx.Response(201, content=r.content))
    created = stub.client.set("Company").create({"name": "x"})
    ids = {__import__("orjson").loads(r.content)["id"] for r in stub.requests}
    assert len(stub.requests) == 3 and ids == {created["id"]}


def test_retry_after_parsing() -> None:
    assert retry_after(httpx.Response(503, headers={"Retry-After": "1.5"})) == 1.5
    assert retry_after(httpx.Response(503, headers={"Retry-After": "-3"})) == 0.0
    assert retry_after(httpx.Response(503, headers={"Retry-After": "soon"})) is None
    assert retry_after(httpx.Response(503)) is None
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert retry_after(httpx.Response(503, headers={"Retry-After": past})) == 0.0
    assert RetryPolicy(backoff=10, max_backoff=3).delay(5, None) == 3


def test_a_query_timeout_is_not_retried() -> None:
    """503 QueryTimeout (docs/limits.md): the same query would time out again; the caller hears at once."""

    def timeout(_request: httpx.Request) -> httpx.Response:
        body = {"error": {"code": "QueryTimeout", "message": "took longer than 30 s", "target": None, "details": []}}
        return httpx.Response(503, json=body)

    stub = Stub(timeout, _ok)
    with pytest.raises(ServerError, match="QueryTimeout"):
        stub.client.set("Company").list()
    assert len(stub.requests) == 1 and stub.sleeps == []
