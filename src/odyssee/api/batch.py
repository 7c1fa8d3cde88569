"""``POST /api/$batch``: many requests in one round trip, in the JSON or the multipart/mixed format.

Each request is served by the same code as a plain one (:func:`odyssee.api.resources.handle`).
Requests of one change set (multipart) or atomicity group (JSON) share one transaction: all
of them happen or none does. Other requests each run in their own transaction, in order. By
default processing stops at the first failure; ``Prefer: odata.continue-on-error`` goes on.

Later requests may refer to earlier ones: ``$1`` as the URL (or its start) stands for the
entity request ``1`` created, and — an extension for ERP imports — a JSON body property whose
value is exactly ``"$1"`` gets that entity's id (only for GUID properties, so no text is ever
rewritten by accident).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response

from odyssee.api import resources
from odyssee.api.errors import status_of
from odyssee.api.messages import Call, Reply
from odyssee.api.negotiation import Format, accepted_format, prefer
from odyssee.api.responses import VERSION, encode, json_response
from odyssee.db.engine import Database
from odyssee.domain import changes, deferred
from odyssee.domain.actor import Actor
from odyssee.model.errors import InvalidInput, OdysseeError, UnsupportedMediaType
from odyssee.model.registry import Kind, registry
from odyssee.settings import Settings

log = logging.getLogger("odyssee.api")

MAX_OPERATIONS = 1000
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_REFERENCE = re.compile(r"^\$([A-Za-z0-9_.~-]+)(.*)$")


@dataclass
class Part:
    """One request inside a batch."""

    id: str
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    group: str | None = None
    depends_on: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    part: Part
    reply: Reply


def _invalid(message: str) -> InvalidInput:
    return InvalidInput(message, code="InvalidBatch", target="$batch")


# --------------------------------------------------------------------------- JSON format


def _json_parts(body: bytes) -> list[Part]:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise _invalid(f"The batch body is not valid JSON: {error}.") from None
    requests = document.get("requests") if isinstance(document, dict) else None
    if not isinstance(requests, list):
        raise _invalid('A JSON batch is an object with a "requests" array.')
    parts = []
    for index, item in enumerate(requests):
        if not isinstance(item, dict):
            raise _invalid(f"requests[{index}] is not an object.")
        method, url, ident = item.get("method"), item.get("url"), item.get("id", str(index))
        if not isinstance(method, str) or method.upper() not in _METHODS:
            raise _invalid(f"requests[{index}].method must be one of {', '.join(_METHODS)}.")
        if not isinstance(url, str) or not url:
            raise _invalid(f"requests[{index}].url must be a non-empty string.")
        headers = item.get("headers") or {}
        depends = item.get("dependsOn") or []
        group = item.get("atomicityGroup")
        if not isinstance(headers, dict) or not isinstance(depends, list) or not isinstance(group, str | None):
            raise _invalid(f"requests[{index}] has malformed headers, dependsOn or atomicityGroup.")
        raw = item.get("body")
        content = b"" if raw is None else raw.encode() if isinstance(raw, str) else orjson.dumps(raw)
        parts.append(
            Part(
                str(ident),
                method.upper(),
                url,
                {str(k).lower(): str(v) for k, v in headers.items()},
                content,
                group,
                [str(d) for d in depends],
            )
        )
    return parts


def _json_body(reply: Reply, fmt: Format) -> Any:
    content, media_type = _encoded(reply, fmt)
    if media_type is None:
        return None
    if media_type.startswith("application/json"):
        return reply.body
    return content.decode()


def _json_response(outcomes: list[Outcome]) -> Response:
    responses = []
    for outcome in outcomes:
        reply, part = outcome.reply, outcome.part
        item: dict[str, Any] = {"id": part.id, "status": reply.status}
        if part.group is not None:
            item["atomicityGroup"] = part.group
        fmt = _format_of(part)
        _content, media_type = _encoded(reply, fmt)
        headers = dict(reply.headers)
        if media_type is not None:
            headers["content-type"] = media_type
        item["headers"] = headers
        body = _json_body(reply, fmt)
        if body is not None:
            item["body"] = body
        responses.append(item)
    return json_response({"responses": responses})


# --------------------------------------------------------------------------- multipart format


def _boundary(content_type: str) -> str:
    match = re.search(r'boundary="?([^";]+)"?', content_type, re.IGNORECASE)
    if not match:
        raise _invalid("A multipart/mixed batch needs a boundary parameter in its Content-Type.")
    return match.group(1)


def _split(body: bytes, boundary: str) -> list[bytes]:
    """The parts between ``--boundary`` delimiters; the CRLF before a delimiter belongs to it."""
    delimiter = b"--" + boundary.encode()
    pieces = re.split(rb"(?:\r?\n)?" + re.escape(delimiter), body)
    if len(pieces) < 2:
        raise _invalid(f"No part delimited by --{boundary} was found.")
    parts: list[bytes] = []
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            return parts
        parts.append(re.sub(rb"^[ \t]*\r?\n", b"", piece, count=1))
    raise _invalid(f"The batch does not end with --{boundary}--.")


def _head(data: bytes) -> tuple[list[str], bytes]:
    match = re.search(rb"\r?\n\r?\n", data)
    if match is None:
        head, rest = data, b""
    else:
        head, rest = data[: match.start()], data[match.end() :]
    return head.decode("utf-8", "replace").splitlines(), rest


def _headers(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon:
            raise _invalid(f"'{line}' is not a header line.")
        found[name.strip().lower()] = value.strip()
    return found


def _http_part(data: bytes, group: str | None, index: int) -> Part:
    lines, inner = _head(data)
    outer = _headers(lines)
    if outer.get("content-type", "").split(";")[0].strip().lower() != "application/http":
        raise _invalid("Each batch part must have Content-Type: application/http (or be a multipart/mixed change set).")
    request_lines, body = _head(inner)
    if not request_lines:
        raise _invalid("A batch part has no request line.")
    words = request_lines[0].split()
    if len(words) < 2 or words[0].upper() not in _METHODS:
        raise _invalid(f"'{request_lines[0]}' is not a request line like 'GET Company HTTP/1.1'.")
    ident = outer.get("content-id") or _headers(request_lines[1:]).get("content-id") or f"#{index}"
    return Part(ident, words[0].upper(), words[1], _headers(request_lines[1:]), body, group)


def _multipart_parts(body: bytes, content_type: str) -> list[Part]:
    parts: list[Part] = []
    for number, piece in enumerate(_split(body, _boundary(content_type))):
        lines, inner = _head(piece)
        headers = _headers(lines)
        kind = headers.get("content-type", "")
        if kind.lower().startswith("multipart/mixed"):
            group = f"changeset{number}"
            for item in _split(inner, _boundary(kind)):
                parts.append(_http_part(item, group, len(parts)))
        else:
            parts.append(_http_part(piece, None, len(parts)))
    return parts


def _http_message(reply: Reply, part: Part) -> bytes:
    content, media_type = _encoded(reply, _format_of(part))
    lines = [f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}"]
    headers = {**VERSION, **reply.headers}
    if media_type is not None:
        headers["Content-Type"] = media_type
    lines += [f"{name}: {value}" for name, value in headers.items()]
    head = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
    if part.group is not None:
        head += f"Content-ID: {part.id}\r\n"
    return (head + "\r\n" + "\r\n".join(lines) + "\r\n\r\n").encode() + content


def _multipart_response(outcomes: list[Outcome]) -> Response:
    boundary = f"batchresponse_{uuid.uuid4()}"
    chunks: list[bytes] = []
    index = 0
    while index < len(outcomes):
        group = outcomes[index].part.group
        members = [outcomes[index]]
        while group is not None and index + len(members) < len(outcomes):
            following = outcomes[index + len(members)]
            if following.part.group != group:
                break
            members.append(following)
        index += len(members)
        failed = [m for m in members if m.reply.status >= 400 and m.reply.status != 424]
        if group is None or failed:
            # A failed change set answers with the one error that undid it (OData 4.0 §11.7.4).
            chunks.append(_http_message((failed or members)[0].reply, (failed or members)[0].part))
            continue
        inner = f"changesetresponse_{uuid.uuid4()}"
        body = b"".join(f"--{inner}\r\n".encode() + _http_message(m.reply, m.part) + b"\r\n" for m in members)
        chunks.append(
            f"Content-Type: multipart/mixed; boundary={inner}\r\n\r\n".encode() + body + f"--{inner}--".encode()
        )
    content = (
        b"".join(f"--{boundary}\r\n".encode() + chunk + b"\r\n" for chunk in chunks) + f"--{boundary}--\r\n".encode()
    )
    return Response(content, media_type=f"multipart/mixed; boundary={boundary}", headers=VERSION)


# --------------------------------------------------------------------------- execution


def _format_of(part: Part) -> Format:
    try:
        return accepted_format(part.headers)
    except OdysseeError:
        return "json"


def _encoded(reply: Reply, fmt: Format) -> tuple[bytes, str | None]:
    """A part's body; if it cannot be had in the format asked for, its JSON form (a batch never fails late)."""
    try:
        return encode(reply, fmt)
    except OdysseeError:
        return encode(reply, "json")


