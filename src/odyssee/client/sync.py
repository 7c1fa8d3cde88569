"""The synchronous client: :class:`Client` and its :class:`EntitySet`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
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


class Client:
    """A connection to one tenant of an odyssee server.

    ``Client("http://127.0.0.1:8000", username="APIUser", password="123456", domain="TESTAPI")``;
    ``base_url`` may end with ``/api`` or not. ``http`` is an ``httpx.Client`` to send with
    (it is then not closed by :meth:`close`); otherwise one is made with ``timeout``.
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
        http: httpx.Client | None = None,
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
        self._http = http if http is not None else httpx.Client(timeout=timeout)

    @property
    def root(self) -> str:
        """The service root, ``http://host:port/api/``."""
        return self._core.root

    def set(self, name: str) -> EntitySet[dict[str, Any]]:
        """The entity set (controller) ``name``: ``Company``, ``Jobs``, ``JobApproval``, ``DbFile`` …"""
        return EntitySet(self, name)

    def typed_set(self, row_type: type[T], name: str) -> EntitySet[T]:
        """Like :meth:`set`, with rows typed as ``row_type`` (e.g. ``entities.CompanyDict``)."""
        return EntitySet(self, name)

    def request(self, call: Call) -> httpx.Response:
        """Send ``call`` with retries; raise an :class:`ODataError` for an error status."""
        response, _ = self._send(call)
        raise_for(response)
        return response

    def _send(self, call: Call) -> tuple[httpx.Response, int]:
        """The final response (any status) and how many retries it took."""
        policy, attempt = self._core.policy, 0
        arguments = self._core.prepare(call)
        while True:
            try:
                response = self._http.request(**arguments)
            except transport_errors() as error:
                if not policy.retry_error(call, attempt, error):
                    raise
                delay = policy.delay(attempt, None)
            else:
                if not policy.retry_status(call, attempt, response.status_code, response):
                    return response, attempt
                delay = policy.delay(attempt, response)
                response.close()
            self._core._sleep(delay)
            attempt += 1

    def batch(self, requests: list[dict[str, Any]], *, atomic: bool = True) -> list[dict[str, Any]]:
        """One JSON ``$batch``: ``requests`` are ``{"method", "url", "body"?, "id"?, "headers"?}``,
        URLs relative to the service root (``Company``, ``Jobs(<id>)``, ``$1``). With ``atomic``
        they form one atomicity group: all succeed or none leaves a trace. Returns the responses
        (``{"id", "status", "headers", "body"}``) in order; a failed atomic group raises the
        error of the request that failed."""
        body = batch_body(requests, atomic)
        response = self.request(Call("POST", self._core.url("$batch"), body=body, replayable=False))
        return batch_result(loads(response), atomic)

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()


