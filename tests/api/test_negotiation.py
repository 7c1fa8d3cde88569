"""Reading a request (api/negotiation.py): query strings kept parsed from one request to the next."""

from __future__ import annotations

from starlette.requests import Request

from odyssee.api import negotiation


def _request(query: bytes) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/api/Jobs", "query_string": query, "headers": []})


def test_a_kept_query_string_gives_each_request_its_own_parameters() -> None:
    first = negotiation.query_of(_request(b"%24top=5&%24filter=name%20eq%20%27a%26b%27&%24top=7"))
    assert first == {"$top": "7", "$filter": "name eq 'a&b'"}, "decoded, and the last of a repeated name wins"
    first["$top"] = "changed by the first request"
    again = negotiation.query_of(_request(b"%24top=5&%24filter=name%20eq%20%27a%26b%27&%24top=7"))
    assert again == {"$top": "7", "$filter": "name eq 'a&b'"}


def test_long_query_strings_are_parsed_but_not_kept() -> None:
    negotiation._QUERIES.clear()
    long = b"$filter=" + b"x" * negotiation.KEPT_QUERY_BYTES
    assert negotiation.query_of(_request(long)) == {"$filter": "x" * negotiation.KEPT_QUERY_BYTES}
    assert negotiation.query_of(_request(b"$top=1")) == {"$top": "1"}
    assert list(negotiation._QUERIES) == [b"$top=1"]
