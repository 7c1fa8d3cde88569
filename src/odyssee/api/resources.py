"""The generic controller: one set of handlers serves every entity of the registry.

URL shapes (reference.md §2.1, §2.2), relative to the service root ``/api/``:
``<Set>`` (GET, POST), ``<Set>/$count`` (GET), ``<Set>(<key>)`` (GET, PUT, PATCH, DELETE).
Set names match case-insensitively, as in ASP.NET routing; the key is a bare GUID (any case),
``'…'`` or ``guid'…'``. Every handler runs inside the caller's transaction, so a plain request
and a ``$batch`` change set share the same code and the same all-or-nothing guarantee.
"""

from __future__ import annotations

import mimetypes
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import orjson
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from odyssee.api.messages import Call, Reply
from odyssee.api.negotiation import accepted_format, parse_body, prefer
from odyssee.domain import (
    access,
    aggregates,
    changes,
    delta,
    embedding,
    entities,
    job_actions,
    reads,
    webhooks,
    workflow,
)
from odyssee.domain.actor import Actor
from odyssee.model.conventions import NULL_DATE
from odyssee.model.errors import (
    InvalidInput,
    InvalidQuery,
    NotAllowed,
    NotFound,
    NotImplementedFeature,
    PreconditionFailed,
)
from odyssee.model.registry import EntitySpec, registry
from odyssee.model.values import parse_datetime, parse_guid
from odyssee.odata import apply, paging, serialize
from odyssee.odata import delta as delta_tokens
from odyssee.odata.binds import apply_binds
from odyssee.odata.options import check_format, check_names, fingerprint, non_negative, parse_options
from odyssee.odata.wire import ROW_VERSION
from odyssee.settings import Settings

_PATH = re.compile(r"^(?P<set>[^/()]+)(?:\((?P<key>[^)]*)\))?(?P<tail>/.*)?$")
_GUID_KEY = re.compile(r"^(?:guid)?'?([^']*)'?$", re.IGNORECASE)
_ALTERNATE = re.compile(r"^\s*(\w+)\s*=\s*'((?:[^']|'')*)'\s*$")
_ETAG = re.compile(r'^(?:W/)?"(\d+)"$')


def spec_named(name: str) -> EntitySpec:
    spec = registry().lookup(name)
    if spec is None:
        raise NotFound(
            f"There is no entity set '{name}'. See GET /api/ for the list.",
            code="UnknownController",
        )
    return spec


@dataclass(frozen=True)
class AlternateKey:
    """``Company(code='C001')``: a row addressed by its ERP key (exact, case-sensitive match)."""

    column: str
    value: str


def parse_key(spec: EntitySpec, text: str) -> uuid.UUID | AlternateKey:
    if "=" in text:
        alternate = _ALTERNATE.match(text)
        key = spec.options.erp_key
        if alternate is None:
            raise InvalidInput(
                f"Invalid key {spec.name}({text}); use {spec.name}(<guid>)"
                + (f" or {spec.name}({key}='…')." if key else "."),
                code="InvalidKey",
                target="id",
            )
        if key is None or alternate.group(1) != key:
            raise InvalidInput(
                f"{spec.name} has no alternate key '{alternate.group(1)}'"
                + (f"; its ERP key is {key}." if key else "; address it by id."),
                code="InvalidKey",
                target=alternate.group(1),
            )
        return AlternateKey(key, alternate.group(2).replace("''", "'"))
    match = _GUID_KEY.match(text.strip())
    try:
        return parse_guid(match.group(1) if match else text)
    except ValueError as error:
        raise InvalidInput(f"Invalid key for {spec.name}: {error}.", code="InvalidKey", target="id") from None


def parse_etags(header: str | None) -> frozenset[int] | None:
    """``If-Match``/``If-None-Match`` as row versions; None for an absent header or ``*``.

    An ETag this server did not make can never match, so it stays out of the set (→ 412/200).
    """
    if header is None or header.strip() == "*":
        return None
    found = set()
    for part in header.split(","):
        match = _ETAG.match(part.strip())
        if match:
            found.add(int(match.group(1)))
    return frozenset(found)


