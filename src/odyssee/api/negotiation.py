"""Content negotiation: which format a client accepts, and reading request bodies and query strings.

JSON is the default both ways (reference.md §2.4). Compressed request bodies are inflated by
:mod:`odyssee.api.compression` before they get here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import orjson
from starlette.requests import Request

from odyssee.model.errors import (
    InvalidInput,
    NotAcceptable,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from odyssee.model.registry import EntitySpec
from odyssee.odata.xml import MEDIA_TYPES as _XML_TYPES
from odyssee.odata.xml import xml_to_payload

Format = Literal["json", "xml"]
_JSON_TYPES = ("application/json", "text/json")
_ACCEPTS_JSON = re.compile(r"(^|[,\s])(\*/\*|application/\*|application/json|text/json|text/\*)")
_ACCEPTS_XML = re.compile(r"(^|[,\s])(application/xml|text/xml)")


def accepted_format(headers: Mapping[str, str]) -> Format:
    """``xml`` when the client asks for XML, ``json`` otherwise; 406 when it accepts neither."""
    accept = (headers.get("accept") or "").lower()
    if not accept:
        return "json"
    xml = _ACCEPTS_XML.search(accept)
    json = _ACCEPTS_JSON.search(accept)
    if xml and (not json or xml.start() < json.start()):
        return "xml"
    if json:
        return "json"
    raise NotAcceptable(
        f"Cannot produce '{accept}'; this server answers application/json or application/xml.",
        code="NotAcceptable",
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The raw request body, refusing one over ``limit`` bytes before reading it all."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body is {declared} bytes; the limit is {limit}.", code="PayloadTooLarge")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge(f"The request body exceeds the limit of {limit} bytes.", code="PayloadTooLarge")
    return bytes(body)


def parse_body(headers: Mapping[str, str], body: bytes, spec: EntitySpec) -> Any:
    """The body of a POST/PUT/PATCH as the JSON value it stands for (XML is converted to the same shape)."""
    content_type = (headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if content_type not in _JSON_TYPES + _XML_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type '{content_type}' is not supported; send application/json or application/xml.",
            code="UnsupportedMediaType",
        )
    if not body.strip():
        raise InvalidInput("The request body is empty; send the entity.", code="InvalidBody")
    if content_type in _XML_TYPES:
        return xml_to_payload(spec, body)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"The request body is not valid JSON: {error}.", code="MalformedJson") from None


def prefer(headers: Mapping[str, str] | Request) -> dict[str, str]:
    """The ``Prefer`` header(s) as ``{name: value}`` (lower-cased names)."""
    if isinstance(headers, Request):
        headers = headers.headers
    values = headers.getlist("prefer") if hasattr(headers, "getlist") else [headers.get("prefer") or ""]
    found: dict[str, str] = {}
    for header in values:
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            if name:
                found[name.strip().lower()] = value.strip().strip('"')
    return found


_QUERIES: dict[bytes, dict[str, str]] = {}
KEPT_QUERY_BYTES = 2048
"""Query strings up to this long are kept parsed (:func:`query_of`); 1024 of them at most."""


def query_of(request: Request) -> dict[str, str]:
    """The query string's parameters (the last of a repeated name), a dict of the request's own.

    Starlette parses the string anew for every request (twice here: api/inline.py reads
    ``$top`` first), a tenth of a repeated poll whose results were kept (docs/performance.md,
    point 17), and pollers repeat theirs: the recent ones are kept parsed."""
    raw: bytes = request.scope["query_string"]
    query = _QUERIES.get(raw)
    if query is None:
        query = dict(request.query_params)
        if len(raw) <= KEPT_QUERY_BYTES:
            if len(_QUERIES) >= 1024:
                _QUERIES.clear()
            _QUERIES[raw] = query
    return dict(query)