def _error_reply(error: OdysseeError) -> Reply:
    return Reply(status_of(error), {"error": error.as_dict()})


class _Headers(Headers):
    """A part's headers (names already lower-case) with dict lookups. Starlette's scan a list and
    answer a missing header by raising and catching KeyError: a tenth of a 1000-create batch."""

    def __init__(self, values: dict[str, str]) -> None:
        super().__init__(values)
        self._values = values

    def __getitem__(self, key: str) -> str:
        return self._values[key.lower()]

    def __contains__(self, key: Any) -> bool:
        return isinstance(key, str) and key.lower() in self._values

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key.lower(), default)


@dataclass
class _Run:
    database: Database
    settings: Settings
    root: str
    actor: Actor
    created: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Request id → (entity set, id) of what it created or addressed, for ``$id`` references."""
    succeeded: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)

    def transaction(self, *, write: bool) -> AbstractContextManager[Session]:
        """A transaction acting for the batch's tenant: its login was checked once, before the
        operations, so each operation's transaction enters the row-level security wall itself."""
        return self.database.transaction(
            write=write, timeout_ms=self.settings.statement_timeout_ms, tenant_id=self.actor.tenant_id
        )

    def call(self, part: Part) -> Call:
        for dependency in part.depends_on:
            if dependency not in self.done:
                raise _invalid(f"Request {part.id} depends on '{dependency}', which is not an earlier request.")
            if dependency not in self.succeeded:
                raise _Failed(dependency)
        path, query = self._resolve(part)
        body = self._bind_references(part)
        return Call(part.method, path, query, _Headers(part.headers), body, self.root)

    def _resolve(self, part: Part) -> tuple[str, dict[str, str]]:
        url = part.url
        reference = _REFERENCE.match(url)
        if reference:
            name, rest = reference.groups()
            if name not in self.created:
                raise _invalid(f"${name} in request {part.id} does not name an earlier request that created an entity.")
            entity_set, key = self.created[name]
            url = f"{entity_set}({key}){rest}"
        split = urlsplit(url)
        if split.scheme and not url.startswith(self.root):
            raise _invalid(f"The URL {url} of request {part.id} is not under {self.root}.")
        return self.path_of(url), dict(parse_qsl(split.query, keep_blank_values=True))

    def path_of(self, url: str) -> str:
        """The resource path of a request URL, relative to the service root."""
        path = urlsplit(url).path
        root_path = urlsplit(self.root).path
        if path.startswith(root_path):
            path = path[len(root_path) :]
        path = path.lstrip("/")
        if path.lower().startswith("api/"):
            path = path[4:]
        return path

    def _bind_references(self, part: Part) -> bytes:
        """Replace ``"$1"`` values of GUID properties with the id request 1 created."""
        if (
            not part.body
            or "json" not in part.headers.get("content-type", "application/json")
            or b'"$' not in part.body
        ):
            return part.body
        match = re.match(r"^([^/(?]+)", self._resolve(part)[0])
        spec = registry().lookup(match.group(1)) if match else None
        try:
            document = orjson.loads(part.body)
        except orjson.JSONDecodeError:
            return part.body
        if spec is None or not isinstance(document, dict):
            return part.body
        for name, value in document.items():
            found = spec.field(name)
            if found is not None and found.kind is Kind.GUID and isinstance(value, str) and value.startswith("$"):
                if value[1:] not in self.created:
                    raise _invalid(
                        f"{value} in request {part.id} does not name an earlier request that created an entity."
                    )
                document[name] = self.created[value[1:]][1]
        return orjson.dumps(document)

    def record(self, part: Part, reply: Reply, call: Call | None) -> None:
        self.done.add(part.id)
        if reply.status < 400:
            self.succeeded.add(part.id)
        location = reply.headers.get("Location") or reply.headers.get("OData-EntityId")
        if location and reply.spec is not None:
            key = location[location.rindex("(") + 1 : -1]
            self.created[part.id] = (reply.spec.name, key)
        elif call is not None and reply.spec is not None and isinstance(reply.body, dict) and "id" in reply.body:
            self.created[part.id] = (reply.spec.name, str(reply.body["id"]))


