"""The generic controller: one set of handlers serves every entity of the registry.

URL shapes (reference.md §2.1, §2.2): ``GET|POST /api/<Controller>`` and
``GET|PUT|DELETE /api/<Controller>(<guid>)``. Controller names match case-insensitively, as in
ASP.NET routing; the key is a bare GUID (any case) or ``guid'…'``.
Each request runs its database work in a worker thread, in one transaction.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from odyssee.api.auth import parse_basic
from odyssee.api.negotiation import check_accept, prefer, read_json
from odyssee.api.responses import empty_response, json_response
from odyssee.db.engine import Database
from odyssee.domain import entities
from odyssee.domain.actor import Actor
from odyssee.domain.tenants import authenticate
from odyssee.model.errors import (
    InvalidInput,
    InvalidQuery,
    NotFound,
    NotImplementedFeature,
)
from odyssee.model.registry import EntitySpec, registry
from odyssee.model.values import parse_guid
from odyssee.odata import serialize
from odyssee.odata.options import parse_options
from odyssee.settings import Settings

T = TypeVar("T")
_GUID_KEY = re.compile(r"^(?:guid)?'?([^']*)'?$", re.IGNORECASE)

router = APIRouter()


def _database(request: Request) -> Database:
    return request.app.state.database  # type: ignore[no-any-return]


def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def service_root(request: Request) -> str:
    return f"{request.base_url}api/"


def _spec(name: str) -> EntitySpec:
    spec = registry().lookup(name)
    if spec is None:
        raise NotFound(
            f"There is no controller '{name}'. See GET /api/ for the list.",
            code="UnknownController",
        )
    return spec


def _key(spec: EntitySpec, text: str) -> uuid.UUID:
    if "=" in text:
        raise NotImplementedFeature(
            f"Alternate keys such as {spec.name}({text}) are not supported yet; address rows by id.",
            code="NotImplemented",
        )
    match = _GUID_KEY.match(text.strip())
    try:
        return parse_guid(match.group(1) if match else text)
    except ValueError as error:
        raise InvalidInput(f"Invalid key for {spec.name}: {error}.", code="InvalidKey", target="id") from None


async def _run(request: Request, work: Callable[[Any, Actor], T], *, write: bool) -> T:
    """Authenticate, then do ``work(session, actor)`` in one transaction on a worker thread."""
    username, password, domain = parse_basic(request.headers.get("authorization"))
    database = _database(request)

    def unit() -> T:
        with database.transaction(write=False) as session:
            actor = authenticate(session, username, password, domain)
        with database.transaction(write=write) as session:
            return work(session, actor)

    return await run_in_threadpool(unit)


def _page_size(request: Request) -> tuple[int, dict[str, str]]:
    settings = _settings(request)
    wanted = prefer(request).get("odata.maxpagesize")
    if wanted is None:
        return settings.page_size, {}
    if not wanted.isdigit() or int(wanted) < 1:
        raise InvalidQuery(
            f"odata.maxpagesize must be a positive integer, got '{wanted}'.",
            code="InvalidPreference",
        )
    size = min(int(wanted), settings.max_page_size)
    return size, {"Preference-Applied": f"odata.maxpagesize={size}"}


@router.get("/api/")
@router.get("/api")
async def service_document(request: Request) -> Response:
    check_accept(request)
    await _run(request, lambda _session, _actor: None, write=False)
    root = service_root(request)
    sets = [{"name": spec.name, "kind": "EntitySet", "url": spec.name} for spec in registry()]
    return json_response({"@odata.context": f"{root}$metadata", "value": sets})


@router.get("/api/{entity_set}({key})")
async def read_one(request: Request, entity_set: str, key: str) -> Response:
    check_accept(request)
    spec = _spec(entity_set)
    row_key = _key(spec, key)
    params = dict(request.query_params)
    options = parse_options(spec, {k: v for k, v in params.items() if k in ("$select", "$format")})
    fields = options.select
    row = await _run(
        request,
        lambda s, a: entities.get_entity(s, a, spec, row_key, fields),
        write=False,
    )
    encoded = {f.name: serialize.encode_value(f, row[f.name]) for f in (fields or spec.fields)}
    context = serialize.context_url(service_root(request), spec, fields, entity=True)
    return json_response(serialize.entity(context, encoded))


@router.get("/api/{entity_set}")
async def read_many(request: Request, entity_set: str) -> Response:
    check_accept(request)
    spec = _spec(entity_set)
    params = dict(request.query_params)
    options = parse_options(spec, params)
    page_size, headers = _page_size(request)
    limit = page_size if options.top is None else min(options.top, page_size)
    page = await _run(
        request,
        lambda s, a: entities.list_entities(s, a, spec, options, offset=options.skip, limit=limit),
        write=False,
    )
    remaining = None if options.top is None else options.top - len(page.rows)
    link = None
    if page.has_more and (remaining is None or remaining > 0):
        collection_url = f"{service_root(request)}{spec.name}"
        link = serialize.next_link(collection_url, params, skip=options.skip + len(page.rows), top=remaining)
    context = serialize.context_url(service_root(request), spec, options.select)
    rows = (serialize.encode_row(page.fields, row) for row in page.rows)
    return json_response(
        serialize.collection(context, rows, count=page.count, next_link=link),
        headers=headers,
    )


@router.post("/api/{entity_set}")
async def create(request: Request, entity_set: str) -> Response:
    check_accept(request)
    spec = _spec(entity_set)
    payload = await read_json(request, _settings(request).max_body_bytes)
    minimal = prefer(request).get("return") == "minimal"

    def work(session: Any, actor: Actor) -> tuple[uuid.UUID, dict[str, Any] | None]:
        key = entities.create_entity(session, actor, spec, payload)
        return key, None if minimal else entities.get_entity(session, actor, spec, key)

    key, row = await _run(request, work, write=True)
    location = f"{service_root(request)}{spec.name}({key})"
    return _written(request, spec, key, row, status=201, headers={"Location": location})


@router.put("/api/{entity_set}({key})")
async def replace(request: Request, entity_set: str, key: str) -> Response:
    check_accept(request)
    spec = _spec(entity_set)
    row_key = _key(spec, key)
    payload = await read_json(request, _settings(request).max_body_bytes)
    minimal = prefer(request).get("return") == "minimal"

    def work(session: Any, actor: Actor) -> dict[str, Any] | None:
        entities.replace_entity(session, actor, spec, row_key, payload)
        return None if minimal else entities.get_entity(session, actor, spec, row_key)

    row = await _run(request, work, write=True)
    return _written(request, spec, row_key, row, status=200)


@router.delete("/api/{entity_set}({key})")
async def delete(request: Request, entity_set: str, key: str) -> Response:
    spec = _spec(entity_set)
    row_key = _key(spec, key)
    await _run(request, lambda s, a: entities.delete_entity(s, a, spec, row_key), write=True)
    return empty_response(204)


def _written(
    request: Request,
    spec: EntitySpec,
    key: uuid.UUID,
    row: dict[str, Any] | None,
    *,
    status: int,
    headers: dict[str, str] | None = None,
) -> Response:
    """The echo of a POST/PUT: the whole entity, or only its id under ``Prefer: return=minimal``
    (the Odyssee reading of that preference: "will only return you the id")."""
    headers = dict(headers or {})
    context = serialize.context_url(service_root(request), spec, entity=True)
    if row is None:
        headers["Preference-Applied"] = "return=minimal"
        return json_response(serialize.entity(context, {"id": str(key)}), status=status, headers=headers)
    encoded = {f.name: serialize.encode_value(f, row[f.name]) for f in spec.fields}
    return json_response(serialize.entity(context, encoded), status=status, headers=headers)