def existing_id(session: Session, actor: Actor, spec: EntitySpec, key: uuid.UUID | AlternateKey) -> uuid.UUID:
    """The id a key names; an alternate key that matches nothing is a 404."""
    if isinstance(key, uuid.UUID):
        return key
    row = embedding.find(session, actor, spec, key.column, key.value)
    if row is None:
        raise NotFound(f"There is no {spec.name} with {key.column} '{key.value}'.", code="NotFound")
    return row["id"]  # type: ignore[no-any-return]


def _star(call: Call, header: str) -> bool:
    """Whether ``header`` is ``*``; on POST any other value is refused (there is no row to compare)."""
    value = call.headers.get(header)
    if value is None:
        return False
    if value.strip() == "*":
        return True
    if call.method == "POST":
        raise InvalidInput(f"{header} on POST must be '*'.", code="InvalidHeader", target=header)
    return False


def page_size(call: Call, settings: Settings) -> tuple[int, dict[str, str]]:
    wanted = prefer(call.headers).get("odata.maxpagesize")
    if wanted is None:
        return settings.page_size, {}
    if not wanted.isascii() or not wanted.isdigit() or int(wanted) < 1:
        raise InvalidQuery(
            f"odata.maxpagesize must be a positive integer, got '{wanted}'.",
            code="InvalidPreference",
        )
    size = min(int(wanted), settings.max_page_size)
    return size, {"Preference-Applied": f"odata.maxpagesize={size}"}


Handler = Callable[[Session, Actor, Call, Settings, EntitySpec, str | None], Reply]


def _refuse_nul(call: Call) -> None:
    """A NUL character in the path or query is a 400 on both engines: PostgreSQL text cannot hold
    one (found by the OpenAPI fuzzer: a 500 on PostgreSQL only)."""
    for text in (call.path, *call.query, *call.query.values()):
        if "\x00" in text:
            raise InvalidInput("The URL contains a NUL character (%00).", code="InvalidCharacter")


def handle(session: Session, actor: Actor, call: Call, settings: Settings) -> Reply:
    """Serve one call on an entity set or entity.

    A database ``DataError`` is the request's fault, not the server's: PostgreSQL refuses, while
    the statement runs, what no check can see in advance, e.g. ``id2 add 9223372036854775807``
    overflowing a bigint (found by the $filter fuzzer; SQLite turns it into a float). The caller's
    transaction is rolled back as for any other error.
    """
    try:
        return _handle(session, actor, call, settings)
    except DataError as error:
        reason = str(error.orig).splitlines()[0] if error.orig is not None else "invalid value"
        raise InvalidInput(f"The database refused a value of this request: {reason}.", code="ValueOutOfRange") from None


def _handle(session: Session, actor: Actor, call: Call, settings: Settings) -> Reply:
    _refuse_nul(call)
    match = _PATH.match(call.path)
    if match is None:
        raise NotFound(f"No resource at /api/{call.path}.", code="NotFound")
    spec = spec_named(match.group("set"))
    access.check_entity(spec, actor)
    key, tail = match.group("key"), match.group("tail")
    if tail == "/$count" and key is None:
        if call.method != "GET":
            raise NotAllowed(f"{call.method} is not allowed on {spec.name}/$count.", code="MethodNotAllowed")
        return _count(session, actor, call, spec)
    if spec.table_name == "db_file" and (
        tail == "/$value" or (key is None and tail and tail.lower() == "/getfilecontent")
    ):
        return _file_content(session, actor, call, spec, key)
    if tail and spec.table_name == "jobs":
        return _job_action(session, actor, call, spec, key, tail.lstrip("/"))
    if tail and key is not None and spec.table_name == "webhook_subscription" and tail.lower() == "/replay":
        return _replay(session, actor, call, spec, key)
    if tail:
        raise NotImplementedFeature(
            f"Navigation in the URL ({call.path}) is not supported; use $expand or $filter instead.",
            code="NotImplemented",
        )
    handlers = _ENTITY if key is not None else _COLLECTION
    handler = handlers.get(call.method)
    if handler is None:
        allowed = ", ".join(sorted(handlers))
        raise NotAllowed(
            f"{call.method} is not allowed on {call.path}; allowed: {allowed}.",
            code="MethodNotAllowed",
        )
    return handler(session, actor, call, settings, spec, key)


