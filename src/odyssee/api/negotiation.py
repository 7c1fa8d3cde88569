"""Request-body reading and content negotiation for JSON (XML and gzip arrive with issue #3)."""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.requests import Request

from odyssee.model.errors import (
    InvalidInput,
    NotAcceptable,
    PayloadTooLarge,
    UnsupportedMediaType,
)

_JSON_TYPES = ("application/json", "text/json")
_ACCEPTS_JSON = re.compile(r"(^|[,\s])(\*/\*|application/\*|application/json|text/json|text/\*)")


def check_accept(request: Request) -> None:
    accept = request.headers.get("accept")
    if accept and not _ACCEPTS_JSON.search(accept.lower()):
        raise NotAcceptable(
            f"Cannot produce '{accept}'; this server answers application/json.",
            code="NotAcceptable",
        )


async def read_json(request: Request, limit: int) -> Any:
    """The request body as JSON, refusing oversized, compressed, non-JSON or malformed bodies clearly."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(
            f"The request body is {declared} bytes; the limit is {limit}.",
            code="PayloadTooLarge",
        )
    encoding = request.headers.get("content-encoding", "identity").lower()
    if encoding not in ("", "identity"):
        raise UnsupportedMediaType(
            f"Content-Encoding '{encoding}' is not supported yet.",
            code="UnsupportedEncoding",
        )
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if content_type not in _JSON_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type '{content_type}' is not supported; send application/json.",
            code="UnsupportedMediaType",
        )
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise PayloadTooLarge(
                f"The request body exceeds the limit of {limit} bytes.",
                code="PayloadTooLarge",
            )
    if not body.strip():
        raise InvalidInput("The request body is empty; send a JSON object.", code="InvalidBody")
    try:
        return orjson.loads(bytes(body))
    except orjson.JSONDecodeError as error:
        raise InvalidInput(f"The request body is not valid JSON: {error}.", code="MalformedJson") from None


def prefer(request: Request) -> dict[str, str]:
    """The ``Prefer`` header as ``{name: value}`` (lower-cased names)."""
    found: dict[str, str] = {}
    for header in request.headers.getlist("prefer"):
        for part in header.split(","):
            name, _, value = part.strip().partition("=")
            if name:
                found[name.strip().lower()] = value.strip().strip('"')
    return found