class EntitySet(SetCore, Generic[T]):
    """An entity set with query options; immutable (every builder call returns a new set)."""

    def __init__(self, client: Client, name: str, query: Query | None = None) -> None:
        self.client = client
        self.name = name
        self.query = query or Query()

    def _call(self, call: Call) -> httpx.Response:
        return self.client.request(call)

    def _url(self, path: str) -> str:
        return self.client._core.url(path)

    # reading

    def iter(self) -> Iterator[T]:
        """Every row, following ``@odata.nextLink`` page after page."""
        url: str | None = self._url(self.name)
        params: dict[str, str] | None = self.query.params()
        while url is not None:
            body = loads(self._call(Call("GET", url, params, headers=self._page_headers())))
            yield from cast(list[T], body["value"])
            url, params = body.get("@odata.nextLink"), None

    def page(self) -> Page[T]:
        """One page (``page_size`` rows, the server's default otherwise) and the link to the next:
        add ``.param("$skiptoken", page.skiptoken)`` to the same set for the page after it."""
        call = Call("GET", self._url(self.name), self.query.params(), headers=self._page_headers())
        return cast(Page[T], page_of(loads(self._call(call))))

    def __iter__(self) -> Iterator[T]:
        return self.iter()

    def list(self) -> list[T]:
        return list(self.iter())

    def first(self) -> T | None:
        """The first row (``$top=1``), or None."""
        body = loads(self._call(Call("GET", self._url(self.name), self._first_query().params())))
        rows = cast(list[T], body["value"])
        return rows[0] if rows else None

    def count(self) -> int:
        """How many rows match the filter (``/$count``; ``$top`` and ``$skip`` do not apply)."""
        params = {"$filter": text} if (text := self.query.filter_text()) else None
        response = self._call(Call("GET", self._url(f"{self.name}/$count"), params))
        return int(response.text.strip())

    def get(self, key: Key) -> T:
        """The entity with this id (with this set's ``select``/``expand``); NotFound if none."""
        response = self._call(Call("GET", self._url(self._path(key)), self.query.entity_params() or None))
        return cast(T, entity(loads(response)))

    def get_by_key(self, value: str, *, key: str | None = None) -> T:
        """The entity with this ERP key (``Company(code='C001')``); ``key`` names another column."""
        path = f"{self.name}({alternate_key_segment(self.name, value, key)})"
        response = self._call(Call("GET", self._url(path), self.query.entity_params() or None))
        return cast(T, entity(loads(response)))

    def content(self, key: Key) -> bytes:
        """The bytes of a file: ``DbFile(<id>)/$value``."""
        call = Call("GET", self._url(f"{self._path(key)}/$value"), headers={"Accept": "*/*"})
        return self._call(call).content

    # writing

    def create(self, body: Mapping[str, Any], *, minimal: bool = False) -> T:
        """POST a new entity; returns it (or only ``{"id": …}`` when ``minimal``).

        An ``id`` is chosen here when the body has none, so retrying after a lost response
        cannot create a second row: a retry answered 409 DuplicateKey on ``id`` returns the row
        the first attempt created."""
        sent = with_client_id(body)
        call = Call("POST", self._url(self.name), body=sent, headers=minimal_headers(minimal), replayable=True)
        response, retried = self.client._send(call)
        try:
            raise_for(response)
        except ODataError as error:
            if not (retried and duplicate_id(error)):
                raise
            return cast(T, {"id": sent["id"]} if minimal else self.get(sent["id"]))
        return cast(T, entity(loads(response)))

    def update(self, key: Key, body: Mapping[str, Any], *, etag: str | None = None, minimal: bool = False) -> T:
        """PUT: replace the whole entity (omitted properties return to their defaults)."""
        headers = {**minimal_headers(minimal), **if_match(etag)}
        response = self._call(Call("PUT", self._url(self._path(key)), body=dict(body), headers=headers))
        return cast(T, entity(loads(response)))

    def patch(self, key: Key, body: Mapping[str, Any], *, etag: str | None = None, minimal: bool = False) -> T | None:
        """PATCH: change only the given properties; returns the entity, or None when ``minimal``."""
        headers = {**minimal_headers(minimal), **if_match(etag)}
        response = self._call(Call("PATCH", self._url(self._path(key)), body=dict(body), headers=headers))
        return None if response.status_code == 204 else cast(T, entity(loads(response)))

    def upsert(self, value: str, body: Mapping[str, Any], *, key: str | None = None, minimal: bool = False) -> T:
        """PUT to the ERP key (``Company(code='C001')``): create the entity or replace it."""
        path = f"{self.name}({alternate_key_segment(self.name, value, key)})"
        response = self._call(Call("PUT", self._url(path), body=dict(body), headers=minimal_headers(minimal)))
        return cast(T, entity(loads(response)))

    def delete(self, key: Key, *, etag: str | None = None) -> None:
        """DELETE (hard or logical, per entity; see docs/api.md). A retry that finds the row
        already gone counts as success."""
        call = Call("DELETE", self._url(self._path(key)), headers=if_match(etag))
        response, retried = self.client._send(call)
        try:
            raise_for(response)
        except NotFound:
            if not retried:
                raise