def _replay(session: Session, actor: Actor, call: Call, spec: EntitySpec, key: str) -> Reply:
    """``POST WebhookSubscription(<id>)/Replay`` ``{"since": "<datetime>"}``: deliver every change after it again."""
    _no_query(call)
    if call.method != "POST":
        raise NotAllowed("Replay takes POST.", code="MethodNotAllowed")
    payload = parse_body(call.headers, call.body, spec) if call.body.strip() else None
    body = payload if isinstance(payload, dict) else {}
    since = body.get("since")
    try:
        moment = parse_datetime(since) if isinstance(since, str) and set(body) == {"since"} else None
    except ValueError:
        moment = None
    if moment is None:
        raise InvalidInput(
            'Replay takes {"since": "<datetime>"}, e.g. {"since": "2026-11-23T08:00:00Z"}.',
            code="ValidationFailed",
            target="since",
        )
    subscription_id = existing_id(session, actor, spec, parse_key(spec, key))
    webhooks.replay(session, actor, subscription_id, moment)
    return _echo(session, actor, call, spec, subscription_id, 200, {})


def _job_action(session: Session, actor: Actor, call: Call, spec: EntitySpec, key: str | None, name: str) -> Reply:
    """The workflow actions (docs/workflow.md); the reply is the job as it now is."""
    _no_query(call)
    payload = parse_body(call.headers, call.body, spec) if call.body.strip() else None
    if key is None and name.lower() == "changetovirtualstatus":
        if call.method != "PUT":
            raise NotAllowed("Jobs/ChangeToVirtualStatus takes PUT.", code="MethodNotAllowed")
        job_id = job_actions.change_to_virtual_status(session, actor, payload)
        return _echo(session, actor, call, spec, job_id, 200, {})
    if key is not None and name.lower() == "nextstatuses":
        if call.method != "GET":
            raise NotAllowed("NextStatuses is read with GET.", code="MethodNotAllowed")
        job_id = existing_id(session, actor, spec, parse_key(spec, key))
        return Reply(
            200,
            {
                "@odata.context": f"{call.root}$metadata#Collection(JobStatus)",
                "value": workflow.next_statuses(session, actor, job_id),
            },
        )
    action = job_actions.ENTITY_ACTIONS.get(name.lower())
    if key is None or action is None:
        actions = ", ".join(f"Jobs(<id>)/{a.title()}" for a in job_actions.ENTITY_ACTIONS)
        raise NotFound(
            f"No action at {call.path}; the job actions are {actions} (POST), Jobs/ChangeToVirtualStatus (PUT) "
            "and Jobs(<id>)/NextStatuses (GET).",
            code="NotFound",
        )
    if call.method != "POST":
        raise NotAllowed(f"{name} takes POST.", code="MethodNotAllowed")
    job_id = existing_id(session, actor, spec, parse_key(spec, key))
    action(session, actor, job_id, payload)
    return _echo(session, actor, call, spec, job_id, 200, {})


def _file_content(session: Session, actor: Actor, call: Call, spec: EntitySpec, key: str | None) -> Reply:
    """The bytes of a file: ``DbFile(<id>)/$value`` (OData) or ``DbFile/GetFileContent?id=<id>`` (Odyssee)."""
    if call.method != "GET":
        raise NotAllowed("File content is read with GET.", code="MethodNotAllowed")
    if key is None:
        raw = call.query.get("id")
        if raw is None:
            raise InvalidQuery("GetFileContent needs ?id=<file guid>.", code="InvalidQueryOption", target="id")
        key = raw
    row = reads.get_entity(session, actor, spec, existing_id(session, actor, spec, parse_key(spec, key)))
    name = row["file_name"] or row["name"]
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "'")
    headers = {
        "Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}",
        "ETag": serialize.etag(row[ROW_VERSION]),
    }
    media_type = row["mime_type"] or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Reply(200, row["file_content"], headers, shape="raw", media_type=media_type)


def _count(session: Session, actor: Actor, call: Call, spec: EntitySpec) -> Reply:
    allowed = {k: v for k, v in call.query.items() if k in ("$filter", "$format") or not k.startswith("$")}
    if len(allowed) != len(call.query):
        raise InvalidQuery("Only $filter may be used with /$count.", code="InvalidQueryOption")
    options = parse_options(spec, allowed)
    return Reply(200, str(reads.count_entities(session, actor, spec, options)), shape="text")


