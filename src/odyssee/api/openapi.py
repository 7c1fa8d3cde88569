"""The OpenAPI document, derived from the entity registry (the generic routes carry no schema)."""

from __future__ import annotations

from typing import Any

from fastapi.openapi.docs import get_swagger_ui_html
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from odyssee import __version__
from odyssee.api.responses import json_response
from odyssee.domain.embedding import embeddings
from odyssee.model.registry import EntitySpec, Field, Kind, registry

_TYPES: dict[Kind, dict[str, Any]] = {
    Kind.GUID: {"type": "string", "format": "uuid"},
    Kind.STRING: {"type": "string"},
    Kind.BOOLEAN: {"type": "boolean"},
    Kind.INT32: {"type": "integer", "format": "int32"},
    Kind.DECIMAL: {"type": "number"},
    Kind.DATETIME: {"type": "string", "format": "date-time"},
    Kind.BINARY: {"type": "string", "format": "byte"},
}

_QUERY = [
    (
        "$filter",
        "OData filter expression, e.g. modified_dateutc gt '2015-07-14T13:08:00.000Z'",
    ),
    ("$select", "Comma-separated properties to return."),
    ("$orderby", "Comma-separated 'property [asc|desc]'."),
    ("$top", "Return at most this many rows."),
    ("$skip", "Skip this many rows."),
    ("$count", "true adds @odata.count."),
]


def _property(field: Field) -> dict[str, Any]:
    schema = dict(_TYPES[field.kind])
    if field.max_length:
        schema["maxLength"] = field.max_length
    if field.minimum is not None:
        schema["minimum"] = field.minimum
    if field.maximum is not None:
        schema["maximum"] = field.maximum
    if field.read_only:
        schema["readOnly"] = True
    if field.write_only:
        schema["writeOnly"] = True
    description = field.doc
    if field.references:
        description = f"{description} Foreign key to {registry().by_table(field.references).name}.".strip()
    if description:
        schema["description"] = description
    return schema


def _embedded_forms(spec: EntitySpec) -> dict[str, Any]:
    """The write-only helpers of every foreign key: ``X_code`` and the nested ``X`` (docs/embedding.md)."""
    forms: dict[str, Any] = {}
    for item in embeddings(spec):
        alternative = f"Write-only alternative to {item.foreign_key.name}"
        if item.code:
            forms[item.code] = {
                "type": "string",
                "writeOnly": True,
                "description": f"{alternative}: the {item.key} of an existing {item.target.name}.",
            }
        forms[item.node] = {
            "allOf": [{"$ref": f"#/components/schemas/{item.target.name}"}],
            "writeOnly": True,
            "description": f"{alternative}: a {item.target.name}, found by id or {item.key or 'id'}, "
            "inserted if missing, updated if a given property differs.",
        }
    return forms


_ANNOTATIONS: dict[str, Any] = {
    "@odata.context": {"type": "string", "readOnly": True, "description": "The $metadata URL of this response."},
    "@odata.etag": {"type": "string", "readOnly": True, "description": "The row version, for If-Match."},
}
"""The control information every entity a response carries has (serialize.encode_entity, entity)."""


def entity_schema(spec: EntitySpec) -> dict[str, Any]:
    """The entity as it is written and as a single-entity response returns it."""
    return {
        "type": "object",
        "description": spec.options.description,
        "properties": _ANNOTATIONS | {f.name: _property(f) for f in spec.fields} | _embedded_forms(spec),
        "required": [f.name for f in spec.fields if f.required and not f.references],
        "additionalProperties": False,
    }


def projection_schema(spec: EntitySpec) -> dict[str, Any]:
    """The entity as a collection returns it: only the ``$select``-ed properties (so none is required),
    plus the ``$expand``-ed navigations and their ``nav@odata.count`` annotations."""
    navigations: dict[str, Any] = {}
    for navigation in spec.navigations:
        ref = {"$ref": f"#/components/schemas/{registry().by_table(navigation.target).name}Projection"}
        navigations[navigation.name] = (
            {"type": "array", "items": ref} if navigation.many else {"anyOf": [ref, {"type": "null"}]}
        )
        if navigation.many:
            navigations[f"{navigation.name}@odata.count"] = {"type": "integer", "minimum": 0}
    return {
        "type": "object",
        "description": f"A {spec.name} in a collection: the $select-ed properties and $expand-ed navigations.",
        "properties": {"@odata.etag": _ANNOTATIONS["@odata.etag"]}
        | {f.name: _property(f) for f in spec.fields if not f.write_only}
        | navigations,
        "additionalProperties": False,
    }


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ODataError"}}},
    }