class _Failed(Exception):
    """A request cannot run because one it depends on failed."""

    def __init__(self, dependency: str) -> None:
        super().__init__(dependency)
        self.dependency = dependency


def _failed_dependency(part: Part, dependency: str) -> Reply:
    error = OdysseeError(
        f"Request {part.id} was not executed because request {dependency} failed.",
        code="FailedDependency",
    )
    return Reply(424, {"error": error.as_dict()})


def _groups(parts: list[Part]) -> list[list[Part]]:
    groups: list[list[Part]] = []
    seen: set[str] = set()
    for part in parts:
        if part.group is not None and groups and groups[-1][0].group == part.group:
            groups[-1].append(part)
            continue
        if part.group is not None and part.group in seen:
            raise _invalid(f"The requests of atomicity group '{part.group}' must be adjacent.")
        if part.group is not None:
            seen.add(part.group)
        groups.append([part])
    return groups


def _run_single(run: _Run, part: Part) -> Outcome:
    call: Call | None = None
    try:
        call = run.call(part)
        with run.transaction(write=call.writes) as session:
            reply = resources.handle(session, run.actor, call, run.settings)
    except _Failed as failed:
        reply = _failed_dependency(part, failed.dependency)
    except OdysseeError as error:
        reply = _error_reply(error)
    run.record(part, reply, call)
    return Outcome(part, reply)


