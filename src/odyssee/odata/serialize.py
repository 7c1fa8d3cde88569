"""Rows -> the Odyssee/OData JSON shape: snake_case properties, lower-case GUIDs,
``YYYY-MM-DDThh:mm:ss.fffZ`` datetimes, base64 bytes, and the ``@odata`` envelopes."""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from odyssee.model.registry import EntitySpec, Field, Kind
from odyssee.model.values import format_datetime
from odyssee.odata.options import QueryOptions
from odyssee.odata.paths import target
from odyssee.odata.query import output_fields
from odyssee.odata.wire import ROW_VERSION

_NO_OPTIONS = QueryOptions()
_SAFE = "$',()/:"
"""Characters left readable in generated links."""

_ENCODERS: dict[Kind, Callable[[Any], Any]] = {
    Kind.GUID: str,
    Kind.DATETIME: format_datetime,
    Kind.DECIMAL: float,
    Kind.BINARY: lambda value: base64.b64encode(value).decode("ascii"),
}


def encode_value(field: Field, value: Any) -> Any:
    encoder = _ENCODERS.get(field.kind)
    return encoder(value) if encoder is not None else value


def encode_row(fields: Sequence[Field], row: Sequence[Any]) -> dict[str, Any]:
    return {f.name: encode_value(f, value) for f, value in zip(fields, row, strict=True)}


def etag(version: int) -> str:
    """The weak ETag of a row version: ``W/"3"``. Clients treat it as opaque."""
    return f'W/"{version}"'


_ENTITY_ENCODERS: dict[Kind, Callable[[Any], Any]] = {
    Kind.BINARY: _ENCODERS[Kind.BINARY],
    Kind.DECIMAL: float,
}
"""Entity rows (domain/reads.py) carry GUIDs and datetimes as wire text already (odata/wire.py)."""


@dataclass(frozen=True)
class _Plan:
    """How to turn a row into the client's properties, made once per entity and ``$select``."""

    names: tuple[str, ...]
    """Properties sent as they are, in order."""
    encoded: tuple[tuple[str, Callable[[Any], Any]], ...]
    """Properties that need an encoder (bytes, decimals)."""
    apart: frozenset[str]
    """Stored-apart properties: present only when the read fetched them."""


@functools.lru_cache(maxsize=1024)  # keyed by $select: bounded
def _plan(fields: tuple[Field, ...]) -> _Plan:
    sent = [f for f in fields if not f.write_only]
    return _Plan(
        names=tuple(f.name for f in sent if f.kind not in _ENTITY_ENCODERS and not f.apart),
        encoded=tuple((f.name, _ENTITY_ENCODERS[f.kind]) for f in sent if f.kind in _ENTITY_ENCODERS),
        apart=frozenset(f.name for f in sent if f.apart),
    )


def encode_entity(spec: EntitySpec, row: Mapping[str, Any], options: QueryOptions | None = None) -> dict[str, Any]:
    """A row of domain/reads.py as the client sees it: ``@odata.etag``, the selected properties,
    then expansions.

    A stored-apart property (file bytes) appears when the read fetched it: in a single entity,
    or in a collection whose ``$select`` names it (domain/blobs.py decides).
    """
    options = options or _NO_OPTIONS
    plan = _plan(output_fields(spec, options))
    body: dict[str, Any] = {"@odata.etag": f'W/"{row[ROW_VERSION]}"'}
    for name in plan.names:
        body[name] = row[name]
    for name, encoder in plan.encoded:
        if name in plan.apart and name not in row:
            continue
        value = row[name]
        body[name] = None if value is None else encoder(value)
    for item in options.expand:
        name, related = item.navigation.name, target(item.navigation)
        value = row[name]
        if item.navigation.many:
            if item.options.count:
                body[f"{name}@odata.count"] = row[f"{name}@odata.count"]
            body[name] = [encode_entity(related, child, item.options) for child in value]
        else:
            body[name] = None if value is None else encode_entity(related, value, item.options)
    return body


def context_url(
    service_root: str,
    spec: EntitySpec,
    fields: Sequence[Field] | None = None,
    *,
    entity: bool = False,
) -> str:
    """``@odata.context``: ``<root>$metadata#Company``, ``…#Jobs(reference_back_office)``, ``…#JobType/$entity``."""
    url = f"{service_root}$metadata#{spec.name}"
    if fields is not None:
        url += "(" + ",".join(f.name for f in fields) + ")"
    return url + "/$entity" if entity else url


def collection(
    context: str,
    rows: Iterable[dict[str, Any]],
    *,
    count: int | None = None,
    next_link: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"@odata.context": context}
    if count is not None:
        body["@odata.count"] = count
    body["value"] = list(rows)
    if next_link is not None:
        body["@odata.nextLink"] = next_link
    return body


def entity(context: str, row: dict[str, Any]) -> dict[str, Any]:
    return {"@odata.context": context, **row}


def next_link(collection_url: str, params: Mapping[str, str], *, token: str, top: int | None) -> str:
    """The URL of the next page: the client's options with a keyset ``$skiptoken`` (and ``$top`` reduced).

    ``$skip`` is dropped: the token already continues after the last row returned.
    """
    following = {key: value for key, value in params.items() if key not in ("$skip", "$top", "$skiptoken")}
    if top is not None:
        following["$top"] = str(top)
    following["$skiptoken"] = token
    query = urlencode(following, safe=_SAFE)
    return f"{collection_url}?{query}"


def skip_link(collection_url: str, params: Mapping[str, str], *, skip: int, top: int | None) -> str:
    """A next link that pages by offset: for results without a stable key (``$apply`` groups)."""
    following = {key: value for key, value in params.items() if key not in ("$skip", "$top")}
    if top is not None:
        following["$top"] = str(top)
    following["$skip"] = str(skip)
    return f"{collection_url}?{urlencode(following, safe=_SAFE)}"


def link(collection_url: str, params: Mapping[str, str]) -> str:
    """A URL on the entity set with exactly ``params`` (a change-tracking next or delta link)."""
    return f"{collection_url}?{urlencode(params, safe=_SAFE)}"