def _read_collection(
    session: Session, actor: Actor, call: Call, settings: Settings, spec: EntitySpec, _key: str | None
) -> Reply:
    if "$apply" in call.query:
        return _read_aggregates(session, actor, call, settings, spec)
    if "$deltatoken" in call.query or "odata.track-changes" in prefer(call.headers):
        return _read_changes(session, actor, call, settings, spec)
    options = parse_options(spec, call.query)
    size, headers = page_size(call, settings)
    limit = size if options.top is None else min(options.top, size)
    page: reads.Page | reads.JsonPage | None = None
    if accepted_format(call.headers) == "json":
        page = reads.list_entities_json(session, actor, spec, options, limit=limit)
    if isinstance(page, reads.JsonPage):
        rows: Iterable[Any] = [orjson.Fragment(text) for text in page.texts]
        returned = len(page.texts)
    else:
        page = reads.list_entities(session, actor, spec, options, limit=limit)
        rows = (serialize.encode_entity(spec, row, options) for row in page.rows)
        returned = len(page.rows)
    remaining = None if options.top is None else options.top - returned
    link = None
    if page.has_more and page.last_keys is not None and (remaining is None or remaining > 0):
        token = paging.encode(page.last_keys, fingerprint(call.query))
        link = serialize.next_link(f"{call.root}{spec.name}", call.query, token=token, top=remaining)
    context = serialize.context_url(call.root, spec, options.select)
    body = serialize.collection(context, rows, count=page.count, next_link=link)
    return Reply(200, body, headers, shape="collection", spec=spec)


def _read_changes(session: Session, actor: Actor, call: Call, settings: Settings, spec: EntitySpec) -> Reply:
    """OData change tracking (docs/change-feed.md): ``Prefer: odata.track-changes`` starts with every
    live row, oldest change first; the last page carries ``@odata.deltaLink``, which returns what
    changed since — changed rows, then ``@removed`` entries for deletions — and a new deltaLink."""
    delta_tokens.check_options(list(call.query))
    select = call.query.get("$select", "")
    options = parse_options(spec, {k: v for k, v in call.query.items() if k != "$deltatoken"})
    token = (
        delta_tokens.decode(call.query["$deltatoken"], select)
        if "$deltatoken" in call.query
        else delta_tokens.DeltaToken(since_ms=changes.to_ms(NULL_DATE), initial=True)
    )
    size, headers = page_size(call, settings)
    since = changes.from_ms(token.since_ms)
    removals_since = changes.from_ms(token.removals_since_ms) if "$deltatoken" in call.query else None
    page = delta.changes_after(session, actor, spec, options, since, removals_since=removals_since, limit=size)
    rows_at, removals_at = page.next_positions(since)
    following = delta_tokens.DeltaToken(
        changes.to_ms(rows_at), initial=token.initial and page.has_more, removals_ms=changes.to_ms(removals_at)
    )
    params = {k: v for k, v in call.query.items() if k in ("$select", "$format")}
    link = serialize.link(f"{call.root}{spec.name}", params | {"$deltatoken": delta_tokens.encode(following, select)})
    values = [
        serialize.encode_entity(spec, entry.row, options)
        if entry.row is not None
        else {"@removed": {"reason": "deleted"}, "@id": f"{call.root}{spec.name}({entry.removed_id})",
              "id": str(entry.removed_id)}
        for entry in page.entries
    ]  # fmt: skip
    context = serialize.context_url(call.root, spec, options.select)
    if not token.initial:
        context += "/$delta"
    body: dict[str, Any] = {"@odata.context": context, "value": values}
    body["@odata.nextLink" if page.has_more else "@odata.deltaLink"] = link
    if "$deltatoken" not in call.query:
        headers["Preference-Applied"] = ", ".join(
            filter(None, [headers.get("Preference-Applied"), "odata.track-changes"])
        )
    return Reply(200, body, headers, shape="collection", spec=spec)


