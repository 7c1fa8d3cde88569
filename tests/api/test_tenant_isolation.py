"""Tenant isolation as a tested fact: tenant A, acting on tenant B's rows by every route the API
has, gets exactly what it would get for an id that does not exist, never sees a byte of B's data,
and leaves B's rows exactly as they were.

The suite is generated from the registry: one test per entity set, so a new entity is covered
without touching this file. Two kinds of B rows are built through the real API:

* a **B-only** row of the entity under test (and its dependencies), whose id A must not reach;
* **twins**: the same entity built in A and in B with the *same ids* (a factory that hands out ids
  from a shared sequence) but different text. A join, ``$expand``, navigation path or ``any()``
  that matched rows on ``id`` alone, forgetting the tenant, would pull B's twin text into A's
  answers — so every answer A gets is scanned for B's ids and B's text.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from odyssee.db.engine import Database
from odyssee.domain.tenants import find_tenant
from odyssee.model.base import Base
from odyssee.model.conventions import EMPTY_GUID
from odyssee.model.registry import EntitySpec, Kind, Navigation, registry
from odyssee.worker.runner import Worker
from tests.conftest import Tenant, make_tenant
from tests.factories import Factory

SPECS = list(registry())


class TwinFactory(Factory):
    """A factory whose rows take ids from a sequence named by ``seed``: two tenants building the
    same entity with the same seed get rows with the same ids, linked the same way."""

    def __init__(self, caller: Tenant, seed: str) -> None:
        super().__init__(caller)
        self.ids: Iterator[uuid.UUID] = (uuid.uuid5(uuid.NAMESPACE_URL, f"{seed}/{n}") for n in range(10_000))

    def __call__(self, controller: str, **overrides: Any) -> dict[str, Any]:
        return super().__call__(controller, **({"id": str(next(self.ids))} | overrides))


def seed(factory: Factory, tenant: Tenant, database: Database, spec: EntitySpec) -> dict[str, Any]:
    """One row of ``spec`` in ``tenant``, made as a client makes it (read-only sets: by the action
    or worker that writes them)."""
    if spec.name == "JobStatusHistory":
        job = factory.job("IN_PROGRESS")
        return _one(tenant, spec.name, f"jobs_id eq {job['id']} and to_job_status_id ne from_job_status_id")
    if spec.name == "JobDispatchLog":
        job, user = factory("Jobs"), factory("User")
        response = tenant.post(f"/api/Jobs({job['id']})/Dispatch", {"user_ids": [user["id"]]})
        assert response.status_code == 200, response.text
        return _one(tenant, spec.name, f"jobs_id eq {job['id']}")
    if spec.name == "WebhookDelivery":
        subscription = factory("WebhookSubscription")  # to 127.0.0.1:9: refused, and logged as such
        factory("Company")
        Worker(database).drain(limit=20)
        return _one(tenant, spec.name, f"webhook_subscription_id eq {subscription['id']}")
    return factory(spec.name)


def _one(tenant: Tenant, controller: str, condition: str) -> dict[str, Any]:
    response = tenant.get(f"/api/{controller}", params={"$filter": condition, "$top": "1"})
    assert response.status_code == 200 and response.json()["value"], response.text
    return response.json()["value"][0]  # type: ignore[no-any-return]


def state(database: Database, domain: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table that belongs to tenant ``domain``, read straight from the database."""
    with database.transaction(write=False) as session:
        found = find_tenant(session, domain)
        assert found is not None
        tenant_id = found.id
        result: dict[str, list[tuple[Any, ...]]] = {}
        for table in Base.metadata.sorted_tables:
            column = table.c.tenant_id if "tenant_id" in table.c else table.c.id if table.name == "tenant" else None
            if column is None:
                continue
            query = sa.select(table).where(column == tenant_id).order_by(*table.primary_key.columns)
            result[table.name] = [tuple(row) for row in session.execute(query)]
        return result


def markers(database: Database, a: Tenant, b: Tenant) -> set[str]:
    """B's ids and texts that A does not have: none may appear in an answer to A."""

    def values(domain: str) -> set[str]:
        snapshot = state(database, domain)
        found = set()
        for spec in SPECS:
            for row in snapshot[spec.table_name]:
                for value in row:
                    if isinstance(value, uuid.UUID) and value != EMPTY_GUID:
                        found.add(str(value))
                    elif isinstance(value, str) and len(value) >= 8:
                        found.add(value)
        return found

    return values(b.domain) - values(a.domain)


