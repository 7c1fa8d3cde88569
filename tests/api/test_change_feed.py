"""The change feed: unique, commit-ordered modified_dateutc; deletes visible; OData delta links."""

from __future__ import annotations

import threading
import time
from typing import Any

from odyssee.db.engine import Database
from odyssee.domain import entities
from odyssee.domain.actor import Actor
from odyssee.domain.tenants import find_tenant
from odyssee.model.registry import registry
from tests.conftest import Tenant
from tests.factories import Factory

SEED_POLL = "/api/JobType?$filter=modified_dateutc gt '{}'&$orderby=modified_dateutc asc"


def _poll_like_the_seed(tenant: Tenant, watermark: str, *, page: int = 1) -> tuple[list[dict[str, Any]], str]:
    """The seed's recipe, strictly: save the watermark after every row; here after pages of ``page`` rows."""
    seen = []
    while True:
        rows = tenant.get(SEED_POLL.format(watermark) + f"&$top={page}").json()["value"]
        if not rows:
            return seen, watermark
        for row in rows:
            seen.append(row)
            watermark = row["modified_dateutc"]


def _batch_create(tenant: Tenant, names: list[str]) -> None:
    requests = [
        {"id": str(i), "atomicityGroup": "g", "method": "POST", "url": "JobType", "body": {"name": name}}
        for i, name in enumerate(names)
    ]
    response = tenant.post("/api/$batch", {"requests": requests})
    assert response.status_code == 200 and all(r["status"] == 201 for r in response.json()["responses"])


def test_rows_written_in_one_millisecond_get_distinct_increasing_stamps(tenant: Tenant) -> None:
    names = [f"T{i:03}" for i in range(60)]
    _batch_create(tenant, names)  # one transaction: far more rows than milliseconds
    rows = tenant.rows("JobType")
    stamps = [row["modified_dateutc"] for row in sorted(rows, key=lambda r: r["modified_dateutc"])]
    assert len(set(stamps)) == len(stamps) == 60
    assert [row["name"] for row in sorted(rows, key=lambda r: r["modified_dateutc"])] == names


def test_a_poller_saving_its_watermark_after_every_row_misses_nothing(tenant: Tenant) -> None:
    _batch_create(tenant, [f"A{i}" for i in range(25)])
    seen, watermark = _poll_like_the_seed(tenant, "2015-07-14T13:08:00.000Z")
    assert len(seen) == 25
    _batch_create(tenant, [f"B{i}" for i in range(7)])
    more, _ = _poll_like_the_seed(tenant, watermark, page=3)
    assert sorted(row["name"] for row in more) == sorted(f"B{i}" for i in range(7))


def test_every_write_path_stamps_its_rows_uniquely(tenant: Tenant, make: Factory) -> None:
    """Workflow records, frozen usage lines: server-written rows follow the same rule."""
    job, user = make("Jobs"), make("User")
    assert tenant.post(f"/api/Jobs({job['id']})/Dispatch", {"user_ids": [user["id"]]}).status_code == 200
    assert tenant.post(f"/api/Jobs({job['id']})/Accept").status_code == 200
    for controller in ("JobStatusHistory", "JobDispatchLog", "JobStatus"):
        stamps = [row["modified_dateutc"] for row in tenant.rows(controller)]
        assert len(set(stamps)) == len(stamps), controller


def test_a_logical_delete_moves_the_row_forward_for_pollers(tenant: Tenant, make: Factory) -> None:
    job = make("Jobs")
    before = tenant.get(f"/api/Jobs({job['id']})").json()["modified_dateutc"]
    assert tenant.delete(f"/api/Jobs({job['id']})").status_code == 204
    polled = tenant.get(f"/api/Jobs?$filter=modified_dateutc gt '{before}'").json()["value"]
    assert [(row["id"], row["sys_logical_delete"]) for row in polled] == [(job["id"], True)]


def _follow(tenant: Tenant, url: str, headers: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], str]:
    """All pages of a tracked read: the entries and the final deltaLink."""
    entries: list[dict[str, Any]] = []
    while True:
        response = tenant.get(url, headers=headers or {})
        assert response.status_code == 200, response.text
        body = response.json()
        entries += body["value"]
        if "@odata.deltaLink" in body:
            assert "@odata.nextLink" not in body
            return entries, body["@odata.deltaLink"]
        url = body["@odata.nextLink"]
        headers = None