def _paths(spec: EntitySpec) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{spec.name}"}
    body = {"required": True, "content": {"application/json": {"schema": ref}}}
    one = {
        "200": {
            "description": spec.name,
            "content": {"application/json": {"schema": ref}},
        }
    }
    errors = {
        "400": _error("Invalid input"),
        "401": _error("Not authenticated"),
        "403": _error("Not allowed for this login"),
        "404": _error("Not found"),
        "406": _error("The Accept header names no format we produce"),
        "415": _error("A Content-Type or Content-Encoding we do not read"),
        "429": _error("Too many requests or failed logins; see Retry-After (docs/limits.md)"),
        "501": _error("A valid OData feature this server does not offer"),
        "503": _error("A statement ran past the statement timeout; nothing changed"),
    }
    write_errors = {
        "409": _error("Conflict"),
        "412": _error("If-Match does not match the current row"),
        "413": _error("Request body too large"),
        "422": _error("Unknown foreign key"),
    }
    key = [
        {
            "name": "id",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "format": "uuid"},
        }
    ]
    query = [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": text,
            "schema": {"type": "string"},
        }
        for name, text in _QUERY
    ]
    list_schema = {
        "type": "object",
        "properties": {
            "@odata.context": {"type": "string"},
            "@odata.count": {"type": "integer", "minimum": 0, "description": "With $count=true."},
            "value": {"type": "array", "items": {"$ref": f"#/components/schemas/{spec.name}Projection"}},
            "@odata.nextLink": {"type": "string", "description": "The next page, while there is one."},
        },
        "required": ["@odata.context", "value"],
        "additionalProperties": False,
    }
    writes: dict[str, Any] = (
        {}
        if spec.options.read_only
        else {
            "post": {
                "operationId": f"create{spec.name}",
                "summary": f"Create a {spec.name}",
                "requestBody": body,
                "responses": {
                    "201": {
                        "description": "Created",
                        "content": {"application/json": {"schema": ref}},
                    },
                    **errors,
                    **write_errors,
                },
            }
        }
    )
    collection = {
        "get": {
            "operationId": f"list{spec.name}",
            "summary": f"List {spec.name} (pages of 20)",
            "parameters": query,
            "responses": {
                "200": {
                    "description": "A page",
                    "content": {"application/json": {"schema": list_schema}},
                },
                **errors,
            },
        },
        **writes,
    }
    item: dict[str, Any] = {
        "parameters": key,
        "get": {
            "operationId": f"get{spec.name}",
            "summary": f"Get a {spec.name}",
            "responses": {**one, **errors},
        },
    }
    if not spec.options.read_only:
        item["put"] = {
            "operationId": f"replace{spec.name}",
            "summary": f"Replace a {spec.name}",
            "requestBody": body,
            "responses": {
                **one,
                **errors,
                **write_errors,
            },
        }
        item["delete"] = {
            "operationId": f"delete{spec.name}",
            "summary": f"Delete a {spec.name} ({spec.options.deletion.value})",
            "responses": {
                "204": {"description": "Deleted"},
                **errors,
                "405": _error("Not deletable"),
                "409": _error("Still referenced"),
                "412": _error("If-Match does not match the current row"),
            },
        }
    return {f"/api/{spec.name}": collection, f"/api/{spec.name}({{id}})": item}


def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {spec.name: entity_schema(spec) for spec in registry()}
    schemas |= {f"{spec.name}Projection": projection_schema(spec) for spec in registry()}
    schemas["ODataError"] = {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "target": {"type": ["string", "null"]},
                    "details": {"type": "array", "items": {"type": "object"}},
                },
                "required": ["code", "message"],
            }
        },
    }
    paths: dict[str, Any] = {}
    for spec in registry():
        paths.update(_paths(spec))
    return {
        "openapi": "3.1.0",
        "info": {"title": "odyssee", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
        },
        "security": [{"basic": []}],
    }


async def _openapi(_request: Request) -> Response:
    return json_response(document())


async def _docs(_request: Request) -> Response:
    """Swagger UI over ``/openapi.json`` (FastAPI's page, used without a FastAPI app)."""
    return get_swagger_ui_html(openapi_url="/openapi.json", title="odyssee")


ROUTES = [Route("/openapi.json", _openapi, methods=["GET"]), Route("/docs", _docs, methods=["GET"])]
