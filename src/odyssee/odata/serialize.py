"""Rows -> the Odyssee/OData JSON shape: snake_case properties, lower-case GUIDs,
``YYYY-MM-DDThh:mm:ss.fffZ`` datetimes, base64 bytes, and the ``@odata`` envelopes."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from odyssee.model.registry import EntitySpec, Field, Kind
from odyssee.model.values import format_datetime

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


def next_link(collection_url: str, params: Mapping[str, str], *, skip: int, top: int | None) -> str:
    """The URL of the next page: the client's options with ``$skip`` advanced (and ``$top`` reduced)."""
    following = {key: value for key, value in params.items() if key not in ("$skip", "$top")}
    if top is not None:
        following["$top"] = str(top)
    following["$skip"] = str(skip)
    query = urlencode(following, safe="$',()/:")
    return f"{collection_url}?{query}"