class Probe:
    """Tenant A's side of the test: every answer is checked for B's data before it is returned."""

    def __init__(self, a: Tenant, secrets: set[str]) -> None:
        self.a = a
        self.secrets = secrets

    def __call__(self, method: str, url: str, body: Any = None, **kwargs: Any) -> Any:
        response = getattr(self.a, method.lower())(url, body, **kwargs) if body is not None or method in (
            "POST", "PUT", "PATCH"
        ) else getattr(self.a, method.lower())(url, **kwargs)  # fmt: skip
        asked = url + repr(kwargs.get("params", "")) + (orjson.dumps(body).decode() if body is not None else "")
        self.check(response.text, asked)
        return response

    def check(self, text: str, asked: str) -> None:
        leaked = sorted(s for s in self.secrets if s in text and s not in asked)
        assert not leaked, f"tenant A saw B's data {leaked[:3]} in: {text[:500]}"


def outcome(response: Any) -> tuple[int, str | None]:
    """Status and OData error code: what must not differ between B's id and an id that does not exist."""
    code = response.json()["error"]["code"] if response.status_code >= 400 else None
    return response.status_code, code


def _text_field(spec: EntitySpec) -> str | None:
    return next(
        (f.name for f in spec.fields if f.kind is Kind.STRING and not f.write_only and not f.apart and f.max_length),
        None,
    )


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@pytest.fixture
def pair(database: Database, app_client: Any) -> tuple[Tenant, Tenant]:
    return make_tenant(database, app_client, "ISOA"), make_tenant(database, app_client, "ISOB")


@pytest.mark.parametrize("spec", SPECS, ids=[spec.name for spec in SPECS])
def test_tenant_cannot_reach_another_tenants_rows(
    spec: EntitySpec, database: Database, pair: tuple[Tenant, Tenant]
) -> None:
    a, b = pair
    b_twin = seed(TwinFactory(b, "twin"), b, database, spec)
    a_twin = seed(TwinFactory(a, "twin"), a, database, spec)
    b_row = seed(Factory(b), b, database, spec)
    if not spec.options.read_only:
        assert a_twin["id"] == b_twin["id"], "twins share their ids"
    before = state(database, b.domain)
    probe = Probe(a, markers(database, a, b))
    hidden, missing = b_row["id"], str(uuid.uuid4())

    _by_id(probe, a, spec, hidden, missing)
    _by_alternate_key(probe, spec, b_row)
    _foreign_keys(probe, a, spec, b_row)
    _navigation(probe, b, spec, a_twin["id"], b_twin["id"])
    _batch(probe, spec, hidden, missing, b_twin["id"])
    _actions(probe, a, spec, hidden, missing)
    delta_link = _track(probe, spec.name)
    assert state(database, b.domain) == before, "B's rows changed"

    # B changes its row; A's delta shows nothing of it
    text = _text_field(spec)
    if not spec.options.read_only and text is not None and text not in (spec.options.erp_key, *FIXED):
        fresh = f"changed-{uuid.uuid4().hex}"[: spec.by_name[text].max_length]
        assert b.patch(f"/api/{spec.name}({hidden})", {text: fresh}).status_code == 200
        probe.secrets.add(fresh)
    delta = probe("GET", delta_link.removeprefix("http://testserver"))
    assert delta.status_code == 200 and hidden not in delta.text, delta.text

    # last, as it adds a row to A: PUT to B's ERP key is an upsert in A, and B's row stays as it was
    key = spec.options.erp_key
    if key and b_row.get(key) and not spec.options.read_only:
        before = state(database, b.domain)
        made = probe(
            "PUT", f"/api/{spec.name}({key}={_quoted(b_row[key])})", Factory(a).body(spec.name, **{key: b_row[key]})
        )
        assert made.status_code in (201, 405), made.text
        if made.status_code == 201:
            assert made.json()["id"] != hidden and made.json()[key] == b_row[key]
        assert state(database, b.domain) == before, "B's rows changed"


FIXED = ("type_code", "entities", "events", "url")
"""Text properties with constrained values, left alone when B edits its row."""