def _read_aggregates(session: Session, actor: Actor, call: Call, settings: Settings, spec: EntitySpec) -> Reply:
    """``$apply``: groups and totals. ``$filter``/``$orderby`` apply to its output, as OData says;
    pages continue with ``$skip`` (groups have no stable key to resume after)."""
    params = call.query
    check_names(params)
    check_format(params)
    for name in ("$select", "$expand", "$skiptoken"):
        if name in params:
            raise NotImplementedFeature(f"{name} cannot be combined with $apply.", code="NotImplemented", target=name)
    applied = apply.parse_apply(spec, params["$apply"])
    if "$filter" in params:
        applied = apply.then_filter(applied, params["$filter"])
    order = apply.parse_order_by(applied, params["$orderby"]) if "$orderby" in params else []
    top = non_negative("$top", params["$top"]) if "$top" in params else None
    skip = non_negative("$skip", params["$skip"]) if "$skip" in params else 0
    count_text = params.get("$count", "false").strip().lower()
    if count_text not in ("true", "false"):
        raise InvalidQuery("$count must be true or false.", code="InvalidQueryOption", target="$count")
    size, headers = page_size(call, settings)
    limit = size if top is None else min(top, size)
    rows = aggregates.aggregate(session, actor, spec, applied, top=limit + 1, skip=skip, order_by=order)
    count = aggregates.count(session, actor, spec, applied) if count_text == "true" else None
    link = None
    remaining = None if top is None else top - min(len(rows), limit)
    if len(rows) > limit and (remaining is None or remaining > 0):
        link = serialize.skip_link(f"{call.root}{spec.name}", params, skip=skip + limit, top=remaining)
    properties = apply.context_properties(applied)
    context = f"{call.root}$metadata#{spec.name}" + (f"({','.join(properties)})" if properties else "")
    body = serialize.collection(context, rows[:limit], count=count, next_link=link)
    return Reply(200, body, headers, shape="collection", spec=spec if not properties else None)


def _read_entity(
    session: Session, actor: Actor, call: Call, _settings: Settings, spec: EntitySpec, key: str | None
) -> Reply:
    assert key is not None
    row_key = existing_id(session, actor, spec, parse_key(spec, key))
    allowed = ("$select", "$expand", "$format")
    extra = [name for name in call.query if name.startswith("$") and name not in allowed]
    if extra:
        raise InvalidQuery(
            f"{extra[0]} cannot be used when reading one entity; allowed: {', '.join(allowed)}.",
            code="InvalidQueryOption",
            target=extra[0],
        )
    options = parse_options(spec, call.query)
    row = reads.get_entity(session, actor, spec, row_key, options)
    tag = serialize.etag(row[ROW_VERSION])
    wanted = call.headers.get("if-none-match")
    if wanted is not None:
        versions = parse_etags(wanted)
        if versions is None or row[ROW_VERSION] in versions:
            return Reply(304, headers={"ETag": tag}, shape="empty")
    context = serialize.context_url(call.root, spec, options.select, entity=True)
    body = serialize.entity(context, serialize.encode_entity(spec, row, options))
    return Reply(200, body, {"ETag": tag}, shape="entity", spec=spec)


def _echo(
    session: Session,
    actor: Actor,
    call: Call,
    spec: EntitySpec,
    key: uuid.UUID,
    status: int,
    headers: dict[str, str],
) -> Reply:
    """The answer to a write: the whole entity, or less under ``Prefer: return=minimal``.

    Odyssee's reading of return=minimal is "only the id" for POST/PUT; PATCH, which Odyssee
    does not have, answers it the standard way: 204 and no body.
    """
    minimal = prefer(call.headers).get("return") == "minimal"
    context = serialize.context_url(call.root, spec, entity=True)
    if minimal:
        headers["Preference-Applied"] = "return=minimal"
        headers["OData-EntityId"] = f"{call.root}{spec.name}({key})"
        if call.method == "PATCH":
            return Reply(204, headers=headers, shape="empty")
        return Reply(status, serialize.entity(context, {"id": str(key)}), headers, shape="entity", spec=spec)
    row = reads.get_entity(session, actor, spec, key)
    headers["ETag"] = serialize.etag(row[ROW_VERSION])
    body = serialize.entity(context, serialize.encode_entity(spec, row))
    return Reply(status, body, headers, shape="entity", spec=spec)