def _expected_stamps(run: _Run, parts: list[Part]) -> dict[str, int]:
    """How many writes each table is likely to get from ``parts``: one per request addressing its
    entity set (a guess: hooks and embedded objects write more, failures less)."""
    counts: dict[str, int] = {}
    for part in parts:
        if part.method == "GET" or _REFERENCE.match(part.url):
            continue
        spec = registry().lookup(re.split(r"[/(]", run.path_of(part.url), maxsplit=1)[0])
        if spec is not None:
            counts[spec.table_name] = counts.get(spec.table_name, 0) + 1
    return counts


def _run_group(run: _Run, parts: list[Part]) -> list[Outcome]:
    """All of ``parts`` in one transaction; on any failure nothing of them remains.

    The group's change stamps are reserved together (domain/changes.py ``expect``) and its
    inserts are queued and written many at a time (domain/deferred.py): no request of the group
    can be left half done, so none needs a savepoint or a round trip of its own. A queued insert
    that fails when written is charged to the request that made it.
    """
    outcomes: list[Outcome] = []
    failing: Outcome | None = None
    by_id: dict[str | None, Part] = {part.id: part for part in parts}
    queue: deferred.Pending | None = None
    current = parts[0]
    try:
        with (
            run.transaction(write=True) as session,
            deferred.deferring(session) as queue,
        ):
            for table, count in _expected_stamps(run, parts).items():
                changes.expect(session, table, count)
            for part in parts:
                current, queue.owner = part, part.id
                call: Call | None = None
                try:
                    call = run.call(part)
                    reply = resources.handle(session, run.actor, call, run.settings)
                except _Failed as failed:
                    failing = Outcome(part, _failed_dependency(part, failed.dependency))
                    raise
                except OdysseeError as error:
                    failing = Outcome(by_id.get(queue.failed_owner, part), _error_reply(error))
                    raise
                run.record(part, reply, call)
                outcomes.append(Outcome(part, reply))
    except OdysseeError as error:
        # Raised where no request caught it: by the group's last queued rows when written (charged
        # to their request), or by the database (a timeout, the commit) during the current request.
        owner = queue.failed_owner if queue is not None else None
        failing = failing or Outcome(by_id.get(owner, current), _error_reply(error))
        return _undone(run, parts, failing)
    except _Failed:
        assert failing is not None
        return _undone(run, parts, failing)
    return outcomes


