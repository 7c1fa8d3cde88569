"""An approval with parts and labour made through the API, a webhook subscriber, and real worker processes."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from odyssee.db.engine import Database
from odyssee.domain import blobs
from odyssee.domain.actor import Actor
from odyssee.domain.tenants import find_tenant
from odyssee.model.registry import registry
from odyssee.model.system import QueuedTask
from odyssee.worker.queue import enqueue_approval_pdf
from tests.conftest import Tenant
from tests.factories import Factory


@dataclass(frozen=True)
class ApprovalCase:
    id: uuid.UUID
    actor: Actor
    job: dict[str, Any]
    parts: list[str]


@pytest.fixture
def approval(database: Database, tenant: Tenant, make: Factory) -> ApprovalCase:
    """A job with an approval, two signed parts and one labour line, all created by POST."""
    job = make.job("IN_PROGRESS", name="Boiler service Rue Haute")
    user = make("User")
    made = make(
        "JobApproval",
        jobs_id=job["id"],
        user_id=user["id"],
        contact_name="Jeanne Martin",
        customer_remarks="Radiator in the attic still cold",
        date_generated="2026-03-04T15:16:17.000Z",
    )
    parts = ["Pressure valve 3 bar", "Expansion vessel 18 l"]
    for index, name in enumerate(parts):
        make(
            "JobPartUsage",
            jobs_id=job["id"],
            user_id=user["id"],
            job_approval_id=made["id"],
            code=f"P{index}",
            name=name,
            quantity=2,
            price=12.5,
        )
    make(
        "JobNonPartUsage",
        jobs_id=job["id"],
        job_approval_id=made["id"],
        description="Diagnosis",
        quantity=1.5,
        price=40,
    )
    with database.transaction(write=False) as session:
        found = find_tenant(session, tenant.domain)
        assert found is not None
    actor = Actor(tenant_id=found.id, domain=found.domain, username="api@example.com", is_api=True)
    return ApprovalCase(id=uuid.UUID(made["id"]), actor=actor, job=job, parts=parts)


def enqueue(database: Database, case: ApprovalCase) -> uuid.UUID:
    """The approval's PDF task: POST JobApproval queued it in its own transaction."""
    with database.transaction(write=False) as session:
        found = (
            session.execute(
                sa.select(QueuedTask.id).where(
                    QueuedTask.payload.contains(str(case.id)), QueuedTask.kind == "approval_pdf"
                )
            )
            .scalars()
            .all()
        )
    assert len(found) == 1, "creating the approval queued exactly one PDF task"
    return found[0]


def enqueue_again(database: Database, case: ApprovalCase) -> uuid.UUID:
    with database.transaction(write=True) as session:
        return enqueue_approval_pdf(session, case.actor, case.id)


def worker_command(database_url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "odyssee", "worker", "--database-url", database_url, *args]


def run_worker(database_url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``odyssee worker --once`` as a real process; fails the test if it does not exit cleanly in time."""
    done = subprocess.run(
        worker_command(database_url, "--once", *args),
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def approval_files(database: Database, approval_id: uuid.UUID) -> list[dict[str, Any]]:
    """The approval's ``db_file`` rows, each with its bytes read from the blob store."""
    spec = registry().by_table("db_file")
    table = spec.table
    with database.transaction(write=False) as session:
        rows = [
            dict(row)
            for row in session.execute(
                sa.select(table).where(table.c.db_table_name == "job_approval", table.c.id_in_table == approval_id)
            ).mappings()
        ]
        blobs.fill(session, rows[0]["tenant_id"] if rows else 0, spec, rows, spec.apart)
        return rows


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@dataclass
class Receiver:
    """An HTTP subscriber: records every POST; answers ``status`` after ``delay`` seconds."""

    url: str = ""
    status: int = 200
    delay: float = 0.0
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def events(self) -> list[dict[str, Any]]:
        return [event for _, body in self.received for event in json.loads(body)["events"]]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append((dict(self.headers), body))
            time.sleep(state.delay)
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