def _by_id(probe: Probe, a: Tenant, spec: EntitySpec, hidden: str, missing: str) -> None:
    """GET/PUT/PATCH/DELETE by B's id answer exactly as for an id that does not exist; lists and
    counts filtered on it are empty."""
    name = spec.name
    body = Factory(a).body(name) if not spec.options.read_only else {}
    for method, payload in (("GET", None), ("PUT", body), ("PATCH", {}), ("DELETE", None)):
        seen = probe(method, f"/api/{name}({hidden})", payload)
        assert outcome(seen) == outcome(probe(method, f"/api/{name}({missing})", payload)), (method, seen.text)
        assert seen.status_code in (404, 405), (method, seen.text)
    assert probe("GET", f"/api/{name}({hidden})").status_code == 404
    assert probe("GET", f"/api/{name}", params={"$filter": f"id eq {hidden}"}).json()["value"] == []
    assert probe("GET", f"/api/{name}/$count", params={"$filter": f"id eq {hidden}"}).text == "0"
    ids = {row["id"] for row in a.rows(name)}
    assert hidden not in ids
    assert probe("GET", f"/api/{name}", params={"$top": "1000", "$count": "true"}).json()["@odata.count"] == len(ids)


def _by_alternate_key(probe: Probe, spec: EntitySpec, b_row: dict[str, Any]) -> None:
    """``Set(code='<B's code>')``: GET, PATCH and DELETE answer as for a code nobody has."""
    key = spec.options.erp_key
    if not key or not b_row.get(key):
        return
    alternate, unknown = f"{key}={_quoted(b_row[key])}", f"{key}='no-such-{uuid.uuid4().hex[:8]}'"
    for method, payload in (("GET", None), ("PATCH", {}), ("DELETE", None)):
        seen = probe(method, f"/api/{spec.name}({alternate})", payload)
        assert outcome(seen) == outcome(probe(method, f"/api/{spec.name}({unknown})", payload)), (method, seen.text)
        assert seen.status_code in (404, 405), (method, seen.text)


def _foreign_keys(probe: Probe, a: Tenant, spec: EntitySpec, b_row: dict[str, Any]) -> None:
    """A foreign key into B — as an id, an ``@odata.bind`` or an embedded ERP code — is a 422."""
    key = spec.options.erp_key
    for source, fk in registry().referencing(spec):
        if source.options.read_only:
            continue
        navigation = fk.name.removesuffix("_id")
        attempts: list[dict[str, Any]] = [
            {fk.name: b_row["id"]},
            {f"{navigation}@odata.bind": f"{spec.name}({b_row['id']})"},
        ]
        if key and b_row.get(key):
            attempts.append({f"{navigation}_{key}": b_row[key]})
        valid = Factory(a).body(source.name)  # its own references built once; each attempt fails and rolls back
        for attempt in attempts:
            payload = {k: v for k, v in valid.items() if k != fk.name} | attempt
            seen = probe("POST", f"/api/{source.name}", payload)
            assert seen.status_code == 422 and outcome(seen)[1] == "UnknownReference", (source.name, attempt, seen.text)


def _navigation(probe: Probe, b: Tenant, spec: EntitySpec, a_twin: str, b_twin: str) -> None:
    """``$expand``, navigation paths in ``$filter``/``$orderby``/``$apply`` and ``any()`` over A's
    twins, filtering on text only B's twins have: always empty, never B's text."""
    name = spec.name
    for nav in spec.navigations:
        expanded = probe("GET", f"/api/{name}", params={"$expand": nav.name, "$top": "1000"})
        assert expanded.status_code == 200, expanded.text
        one = probe("GET", f"/api/{name}({a_twin})", params={"$expand": f"{nav.name}($count=true)"})
        assert one.status_code == 200, one.text
        text = _text_field(registry().by_table(nav.target))
        if text is None:
            continue
        of_b = b.get(f"/api/{name}({b_twin})", params={"$expand": nav.name}).json().get(nav.name)
        for value in _texts(of_b, text):
            if value not in probe.secrets:
                continue  # shared by both tenants (a system job status code): proves nothing
            condition = _through(nav, text, value)
            found = probe("GET", f"/api/{name}", params={"$filter": condition})
            assert found.status_code == 200 and found.json()["value"] == [], (condition, found.text)
            counted = probe("GET", f"/api/{name}/$count", params={"$filter": condition})
            assert counted.text == "0", (condition, counted.text)
        if not nav.many:
            grouped = probe("GET", f"/api/{name}", params={"$apply": f"groupby(({nav.name}/{text}))"})
            assert grouped.status_code == 200, grouped.text
            ordered = probe("GET", f"/api/{name}", params={"$orderby": f"{nav.name}/{text}", "$top": "1000"})
            assert ordered.status_code == 200, ordered.text