def _no_query(call: Call) -> None:
    check_format(call.query)
    extra = [name for name in call.query if name.startswith("$") and name != "$format"]
    if extra:
        raise InvalidQuery(f"{extra[0]} cannot be used with {call.method}.", code="InvalidQueryOption", target=extra[0])


def _create(
    session: Session, actor: Actor, call: Call, _settings: Settings, spec: EntitySpec, _key: str | None
) -> Reply:
    """POST. ``If-None-Match: *`` makes it create-only (412 if the id or ERP key exists);
    ``If-Match: *`` update-only (404 if absent): the upsert verbs of an ERP push."""
    _no_query(call)
    payload = apply_binds(spec, parse_body(call.headers, call.body, spec))
    create_only, update_only = _star(call, "if-none-match"), _star(call, "if-match")
    if create_only or update_only:
        if create_only and update_only:
            raise InvalidInput("If-Match and If-None-Match exclude each other.", code="InvalidHeader")
        found = embedding.locate(session, actor, spec, payload) if isinstance(payload, dict) else None
        if create_only and found is not None:
            raise PreconditionFailed(
                f"{spec.name} {found['id']} already exists (If-None-Match: *).", code="PreconditionFailed"
            )
        if update_only:
            if found is None:
                raise NotFound(f"No {spec.name} with this id or ERP key exists (If-Match: *).", code="NotFound")
            entities.replace_entity(session, actor, spec, found["id"], payload)
            return _echo(session, actor, call, spec, found["id"], 200, {})
    key = entities.create_entity(session, actor, spec, payload)
    return _echo(session, actor, call, spec, key, 201, {"Location": f"{call.root}{spec.name}({key})"})


def _replace(
    session: Session, actor: Actor, call: Call, _settings: Settings, spec: EntitySpec, key: str | None
) -> Reply:
    assert key is not None
    parsed = parse_key(spec, key)
    _no_query(call)
    payload = apply_binds(spec, parse_body(call.headers, call.body, spec))
    if isinstance(parsed, AlternateKey):
        payload = _with_alternate_key(parsed, payload)
        found = embedding.find(session, actor, spec, parsed.column, parsed.value)
        if found is None:
            if call.method == "PATCH" or call.headers.get("if-match") is not None:
                raise NotFound(f"There is no {spec.name} with {parsed.column} '{parsed.value}'.", code="NotFound")
            created = entities.create_entity(session, actor, spec, payload)
            return _echo(session, actor, call, spec, created, 201, {"Location": f"{call.root}{spec.name}({created})"})
        row_key = found["id"]
    else:
        row_key = parsed
    if (call.headers.get("if-none-match") or "").strip() == "*":
        raise PreconditionFailed(f"{spec.name} {row_key} already exists (If-None-Match: *).", code="PreconditionFailed")
    entities.replace_entity(
        session,
        actor,
        spec,
        row_key,
        payload,
        partial=call.method == "PATCH",
        if_match=parse_etags(call.headers.get("if-match")),
    )
    return _echo(session, actor, call, spec, row_key, 200, {})


def _with_alternate_key(key: AlternateKey, payload: Any) -> Any:
    """The body of a PUT to ``Set(code='…')`` keeps that code; a different one in the body is a 400."""
    if not isinstance(payload, dict):
        return payload
    given = payload.get(key.column)
    if given is not None and given != key.value:
        raise InvalidInput(
            f"The body's {key.column} '{given}' differs from the one in the URL '{key.value}'.",
            code="KeyMismatch",
            target=key.column,
        )
    return payload | {key.column: key.value}


def _delete(
    session: Session, actor: Actor, call: Call, _settings: Settings, spec: EntitySpec, key: str | None
) -> Reply:
    assert key is not None
    row_key = existing_id(session, actor, spec, parse_key(spec, key))
    _no_query(call)
    entities.delete_entity(session, actor, spec, row_key, if_match=parse_etags(call.headers.get("if-match")))
    return Reply(204, shape="empty")


_COLLECTION: dict[str, Handler] = {"GET": _read_collection, "POST": _create}
_ENTITY: dict[str, Handler] = {"GET": _read_entity, "PUT": _replace, "PATCH": _replace, "DELETE": _delete}
