"""The job-status workflow through the API: every path of the seed, every forbidden pair of the
17×17 table refused, the guards, the actions, the records, and technicians' access."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from odyssee.db.engine import Database
from odyssee.domain.tenants import create_credential
from odyssee.domain.workflow import STATUS_ID, TRANSITIONS
from tests.conftest import Tenant, basic
from tests.factories import Factory

CODES = list(TRANSITIONS)

ROUTE: dict[str, list[str]] = {
    "OPEN": [],
    "WAITING": ["WAITING"],
    "TO_BE_PLANNED": ["TO_BE_PLANNED"],
    "POOLING": ["POOLING"],
    "SUGGESTED": ["SUGGESTED"],
    "DISPATCHED": ["/Dispatch"],
    "DISPATCH_REJECTED": ["/Dispatch", "/Reject"],
    "PLANNED": ["TO_BE_PLANNED", "PLANNED"],
    "IN_PROGRESS": ["TO_BE_PLANNED", "PLANNED", "IN_PROGRESS"],
    "WAITING_FURTHER_ACTIONS": ["TO_BE_PLANNED", "PLANNED", "IN_PROGRESS", "WAITING_FURTHER_ACTIONS"],
    "COMPLETED": ["TO_BE_PLANNED", "PLANNED", "IN_PROGRESS", "COMPLETED"],
    "CANCELED": ["CANCELED"],
    "WORKSHOP": ["/Workshop"],
    "WORKSHOP_IN_QUEUE": ["/Workshop", "/Accept"],
    "IN_PROGRESS_W": ["/Workshop", "/Accept", "IN_PROGRESS_W"],
    "WORKSHOP_WAITING_FURTHER_ACTION": ["/Workshop", "/Accept", "IN_PROGRESS_W", "WORKSHOP_WAITING_FURTHER_ACTION"],
    "WORKSHOP_COMPLETED": ["/Workshop", "/Accept", "IN_PROGRESS_W", "WORKSHOP_COMPLETED"],
}
"""How to bring a new job into each status, with the actions a client would use."""


class Jobs:
    def __init__(self, tenant: Tenant, make: Factory) -> None:
        self.tenant = tenant
        self.make = make
        self.user = make("User")["id"]
        self.project = make("Project")["id"]
        make("JobType", is_default=True)

    def step(self, job: str, step: str) -> Any:
        url = f"/api/Jobs({job})"
        if step in ("/Dispatch", "/Workshop"):
            return self.tenant.post(url + step, {"user_ids": [self.user]})
        if step == "/Reject":
            return self.tenant.post(url + step, {"reason": "No time"})
        if step == "/Accept":
            return self.tenant.post(url + step)
        body: dict[str, Any] = {"job_status_id": str(STATUS_ID[step])}
        if step in ("DISPATCHED", "WORKSHOP"):
            body["user_id"] = self.user
        return self.tenant.patch(url, body)

    def new(self, status: str) -> str:
        job = self.tenant.post("/api/Jobs", {"project_id": self.project, "name": f"to {status}"}).json()["id"]
        for step in ROUTE[status]:
            response = self.step(job, step)
            assert response.status_code == 200, (status, step, response.text)
        assert self.status(job) == str(STATUS_ID[status])
        return str(job)

    def status(self, job: str) -> Any:
        return self.tenant.get(f"/api/Jobs({job})").json()["job_status_id"]

    def attempt(self, job: str, target: str) -> Any:
        return self.step(job, "/Reject" if target == "DISPATCH_REJECTED" else target)


@pytest.fixture
def jobs(tenant: Tenant, make: Factory) -> Jobs:
    return Jobs(tenant, make)


@pytest.mark.parametrize("source", CODES)
def test_exactly_the_allowed_transitions_succeed(jobs: Jobs, source: str) -> None:
    """From each of the 17 statuses, try all 16 others: the table decides, nothing else."""
    for target in CODES:
        if target == source:
            continue
        job = jobs.new(source)
        response = jobs.attempt(job, target)
        allowed = target in TRANSITIONS[source]
        assert (response.status_code == 200) == allowed, (source, target, response.text)
        after = jobs.status(job)
        assert after == str(STATUS_ID[target] if allowed else STATUS_ID[source]).lower()
        if not allowed:
            assert response.status_code == 409, (source, target, response.text)
            error = response.json()["error"]
            assert error["code"] == "TransitionNotAllowed"
            assert {d["target"] for d in error["details"]} == {str(STATUS_ID[c]) for c in TRANSITIONS[source]}


@pytest.mark.parametrize("source", CODES)
def test_next_statuses_lists_the_table_row_and_the_action_for_each(jobs: Jobs, source: str) -> None:
    """``GET Jobs(<id>)/NextStatuses`` is the read side of the 409: what a client may offer now."""
    job = jobs.new(source)
    response = jobs.tenant.get(f"/api/Jobs({job})/NextStatuses")
    assert response.status_code == 200, response.text
    rows = response.json()["value"]
    assert [row["code"] for row in rows] == list(TRANSITIONS[source])
    assert all(row["id"] == str(STATUS_ID[row["code"]]) for row in rows)
    actions = {row["code"]: row["action"] for row in rows}
    if source == "DISPATCHED":
        assert actions == {"PLANNED": "Accept", "DISPATCH_REJECTED": "Reject"}
    if source == "OPEN":
        assert (actions["DISPATCHED"], actions["WORKSHOP"], actions["POOLING"]) == ("Dispatch", "Workshop", "PATCH")


def test_next_statuses_bad_requests(jobs: Jobs) -> None:
    job = jobs.new("OPEN")
    assert jobs.tenant.post(f"/api/Jobs({job})/NextStatuses").status_code == 405
    missing = jobs.tenant.get("/api/Jobs(6f1c52a4-6b1e-4d55-9d1e-0d7c3f7a0001)/NextStatuses")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFound"


def test_seed_paths_and_their_records(jobs: Jobs, tenant: Tenant) -> None:
    job = jobs.new("OPEN")
    for step in (
        "/Dispatch",
        "/Reject",
        "DISPATCHED",
        "PLANNED",
        "IN_PROGRESS",
        "WAITING_FURTHER_ACTIONS",
        "COMPLETED",
    ):
        assert jobs.step(job, step).status_code == 200, step
    history = tenant.get(f"/api/JobStatusHistory?$filter=jobs_id eq {job}&$orderby=date_change,id").json()["value"]
    names = {str(v).lower(): k for k, v in STATUS_ID.items()}
    assert [names[h["to_job_status_id"]] for h in history] == [
        "OPEN", "DISPATCHED", "DISPATCH_REJECTED", "DISPATCHED", "PLANNED", "IN_PROGRESS",
        "WAITING_FURTHER_ACTIONS", "COMPLETED",
    ]  # fmt: skip
    assert (
        history[2]["reason"] == "No time" and history[0]["from_job_status_id"] == "00000000-0000-0000-0000-000000000000"
    )
    log = tenant.get(f"/api/JobDispatchLog?$filter=jobs_id eq {job}&$orderby=date_dispatched").json()["value"]
    assert [(entry["is_rejected"], entry["reject_reason"]) for entry in log] == [(True, "No time"), (False, "")]
    assert (log[1]["is_accepted"] and log[1]["date_proceeded"] > log[1]["date_dispatched"]) or log[1]["is_accepted"]


def test_workshop_path_to_completed(jobs: Jobs) -> None:
    job = jobs.new("WORKSHOP_COMPLETED")
    assert jobs.status(job) == str(STATUS_ID["WORKSHOP_COMPLETED"]).lower()
    workshop = jobs.new("WORKSHOP")
    refused = jobs.tenant.post(f"/api/Jobs({workshop})/Reject", {"reason": "x"})
    assert refused.status_code == 409 and "workshop job cannot be rejected" in refused.json()["error"]["message"]


def test_guards(jobs: Jobs, tenant: Tenant, make: Factory) -> None:
    job = jobs.new("OPEN")
    no_user = tenant.patch(f"/api/Jobs({job})", {"job_status_id": str(STATUS_ID["DISPATCHED"])})
    assert no_user.status_code == 400 and no_user.json()["error"]["code"] == "DispatchNeedsOneUser"
    two = [jobs.user, make("User")["id"]]
    assert tenant.post(f"/api/Jobs({job})/Dispatch", {"user_ids": two}).status_code == 400
    assert tenant.post(f"/api/Jobs({job})/Workshop", {"user_ids": []}).status_code == 400
    assert tenant.post(f"/api/Jobs({job})/Workshop", {"user_ids": two}).status_code == 200
    dispatched = jobs.new("DISPATCHED")
    no_reason = tenant.post(f"/api/Jobs({dispatched})/Reject", {"reason": " "})
    assert no_reason.status_code == 400 and no_reason.json()["error"]["code"] == "ReasonRequired"
    by_patch = tenant.patch(f"/api/Jobs({dispatched})", {"job_status_id": str(STATUS_ID["DISPATCH_REJECTED"])})
    assert by_patch.status_code == 400
    assert jobs.status(dispatched) == str(STATUS_ID["DISPATCHED"]).lower()
    start_late = tenant.post("/api/Jobs", {"project_id": jobs.project, "job_status_id": str(STATUS_ID["COMPLETED"])})
    assert start_late.status_code == 409


def test_same_status_is_no_transition(jobs: Jobs, tenant: Tenant) -> None:
    job = jobs.new("PLANNED")
    same = tenant.patch(f"/api/Jobs({job})", {"job_status_id": str(STATUS_ID["PLANNED"]), "name": "renamed"})
    assert same.status_code == 200
    history = tenant.get(f"/api/JobStatusHistory/$count?$filter=jobs_id eq {job}").text
    assert history == "3", "Open, To be Planned, Planned — the rename added nothing"


def test_virtual_status_under_completed(jobs: Jobs, tenant: Tenant) -> None:
    virtual = tenant.post(
        "/api/JobStatus", {"code": "ERP_IMP", "name": "Imported in ERP", "parent_id": str(STATUS_ID["COMPLETED"])}
    )
    assert virtual.status_code == 201, virtual.text
    open_job, done = jobs.new("OPEN"), jobs.new("COMPLETED")
    body = {"jobs_id": done, "target_job_status_code": "ERP_IMP"}
    moved = tenant.put("/api/Jobs/ChangeToVirtualStatus", body)
    assert moved.status_code == 200 and moved.json()["job_status_id"] == virtual.json()["id"]
    refused = tenant.put(
        "/api/Jobs/ChangeToVirtualStatus", {"jobs_id": open_job, "target_job_status_id": virtual.json()["id"]}
    )
    assert refused.status_code == 409
    not_virtual = tenant.put(
        "/api/Jobs/ChangeToVirtualStatus", {"jobs_id": done, "target_job_status_id": str(STATUS_ID["OPEN"])}
    )
    assert not_virtual.status_code == 400
    system = tenant.patch(f"/api/JobStatus({STATUS_ID['COMPLETED']})", {"name": "Done"})
    assert system.status_code == 405


def test_technicians_see_and_act_only_on_their_jobs(
    jobs: Jobs, tenant: Tenant, make: Factory, database: Database
) -> None:
    with database.transaction(write=True) as session:
        tech_user = create_credential(session, tenant.domain, "tom", "tom-secret", api=False).user_id
    tom = basic("tom", "tom-secret", tenant.domain)
    mine = tenant.post("/api/Jobs", {"project_id": jobs.project, "name": "mine"}).json()["id"]
    assert tenant.post(f"/api/Jobs({mine})/Dispatch", {"user_ids": [str(tech_user)]}).status_code == 200
    other = jobs.new("DISPATCHED")
    listed = tenant.client.get("/api/Jobs", headers=tom).json()["value"]
    assert [j["id"] for j in listed] == [mine]
    assert tenant.client.get("/api/Jobs/$count", headers=tom).text == "1"
    assert tenant.client.get(f"/api/Jobs({other})", headers=tom).status_code == 403
    assert tenant.client.post(f"/api/Jobs({other})/Accept", headers=tom).status_code == 403
    assert tenant.client.patch(f"/api/Jobs({other})", json={"name": "x"}, headers=tom).status_code == 403
    assert tenant.client.delete(f"/api/Jobs({other})", headers=tom).status_code == 403
    assert tenant.get(f"/api/Jobs({other})").json()["sys_logical_delete"] is False
    assert tenant.client.post(f"/api/Jobs({mine})/Accept", headers=tom).status_code == 200
    project = tenant.client.get(f"/api/Project({jobs.project})?$expand=jobs", headers=tom).json()
    assert [j["id"] for j in project["jobs"]] == [mine], "expansions hide other jobs too"


def test_racing_accept_and_reject_one_wins(live: tuple[str, dict[str, str]]) -> None:
    base, headers = live
    with httpx.Client(base_url=base, headers=headers) as client:
        user = client.post("/api/User", json={"username": "u1", "lastname": "One"}).json()["id"]
        company = client.post("/api/Company", json={"name": "Acme"}).json()["id"]
        status = client.post("/api/ProjectStatus", json={"name": "Active", "is_default": True}).json()["id"]
        project = client.post("/api/Project", json={"company_id": company, "project_status_id": status}).json()["id"]
        client.post("/api/JobType", json={"name": "Repair", "is_default": True})
        job_ids = []
        for _ in range(5):
            job = client.post("/api/Jobs", json={"project_id": project}).json()["id"]
            assert client.post(f"/api/Jobs({job})/Dispatch", json={"user_ids": [user]}).status_code == 200
            job_ids.append(job)
    for job in job_ids:
        barrier = threading.Barrier(2)

        def act(action: str, job: str = job, barrier: threading.Barrier = barrier) -> int:
            with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
                barrier.wait(timeout=10)
                body = {"reason": "busy"} if action == "Reject" else None
                return client.post(f"/api/Jobs({job})/{action}", json=body).status_code

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = sorted(pool.map(act, ["Accept", "Reject"]))
        assert results == [200, 409], results
        with httpx.Client(base_url=base, headers=headers) as client:
            history = client.get(f"/api/JobStatusHistory/$count?$filter=jobs_id eq {job}").text
            assert history == "3", "Open, Dispatched, and exactly one of Planned / Dispatch - Rejected"
