"""The SDK over real HTTP: a uvicorn server on 127.0.0.1 and httpx's own transport."""

from __future__ import annotations

import httpx
import pytest

from odyssee.client import Client, F, NotFound, Unauthorized


class LoseFirstPost(httpx.HTTPTransport):
    """A real transport that drops the response of the first POST after the server handled it."""

    def __init__(self) -> None:
        super().__init__()
        self.posts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method == "POST":
            self.posts += 1
            if self.posts == 1:
                response.close()
                raise httpx.RemoteProtocolError("server disconnected", request=request)
        return response


def test_round_trip_over_real_http(live: tuple[str, dict[str, str]]) -> None:
    base_url, _headers = live
    responses: list[httpx.Response] = []
    http = httpx.Client(event_hooks={"response": [responses.append]})
    with (
        http,
        Client(
            base_url, username="api", password="pw-race", domain="RACE", http=http, compress_requests=True
        ) as client,
    ):
        companies = client.set("Company")
        for n in range(5):
            companies.create({"name": f"Live {n}", "code": f"L{n}", "notes": "x" * 2000})
        rows = companies.select("code", "notes").order_by("code").page_size(2).list()
        assert [r["code"] for r in rows] == ["L0", "L1", "L2", "L3", "L4"]
        assert all(r["notes"] == "x" * 2000 for r in rows)
        assert any(r.headers.get("content-encoding") == "gzip" for r in responses)  # compressed both ways
        assert companies.filter(F("code") >= "L3").count() == 2
        with pytest.raises(NotFound):
            companies.get_by_key("nope")
    with Client(base_url + "/api", username="api", password="wrong", domain="RACE") as stranger:  # its own httpx
        with pytest.raises(Unauthorized) as refused:
            stranger.set("Company").count()
        assert refused.value.response is not None
        assert refused.value.response.headers["www-authenticate"].startswith("Basic")


def test_a_lost_create_response_is_retried_safely(live: tuple[str, dict[str, str]]) -> None:
    base_url, _headers = live
    transport = LoseFirstPost()
    with (
        httpx.Client(transport=transport) as http,
        Client(base_url, username="api", password="pw-race", domain="RACE", http=http, backoff=0.01) as client,
    ):
        created = client.set("Company").create({"name": "Exactly once", "code": "E1"})
        assert transport.posts == 2
        assert client.set("Company").filter(F("code") == "E1").list() == [created]
