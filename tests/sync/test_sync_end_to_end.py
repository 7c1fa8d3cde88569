"""``odyssee sync`` end to end: server, worker and agent as separate processes, a real ERP database.

ERP inserts and updates reach the API; unchanged rows are not sent again; a completed job's
parts, time and PDF land in the ERP exactly once — even when the agent is killed at random
moments and started again.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from odyssee.db.engine import Database
from odyssee.domain.tenants import create_credential, create_tenant
from odyssee.sync import demo
from tests.conftest import basic, free_port, wait_until_serving

IN_PROGRESS_PATH = (  # Open → To be Planned → Planned → In Progress
    "497acff2-9ff6-4c94-85dd-daa0689553e2",
    "10f456d2-000e-48ea-93d7-e016107b7a98",
    "f79e58ee-ee04-4590-bcb1-49e8bd551659",
)


NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"


def _odyssee(*args: str) -> list[str]:
    return [sys.executable, "-m", "odyssee", *args]


@pytest.fixture
def stack(database: Database, database_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    """``odyssee serve`` and ``odyssee worker`` processes over the test database; a tenant SYNC."""
    with database.transaction(write=True) as session:
        create_tenant(session, "SYNC")
        create_credential(session, "SYNC", "erp", "pw-erp", api=True)
    port = free_port()
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    server = subprocess.Popen(
        _odyssee("serve", "--port", str(port), "--database-url", database_url, "--no-worker", "--log-level", "warning"),
        **quiet,  # type: ignore[arg-type]
    )
    worker = subprocess.Popen(_odyssee("worker", "--database-url", database_url), **quiet)  # type: ignore[arg-type]
    base = f"http://127.0.0.1:{port}"
    headers = basic("erp", "pw-erp", "SYNC")
    try:
        wait_until_serving(f"{base}/api/Company", headers)
        yield base, headers
    finally:
        for process in (server, worker):
            process.terminate()
        for process in (server, worker):
            process.wait(timeout=20)


def _sync_once(config: Path, *extra: str) -> str:
    done = subprocess.run(_odyssee("sync", "--config", str(config), "--once", *extra), capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    if "--json-logs" in extra:  # structured logs: every stderr line is one JSON object
        records = [json.loads(line) for line in done.stderr.splitlines()]
        assert any(r["logger"] == "odyssee.sync" and r["message"].startswith("sync run:") for r in records)
    return done.stdout


def _counts(summary: str, part: str) -> dict[str, int]:
    """``push Company: read=2 sent=1 skipped=1 errors=0`` → {"read": 2, "sent": 1, …}."""
    for piece in summary.strip().split("; "):
        if piece.startswith(part + ":"):
            return {k: int(v) for k, v in (item.split("=") for item in piece.split(": ", 1)[1].split())}
    raise AssertionError(f"no '{part}' in {summary!r}")


def _complete_a_job(api: httpx.Client, project: str, user: str, article: str, label: str) -> dict[str, Any]:
    job = api.post("/Jobs", json={"project_id": project, "name": f"Repair {label}",
                                  "reference_back_office": f"WO-{label}"}).json()  # fmt: skip
    for status in IN_PROGRESS_PATH:
        assert api.patch(f"/Jobs({job['id']})", json={"job_status_id": status}).status_code == 200
    part = {"jobs_id": job["id"], "user_id": user, "article_id": article, "code": "ERP-A900",
            "name": "Door gasket 2 m", "quantity": 2, "price": 38.5}  # fmt: skip
    labour = {"jobs_id": job["id"], "user_id": user, "description": "Labour", "type_code": "WorkingTime",
              "quantity": 1.5, "price": 65}  # fmt: skip
    assert api.post("/JobPartUsage", json=part).status_code == 201
    assert api.post("/JobNonPartUsage", json=labour).status_code == 201
    approval = api.post("/JobApproval", json={"jobs_id": job["id"], "user_id": user, "contact_name": "Chris",
                                              "customer_remarks": f"Done {label}"})  # fmt: skip
    assert approval.status_code == 201, approval.text
    return approval.json()  # type: ignore[no-any-return]


def _erp_rows(erp: sa.Engine, table: str) -> list[dict[str, Any]]:
    with erp.connect() as connection:
        return [dict(row) for row in connection.execute(sa.text(f"SELECT * FROM {table}")).mappings()]


def _touch(erp: sa.Engine, statement: str) -> None:
    with erp.begin() as connection:
        connection.execute(sa.text(statement))


def test_the_round_trip_survives_kills(stack: tuple[str, dict[str, str]], tmp_path: Path) -> None:
    base, headers = stack
    config = demo.create(tmp_path / "erp", server=base, username="erp", password="pw-erp", domain="SYNC")
    erp = sa.create_engine(f"sqlite:///{tmp_path / 'erp' / 'erp.db'}")
    with httpx.Client(base_url=f"{base}/api", headers=headers, timeout=30) as api:
        api.post("/ProjectStatus", json={"code": "ACT", "name": "Active", "is_default": True})
        api.post("/JobType", json={"code": "REP", "name": "Repair", "is_default": True})

        # PUSH: the ERP's customers, project, articles and user appear in the API
        first = _sync_once(config)
        assert _counts(first, "push Company") == {"read": 2, "sent": 2, "skipped": 0, "errors": 0}
        companies = {c["code"]: c for c in api.get("/Company?$filter=startswith(code,'ERP-')").json()["value"]}
        assert set(companies) == {"ERP-C100", "ERP-C101"}
        project = api.get("/Project(reference_back_office='ERP-P500')").json()
        assert project["company_id"] == companies["ERP-C100"]["id"]

        # unchanged rows are not sent again: no write reaches the server
        second = _sync_once(config, "--json-logs")
        for entity in ("Company", "Project", "Article", "User"):
            assert _counts(second, f"push {entity}")["sent"] == 0, second
        again = api.get(f"/Company({companies['ERP-C100']['id']})").json()
        assert again["modified_dateutc"] == companies["ERP-C100"]["modified_dateutc"]

        # an ERP update is pushed, once
        _touch(erp, f"UPDATE customers SET name = 'Brasserie du Parc SA', last_modification = {NOW} "
                    "WHERE customer_no = 'ERP-C100'")  # fmt: skip
        assert _counts(_sync_once(config), "push Company")["sent"] == 1
        assert api.get(f"/Company({companies['ERP-C100']['id']})").json()["name"] == "Brasserie du Parc SA"

        # PULL, with the agent killed at random moments while approvals and ERP changes keep coming
        user = api.get("/User(code='ERP-U1')").json()["id"]
        article = api.get("/Article(code='ERP-A900')").json()["id"]
        approvals = [_complete_a_job(api, project["id"], user, article, "1")]
        rng = random.Random(7)
        for round_ in range(4):
            agent = subprocess.Popen(_odyssee("sync", "--config", str(config), "--every", "0.2s"),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
            time.sleep(rng.uniform(0.3, 2.0))
            approvals.append(_complete_a_job(api, project["id"], user, article, f"{round_ + 2}"))
            _touch(erp, f"UPDATE articles SET price = {40 + round_}, last_modification = {NOW} "
                        "WHERE article_no = 'ERP-A901'")  # fmt: skip
            time.sleep(rng.uniform(0.0, 1.0))
            agent.send_signal(signal.SIGKILL)
            agent.wait(timeout=10)
        deadline = time.monotonic() + 90
        while True:  # PDFs are rendered by the worker, possibly after the approval was pulled
            out = _sync_once(config)
            if "pdfs_pending=0" in out:
                break
            assert time.monotonic() < deadline, out
            time.sleep(0.5)

        expected_lines = set()
        for approval in approvals:
            for controller in ("JobPartUsage", "JobNonPartUsage"):
                rows = api.get(f"/{controller}?$filter=job_approval_id eq {approval['id']}").json()["value"]
                expected_lines |= {row["id"] for row in rows}
        assert api.get("/Article(code='ERP-A901')").json()["entered_price"] == 43.0
    pulled = _erp_rows(erp, "odyssee_approvals")
    assert sorted(row["approval_id"] for row in pulled) == sorted(a["id"] for a in approvals)
    lines = _erp_rows(erp, "invoice_lines")
    assert len(lines) == len(expected_lines) == 2 * len(approvals)
    assert {row["source_id"] for row in lines} == expected_lines
    pdfs = sorted((tmp_path / "erp" / "approval-pdfs").glob("*.pdf"))
    assert [p.name for p in pdfs] == sorted(f"{a['id']}.pdf" for a in approvals)
    assert all(p.read_bytes().startswith(b"%PDF") for p in pdfs)
    assert all(row["pdf_file"] for row in pulled)
    assert not list((tmp_path / "erp" / "approval-pdfs").glob(".*.part")), "no half-written file is left"
