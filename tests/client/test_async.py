"""AsyncClient against the real app through httpx.ASGITransport."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from odyssee.api.app import create_app
from odyssee.client import AsyncClient, Conflict, F, InvalidInput, NotFound
from odyssee.db.engine import Database
from odyssee.settings import Settings
from tests.client.conftest import PASSWORD, USERNAME
from tests.conftest import Tenant


class LoseFirstResponse(httpx.AsyncBaseTransport):
    """Delivers requests to the app, but loses the response of the first one of ``method``:
    the server did the work, the client saw a dropped connection."""

    def __init__(self, inner: httpx.AsyncBaseTransport, method: str) -> None:
        self.inner, self.method, self.lost = inner, method, 0
        self.seen: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        response = await self.inner.handle_async_request(request)
        if request.method == self.method and not self.lost:
            self.lost += 1
            await response.aclose()
            raise httpx.ReadError("connection reset", request=request)
        return response


def run(
    database: Database,
    tenant: Tenant,
    work: Callable[[AsyncClient], Awaitable[Any]],
    wrap: Callable[[httpx.AsyncBaseTransport], httpx.AsyncBaseTransport] = lambda t: t,
) -> Any:
    async def main() -> Any:
        app = create_app(Settings(database_url=database.url), database)
        transport = wrap(httpx.ASGITransport(app=app))
        http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        async with (
            http,
            AsyncClient(
                "http://testserver/api", username=USERNAME, password=PASSWORD, domain=tenant.domain, http=http
            ) as client,
        ):
            client._sleep = _no_sleep
            return await work(client)

    return asyncio.run(main())


async def _no_sleep(_seconds: float) -> None:
    return None


def test_crud_paging_and_count(database: Database, tenant: Tenant) -> None:
    async def work(client: AsyncClient) -> None:
        companies = client.set("Company")
        created = [await companies.create({"name": f"N{n}", "code": f"K{n}"}) for n in range(5)]
        assert await companies.get(created[0]["id"]) == created[0]
        assert (await companies.get_by_key("K1"))["id"] == created[1]["id"]
        assert [r["code"] async for r in companies.order_by("code desc").page_size(2).iter()] == [
            "K4",
            "K3",
            "K2",
            "K1",
            "K0",
        ]
        assert len([r async for r in companies]) == 5
        assert await companies.count() == 5
        assert await companies.filter(F("code").in_(["K1", "K2"])).count() == 2
        assert (await companies.order_by("code").first())["code"] == "K0"  # type: ignore[index]
        assert [r["name"] for r in await companies.filter(F("name") == "N3").select("name").list()] == ["N3"]

        replaced = await companies.update(created[0]["id"], {"name": "Renamed", "code": "K0"})
        assert replaced["name"] == "Renamed"
        assert (await companies.patch(created[0]["id"], {"city": "Gent"}))["city"] == "Gent"  # type: ignore[index]
        upserted = await companies.upsert("NEW", {"name": "Upserted"}, minimal=True)
        assert set(upserted) == {"id"} and (await companies.get_by_key("NEW"))["id"] == upserted["id"]

        files = client.set("DbFile")
        file = await files.create({"name": "f", "file_content": b"\x00\x01bytes"}, minimal=True)
        assert await files.content(file["id"]) == b"\x00\x01bytes"
        await files.delete(file["id"])
        with pytest.raises(NotFound):
            await files.get(file["id"])
        with pytest.raises(Conflict):
            await companies.create({"name": "dup", "code": "K1"})
        with pytest.raises(InvalidInput) as invalid:
            await companies.create({"name": ""})
        assert invalid.value.details[0]["target"] == "name"

        answers = await client.batch([{"method": "POST", "url": "Company", "body": {"name": "B", "code": "B"}}])
        assert answers[0]["status"] == 201

    run(database, tenant, work)


def test_a_create_whose_response_was_lost_returns_the_row_it_made(database: Database, tenant: Tenant) -> None:
    transports: list[LoseFirstResponse] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        transports.append(LoseFirstResponse(inner, "POST"))
        return transports[0]

    async def work(client: AsyncClient) -> tuple[dict[str, Any], int]:
        created = await client.set("Company").create({"name": "Once", "code": "ONCE"})
        return created, await client.set("Company").count()

    created, count = run(database, tenant, work, wrap)
    assert created["name"] == "Once" and count == 1
    posts = [r for r in transports[0].seen if r.method == "POST"]
    assert len(posts) == 2 and posts[0].content == posts[1].content  # the same client-chosen id both times
    uuid.UUID(created["id"])


def test_a_delete_whose_response_was_lost_succeeds(database: Database, tenant: Tenant) -> None:
    async def work(client: AsyncClient) -> int:
        job_types = client.set("JobType")
        made = await job_types.create({"code": "X", "name": "Express"})
        await job_types.delete(made["id"])
        return await job_types.filter(F("id") == made["id"]).count()

    transports: list[LoseFirstResponse] = []

    def wrap(inner: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        transports.append(LoseFirstResponse(inner, "DELETE"))
        return transports[0]

    assert run(database, tenant, work, wrap) == 0
    assert [r.method for r in transports[0].seen].count("DELETE") == 2  # the retry found it gone: success