def _batch(probe: Probe, spec: EntitySpec, hidden: str, missing: str, twin: str) -> None:
    """In ``$batch`` each part answers as it would alone."""
    name = spec.name
    expand = ",".join(n.name for n in spec.navigations)
    last = f"{name}({twin})?$expand={expand}" if expand and not spec.options.read_only else f"{name}/$count"
    parts = [
        {"id": "1", "method": "GET", "url": f"{name}({hidden})"},
        {"id": "2", "method": "PATCH", "url": f"{name}({hidden})", "body": {}},
        {"id": "3", "method": "DELETE", "url": f"{name}({hidden})"},
        {"id": "4", "method": "GET", "url": f"{name}?$filter=id eq {hidden}"},
        {"id": "5", "method": "GET", "url": last},
    ]
    answer = probe("POST", "/api/$batch", {"requests": parts}, headers={"Prefer": "odata.continue-on-error"})
    replies = {reply["id"]: reply for reply in answer.json()["responses"]}
    assert replies["1"]["status"] == 404
    assert replies["2"]["status"] == outcome(probe("PATCH", f"/api/{name}({missing})", {}))[0]
    assert replies["3"]["status"] == outcome(probe("DELETE", f"/api/{name}({missing})"))[0]
    assert replies["4"]["status"] == 200 and replies["4"]["body"]["value"] == []
    assert replies["5"]["status"] == 200, replies["5"]


def _texts(node: Any, field: str) -> list[str]:
    rows = node if isinstance(node, list) else [node] if isinstance(node, dict) else []
    return [row[field] for row in rows[:2] if isinstance(row.get(field), str) and len(row[field]) >= 4]


def _through(nav: Navigation, field: str, value: str) -> str:
    if nav.many:
        return f"{nav.name}/any(x: x/{field} eq {_quoted(value)})"
    return f"{nav.name}/{field} eq {_quoted(value)}"


def _actions(probe: Probe, a: Tenant, spec: EntitySpec, hidden: str, missing: str) -> None:
    """The bound actions and raw-content routes, addressed with B's id."""
    calls: list[tuple[str, str, Any]] = []
    if spec.name == "Jobs":
        user = Factory(a)("User")["id"]
        calls += [
            ("POST", "Jobs({})/Dispatch", {"user_ids": [user]}),
            ("POST", "Jobs({})/Workshop", {"user_ids": [user]}),
            ("POST", "Jobs({})/Accept", None),
            ("POST", "Jobs({})/Reject", {"reason": "no"}),
        ]
        virtual = Factory(a)("JobStatus")["id"]
        for key in (hidden, missing):
            calls_body = {"jobs_id": key, "target_job_status_id": virtual}
            seen = probe("PUT", "/api/Jobs/ChangeToVirtualStatus", calls_body)
            assert seen.status_code == 404, seen.text
    if spec.name == "User":
        job = Factory(a)("Jobs")["id"]
        for action in ("Dispatch", "Workshop"):
            seen = probe("POST", f"/api/Jobs({job})/{action}", {"user_ids": [hidden]})
            assert seen.status_code == 422 and outcome(seen)[1] == "UnknownReference", seen.text
    if spec.name == "JobStatus":
        job = Factory(a).job("COMPLETED")["id"]
        seen = probe("PUT", "/api/Jobs/ChangeToVirtualStatus", {"jobs_id": job, "target_job_status_id": hidden})
        assert seen.status_code == 422, seen.text
    if spec.name == "DbFile":
        calls += [("GET", "DbFile({})/$value", None), ("GET", "DbFile/GetFileContent?id={}", None)]
    if spec.name == "WebhookSubscription":
        calls += [("POST", "WebhookSubscription({})/Replay", {"since": "2020-01-01T00:00:00Z"})]
    for method, template, body in calls:
        seen = probe(method, "/api/" + template.format(hidden), body)
        assert outcome(seen) == outcome(probe(method, "/api/" + template.format(missing), body)), (template, seen.text)
        assert seen.status_code == 404, (template, seen.text)


def _track(probe: Probe, name: str) -> str:
    """Follow a tracked read to its deltaLink (bounded)."""
    url = f"/api/{name}"
    headers = {"Prefer": "odata.track-changes, odata.maxpagesize=50"}
    for _ in range(50):
        response = probe("GET", url, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        if "@odata.deltaLink" in body:
            return str(body["@odata.deltaLink"])
        url = body["@odata.nextLink"].removeprefix("http://testserver")
        headers = {}
    raise AssertionError("no deltaLink after 50 pages")
