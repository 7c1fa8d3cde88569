"""Concurrent writers through a real HTTP server on 127.0.0.1: conflicts are 409s, never 500s."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx

WRITERS = 8


def _post_all(
    base: str, headers: dict[str, str], controller: str, bodies: list[dict[str, object]]
) -> list[httpx.Response]:
    barrier = threading.Barrier(len(bodies))

    def post(body: dict[str, object]) -> httpx.Response:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            barrier.wait(timeout=10)
            return client.post(f"/api/{controller}", json=body)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(post, bodies))


def test_racing_duplicate_codes_create_one_row(live: tuple[str, dict[str, str]]) -> None:
    base, headers = live
    responses = _post_all(base, headers, "ProjectType", [{"code": "RACE", "name": f"n{i}"} for i in range(WRITERS)])
    assert Counter(r.status_code for r in responses) == {201: 1, 409: WRITERS - 1}, [r.text for r in responses]
    assert all(r.json()["error"]["code"] == "DuplicateKey" for r in responses if r.status_code == 409)
    rows = httpx.get(f"{base}/api/ProjectType?$filter=code eq 'RACE'", headers=headers).json()["value"]
    assert len(rows) == 1


def test_concurrent_jobs_get_distinct_running_numbers(live: tuple[str, dict[str, str]]) -> None:
    base, headers = live
    with httpx.Client(base_url=base, headers=headers) as client:
        company = client.post("/api/Company", json={"name": "Acme"}).json()
        status = client.post("/api/ProjectStatus", json={"name": "Active", "is_default": True}).json()
        project = client.post(
            "/api/Project", json={"company_id": company["id"], "project_status_id": status["id"]}
        ).json()
        client.post("/api/JobType", json={"name": "Repair", "is_default": True})
    responses = _post_all(
        base, headers, "Jobs", [{"project_id": project["id"], "name": f"job {i}"} for i in range(WRITERS)]
    )
    assert [r.status_code for r in responses] == [201] * WRITERS, [r.text for r in responses]
    assert sorted(r.json()["id2"] for r in responses) == list(range(1, WRITERS + 1))


def test_racing_embedded_creations_make_one_row_and_no_error(live: tuple[str, dict[str, str]]) -> None:
    """Clients embedding the same new project_type at the same moment: one row, every request succeeds."""
    base, headers = live
    with httpx.Client(base_url=base, headers=headers) as client:
        client.post("/api/Company", json={"code": "C1", "name": "Acme"})
        client.post("/api/ProjectStatus", json={"code": "ACT", "name": "Active"})
    bodies: list[dict[str, object]] = [
        {
            "name": f"site {i}",
            "company_code": "C1",
            "project_status_code": "ACT",
            "project_type": {"code": "NEW", "name": "Brand new type"},
        }
        for i in range(WRITERS)
    ]
    responses = _post_all(base, headers, "Project", bodies)
    assert [r.status_code for r in responses] == [201] * WRITERS, [r.text for r in responses]
    types = httpx.get(f"{base}/api/ProjectType?$filter=code eq 'NEW'", headers=headers).json()["value"]
    assert len(types) == 1
    assert {r.json()["project_type_id"] for r in responses} == {types[0]["id"]}
