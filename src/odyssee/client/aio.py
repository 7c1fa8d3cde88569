"""The asynchronous client: :class:`AsyncClient` and its :class:`AsyncEntitySet`, the same
surface as :mod:`odyssee.client.sync` with ``await`` (and ``async for row in set.iter()``)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Mapping
from types import TracebackType
from typing import Any, Generic, TypeVar, cast

import httpx

from odyssee.client._core import (
    Call,
    ClientCore,
    Page,
    Query,
    SetCore,
    alternate_key_segment,
    batch_body,
    batch_result,
    duplicate_id,
    entity,
    if_match,
    loads,
    minimal_headers,
    page_of,
    raise_for,
    transport_errors,
    with_client_id,
)
from odyssee.client.errors import NotFound, ODataError

T = TypeVar("T", bound=Mapping[str, Any])
Key = uuid.UUID | str


class AsyncClient:
    """:class:`odyssee.client.Client` for asyncio, on an ``httpx.AsyncClient``.

    ``async with AsyncClient(base_url, username=…, password=…, domain=…) as client: …``
    """

    def __init__(
        self,
        base_url: str,
        username: str,
        password: str,
        domain: str | None = None,
        *,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        timeout: float = 30.0,
        compress_requests: bool = False,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._core = ClientCore(
            base_url,
            username,
            password,
            domain,
            retries=retries,
            backoff=backoff,
            max_backoff=max_backoff,
            compress_requests=compress_requests,
        )
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient(timeout=timeout)
        self._sleep = asyncio.sleep

    @property
    def root(self) -> str:
        return self._core.root

    def set(self, name: str) -> AsyncEntitySet[dict[str, Any]]:
        return AsyncEntitySet(self, name)

    def typed_set(self, row_type: type[T], name: str) -> AsyncEntitySet[T]:
        return AsyncEntitySet(self, name)

    async def request(self, call: Call) -> httpx.Response:
        response, _ = await self._send(call)
        raise_for(response)
        return response

    async def _send(self, call: Call) -> tuple[httpx.Response, int]:
        policy, attempt = self._core.policy, 0
        arguments = self._core.prepare(call)
        while True:
            try:
                response = await self._http.request(**arguments)
            except transport_errors() as error:
                if not policy.retry_error(call, attempt, error):
                    raise
                delay = policy.delay(attempt, None)
            else:
                if not policy.retry_status(call, attempt, response.status_code, response):
                    return response, attempt
                delay = policy.delay(attempt, response)
                await response.aclose()
            await self._sleep(delay)
            attempt += 1

    async def batch(self, requests: list[dict[str, Any]], *, atomic: bool = True) -> list[dict[str, Any]]:
        """See :meth:`odyssee.client.Client.batch`."""
        body = batch_body(requests, atomic)
        response = await self.request(Call("POST", self._core.url("$batch"), body=body, replayable=False))
        return batch_result(loads(response), atomic)

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.close()


class AsyncEntitySet(SetCore, Generic[T]):
    """An entity set with query options; immutable (every builder call returns a new set)."""

    def __init__(self, client: AsyncClient, name: str, query: Query | None = None) -> None:
        self.client = client
        self.name = name
        self.query = query or Query()

    async def _call(self, call: Call) -> httpx.Response:
        return await self.client.request(call)

    def _url(self, path: str) -> str:
        return self.client._core.url(path)

    async def iter(self) -> AsyncIterator[T]:
        """Every row, following ``@odata.nextLink``: ``async for row in jobs.iter(): …``."""
        url: str | None = self._url(self.name)
        params: dict[str, str] | None = self.query.params()
        while url is not None:
            body = loads(await self._call(Call("GET", url, params, headers=self._page_headers())))
            for row in cast(list[T], body["value"]):
                yield row
            url, params = body.get("@odata.nextLink"), None

    async def page(self) -> Page[T]:
        """One page (``page_size`` rows, the server's default otherwise) and the link to the next:
        add ``.param("$skiptoken", page.skiptoken)`` to the same set for the page after it."""
        call = Call("GET", self._url(self.name), self.query.params(), headers=self._page_headers())
        return cast(Page[T], page_of(loads(await self._call(call))))

    def __aiter__(self) -> AsyncIterator[T]:
        return self.iter()

    async def list(self) -> list[T]:
        return [row async for row in self.iter()]

    async def first(self) -> T | None:
        body = loads(await self._call(Call("GET", self._url(self.name), self._first_query().params())))
        rows = cast(list[T], body["value"])
        return rows[0] if rows else None

    async def count(self) -> int:
        params = {"$filter": text} if (text := self.query.filter_text()) else None
        response = await self._call(Call("GET", self._url(f"{self.name}/$count"), params))
        return int(response.text.strip())

    async def get(self, key: Key) -> T:
        response = await self._call(Call("GET", self._url(self._path(key)), self.query.entity_params() or None))
        return cast(T, entity(loads(response)))

    async def get_by_key(self, value: str, *, key: str | None = None) -> T:
        path = f"{self.name}({alternate_key_segment(self.name, value, key)})"
        response = await self._call(Call("GET", self._url(path), self.query.entity_params() or None))
        return cast(T, entity(loads(response)))

    async def content(self, key: Key) -> bytes:
        call = Call("GET", self._url(f"{self._path(key)}/$value"), headers={"Accept": "*/*"})
        return (await self._call(call)).content

    async def create(self, body: Mapping[str, Any], *, minimal: bool = False) -> T:
        sent = with_client_id(body)
        call = Call("POST", self._url(self.name), body=sent, headers=minimal_headers(minimal), replayable=True)
        response, retried = await self.client._send(call)
        try:
            raise_for(response)
        except ODataError as error:
            if not (retried and duplicate_id(error)):
                raise
            return cast(T, {"id": sent["id"]} if minimal else await self.get(sent["id"]))
        return cast(T, entity(loads(response)))

    async def update(self, key: Key, body: Mapping[str, Any], *, etag: str | None = None, minimal: bool = False) -> T:
        headers = {**minimal_headers(minimal), **if_match(etag)}
        response = await self._call(Call("PUT", self._url(self._path(key)), body=dict(body), headers=headers))
        return cast(T, entity(loads(response)))

    async def patch(
        self, key: Key, body: Mapping[str, Any], *, etag: str | None = None, minimal: bool = False
    ) -> T | None:
        headers = {**minimal_headers(minimal), **if_match(etag)}
        response = await self._call(Call("PATCH", self._url(self._path(key)), body=dict(body), headers=headers))
        return None if response.status_code == 204 else cast(T, entity(loads(response)))

    async def upsert(self, value: str, body: Mapping[str, Any], *, key: str | None = None, minimal: bool = False) -> T:
        path = f"{self.name}({alternate_key_segment(self.name, value, key)})"
        response = await self._call(Call("PUT", self._url(path), body=dict(body), headers=minimal_headers(minimal)))
        return cast(T, entity(loads(response)))

    async def delete(self, key: Key, *, etag: str | None = None) -> None:
        call = Call("DELETE", self._url(self._path(key)), headers=if_match(etag))
        response, retried = await self.client._send(call)
        try:
            raise_for(response)
        except NotFound:
            if not retried:
                raise