def test_odata_change_tracking_returns_changes_and_removals(tenant: Tenant, make: Factory) -> None:
    kept, dropped = make("JobType"), make("JobType")
    job = make("Jobs")
    first = tenant.get("/api/JobType", headers={"Prefer": "odata.track-changes, odata.maxpagesize=2"})
    assert first.status_code == 200
    assert "odata.track-changes" in first.headers["Preference-Applied"]
    initial, delta_link = _follow(tenant, "/api/JobType", {"Prefer": "odata.track-changes, odata.maxpagesize=2"})
    assert {row["id"] for row in initial} >= {kept["id"], dropped["id"], job["job_type_id"]}
    assert all("@removed" not in row for row in initial)

    assert tenant.patch(f"/api/JobType({kept['id']})", {"name": "renamed"}).status_code in (200, 204)
    assert tenant.delete(f"/api/JobType({dropped['id']})").status_code == 204
    added = make("JobType")
    changed, next_delta = _follow(tenant, delta_link.removeprefix("http://testserver"))
    assert [entry.get("id") for entry in changed] == [kept["id"], dropped["id"], added["id"]]
    assert changed[0]["name"] == "renamed"
    assert changed[1]["@removed"] == {"reason": "deleted"}
    assert changed[1]["@id"].endswith(f"JobType({dropped['id']})")
    assert tenant.get(delta_link.removeprefix("http://testserver")).json()["@odata.context"].endswith("/$delta")

    nothing, _ = _follow(tenant, next_delta.removeprefix("http://testserver"))
    assert nothing == []
    # a logically deleted job is a removal too
    jobs_link = _follow(tenant, "/api/Jobs?$select=name", {"Prefer": "odata.track-changes"})[1]
    assert tenant.delete(f"/api/Jobs({job['id']})").status_code == 204
    removed, _ = _follow(tenant, jobs_link.removeprefix("http://testserver"))
    assert removed == [{"@removed": {"reason": "deleted"}, "@id": f"http://testserver/api/Jobs({job['id']})",
                        "id": job["id"]}]  # fmt: skip


def test_a_row_sent_on_the_first_page_and_deleted_before_the_last_is_reported(tenant: Tenant, make: Factory) -> None:
    """The initial read spans requests: a deletion between two pages must not fall between its positions."""
    rows = [make("JobType") for _ in range(3)]
    paged = {"Prefer": "odata.track-changes, odata.maxpagesize=2"}
    page = tenant.get("/api/JobType", headers=paged).json()
    assert [row["id"] for row in page["value"]] == [rows[0]["id"], rows[1]["id"]]
    assert tenant.delete(f"/api/JobType({rows[0]['id']})").status_code == 204
    assert tenant.patch(f"/api/JobType({rows[2]['id']})", {"name": "later"}).status_code in (200, 204)

    rest, link = _follow(tenant, page["@odata.nextLink"].removeprefix("http://testserver"))
    link = link.removeprefix("http://testserver")
    assert {(entry["id"], "@removed" in entry) for entry in rest} == {(rows[0]["id"], True), (rows[2]["id"], False)}
    assert _follow(tenant, link)[0] == []


def test_change_tracking_refuses_what_it_cannot_honour(tenant: Tenant) -> None:
    tracked = {"Prefer": "odata.track-changes"}
    response = tenant.get("/api/JobType?$filter=name eq 'x'", headers=tracked)
    assert response.status_code == 400 and response.json()["error"]["code"] == "InvalidQueryOption"
    assert tenant.get("/api/JobType?$deltatoken=garbage").json()["error"]["code"] == "InvalidDeltaToken"
    link = _follow(tenant, "/api/JobType?$select=name", tracked)[1].removeprefix("http://testserver")
    other = link.replace("$select=name", "$select=code")
    assert tenant.get(other).status_code == 400


def test_a_writer_that_commits_later_never_gets_an_older_stamp(database: Database, tenant: Tenant) -> None:
    """The hazard of every modified-date poller: T1 stamps, T2 stamps and commits, T1 commits last.
    Here T2 waits for T1 (the clock row's lock), so T1's stamp is the older one *and* commits first."""
    spec = registry().lookup("JobType")
    assert spec is not None
    with database.transaction(write=False) as session:
        found = find_tenant(session, tenant.domain)
        assert found is not None
    actor = Actor(tenant_id=found.id, domain=tenant.domain, username="test", is_api=True)
    order: list[str] = []
    first_written = threading.Event()

    def slow() -> None:
        with database.transaction(write=True) as session:
            entities.create_entity(session, actor, spec, {"name": "slow"})
            first_written.set()
            time.sleep(1.0)
            order.append("slow commits")

    def fast() -> None:
        first_written.wait(10)
        with database.transaction(write=True) as session:
            entities.create_entity(session, actor, spec, {"name": "fast"})
        order.append("fast commits")

    threads = [threading.Thread(target=slow), threading.Thread(target=fast)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert order == ["slow commits", "fast commits"]
    rows = {row["name"]: row["modified_dateutc"] for row in tenant.rows("JobType")}
    assert rows["slow"] < rows["fast"]