def _undone(run: _Run, parts: list[Part], failing: Outcome) -> list[Outcome]:
    """The replies of a failed group: the failing request's error, 424 for every other request."""
    undone = [
        Outcome(
            part,
            Reply(
                424,
                {
                    "error": OdysseeError(
                        f"Request {part.id} was rolled back or not executed: request {failing.part.id} "
                        f"of atomicity group '{part.group}' failed.",
                        code="FailedDependency",
                    ).as_dict()
                },
            ),
        )
        for part in parts
        if part.id != failing.part.id
    ]
    for part in parts:
        run.done.add(part.id)
        run.succeeded.discard(part.id)
        run.created.pop(part.id, None)
    order = {part.id: index for index, part in enumerate(parts)}
    return sorted([failing, *undone], key=lambda outcome: order[outcome.part.id])


def execute(run: _Run, parts: list[Part], *, continue_on_error: bool) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for group in _groups(parts):
        results = [_run_single(run, group[0])] if group[0].group is None else _run_group(run, group)
        outcomes += results
        if not continue_on_error and any(r.reply.status >= 400 for r in results):
            break
    return outcomes


def _parts(content_type: str, body: bytes) -> list[Part]:
    media = content_type.split(";")[0].strip().lower()
    if media == "application/json":
        parts = _json_parts(body)
    elif media == "multipart/mixed":
        parts = _multipart_parts(body, content_type)
    else:
        raise UnsupportedMediaType(
            f"A batch is application/json or multipart/mixed, not '{media or 'nothing'}'.",
            code="UnsupportedMediaType",
        )
    if not parts:
        raise _invalid("The batch holds no request.")
    if len(parts) > MAX_OPERATIONS:
        raise _invalid(f"A batch may hold at most {MAX_OPERATIONS} operations; this one has {len(parts)}.")
    ids = [part.id for part in parts]
    if len(set(ids)) != len(ids):
        raise _invalid("Request ids (Content-ID) must be unique within a batch.")
    return parts


async def serve(
    request: Request,
    body: bytes,
    database: Database,
    settings: Settings,
    check: Callable[[Any], Actor],
    admit: Callable[[Actor, int], None],
) -> Response:
    """Run a batch; it costs the rate limits one token per operation (at least one)."""
    content_type = request.headers.get("content-type", "")
    continue_on_error = "odata.continue-on-error" in prefer(request.headers)
    root = f"{request.base_url}api/"

    def unit() -> list[Outcome]:
        with database.transaction(write=False) as session:
            actor = check(session)
        try:
            parts = _parts(content_type, body)
        except OdysseeError:
            admit(actor, 1)
            raise
        admit(actor, len(parts))
        return execute(_Run(database, settings, root, actor), parts, continue_on_error=continue_on_error)

    outcomes = await run_in_threadpool(unit)
    headers = {"Preference-Applied": "odata.continue-on-error"} if continue_on_error else {}
    response = (
        _json_response(outcomes)
        if content_type.lower().startswith("application/json")
        else _multipart_response(outcomes)
    )
    response.headers.update(headers)
    return response
