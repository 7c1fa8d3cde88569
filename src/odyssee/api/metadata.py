"""``GET /api/$metadata``: the service's CSDL document, XML by default and CSDL JSON on request.

The documents are rendered once per process by :mod:`odyssee.odata.metadata`; this module only
authenticates (the same HTTP Basic check as every other route), picks the representation and
answers conditional requests, so a client that re-reads metadata on every start pays for a
304 instead of ~100 KB.

These routes must come *before* the generic controller, whose ``/api/{entity_set}``
would otherwise take ``$metadata`` for an entity set name.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from functools import cache

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from odyssee.api.routes import run
from odyssee.model.errors import InvalidQuery, NotAcceptable
from odyssee.odata.metadata import VERSION, metadata_json, metadata_xml


class Format(enum.Enum):
    """A representation of the metadata document, by the media type it is served as."""

    XML = "application/xml"
    JSON = "application/json"


_FORMAT_NAMES = {
    "xml": Format.XML,
    "application/xml": Format.XML,
    "json": Format.JSON,
    "application/json": Format.JSON,
}


@dataclass(frozen=True)
class Document:
    body: bytes
    content_type: str
    etag: str
    """A strong validator: the documents only change when the code (the registry) does."""


@cache
def document(fmt: Format) -> Document:
    """The rendered document with its ETag, computed once per process and format."""
    body = metadata_xml() if fmt is Format.XML else metadata_json()
    content_type = f"{fmt.value}; charset=utf-8" if fmt is Format.XML else fmt.value
    return Document(body, content_type, f'"{hashlib.sha256(body).hexdigest()[:32]}"')


def _quality(ranges: list[tuple[str, float]], media_type: str) -> float:
    """The q-value the most specific matching media range gives ``media_type`` (RFC 9110 §12.5.1)."""
    kind = media_type.split("/")[0]
    best_specificity, best_q = -1, 0.0
    for media_range, q in ranges:
        if media_range == media_type:
            specificity = 2
        elif media_range == f"{kind}/*":
            specificity = 1
        elif media_range == "*/*":
            specificity = 0
        else:
            continue
        if specificity > best_specificity:
            best_specificity, best_q = specificity, q
    return best_q


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    ranges: list[tuple[str, float]] = []
    for item in accept.split(","):
        media_range, *parameters = item.split(";")
        q = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if media_range.strip():
            ranges.append((media_range.strip().lower(), q))
    return ranges


def negotiate(format_option: str | None, accept: str | None) -> Format:
    """``$format`` wins over ``Accept``; XML unless the client prefers JSON (CSDL XML is the OData default)."""
    if format_option is not None:
        found = _FORMAT_NAMES.get(format_option.split(";")[0].strip().lower())
        if found is None:
            raise NotAcceptable(
                f"$format={format_option} is not available for $metadata; use xml or json.",
                code="NotAcceptable",
                target="$format",
            )
        return found
    if accept is None or not accept.strip():
        return Format.XML
    ranges = _media_ranges(accept)
    xml, json = _quality(ranges, Format.XML.value), _quality(ranges, Format.JSON.value)
    if max(xml, json) <= 0:
        raise NotAcceptable(
            f"Cannot produce '{accept}' for $metadata; this server answers application/xml or application/json.",
            code="NotAcceptable",
        )
    return Format.JSON if json > xml else Format.XML


def _matches(if_none_match: str | None, etag: str) -> bool:
    """``If-None-Match`` uses the weak comparison: ``W/"x"`` matches ``"x"``."""
    if if_none_match is None:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


async def metadata(request: Request) -> Response:
    unknown = sorted(name for name in request.query_params if name.startswith("$") and name != "$format")
    if unknown:
        raise InvalidQuery(
            f"$metadata takes no system query option but $format; got {', '.join(unknown)}.",
            code="InvalidQueryOption",
            target=unknown[0],
        )
    fmt = negotiate(request.query_params.get("$format"), request.headers.get("accept"))
    await run(request, lambda _session, _actor: None, write=False)
    found = document(fmt)
    headers = {"OData-Version": VERSION, "ETag": found.etag, "Vary": "Accept"}
    if _matches(request.headers.get("if-none-match"), found.etag):
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=found.content_type, headers=headers)


ROUTES = [Route("/api/$metadata", metadata, methods=["GET"])]
