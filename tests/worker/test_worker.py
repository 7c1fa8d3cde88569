"""The approval PDF queue end to end with real ``odyssee worker`` processes (issue 6, part B)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import uuid
from dataclasses import replace
from datetime import timedelta

import sqlalchemy as sa

from odyssee.db.engine import Database
from odyssee.model.conventions import utcnow
from odyssee.model.system import QueuedTask
from odyssee.worker import pdf, queue
from odyssee.worker.runner import Worker
from odyssee.worker.tasks import RENDER_DELAY_ENV
from tests.conftest import PG_URL
from tests.worker.conftest import (
    ApprovalCase,
    approval_files,
    enqueue,
    enqueue_again,
    pdf_text,
    run_worker,
    worker_command,
)


def _tasks(database: Database) -> list[dict[str, object]]:
    with database.transaction(write=False) as session:
        return [dict(row) for row in session.execute(sa.select(QueuedTask.__table__)).mappings()]


def test_worker_once_renders_the_approval_into_one_db_file(
    database: Database, database_url: str, approval: ApprovalCase
) -> None:
    enqueue(database, approval)
    run_worker(database_url)
    (file,) = approval_files(database, approval.id)
    assert file["file_type_name"] == "JOB_APPROVAL" and file["mime_type"] == "application/pdf"
    pattern = rf"Job #{approval.job['id2']} Boiler service Rue Haute \d{{4}}-\d\d-\d\d \d\d\.\d\d\.\d\d\.pdf"
    assert re.fullmatch(pattern, file["file_name"]), file["file_name"]
    assert file["file_size"] == len(file["file_content"])
    text = pdf_text(file["file_content"])
    for expected in ("Boiler service Rue Haute", *approval.parts, "Radiator in the attic still cold", "Jeanne Martin"):
        assert expected in text
    # two parts of 2 x 12.50 = 25.00 each, labour 1.5 h x 40.00 = 60.00
    assert text.count("25.00") == 2 and "Labour and travel 60.00" in text and "Total 110.00" in text
    (task,) = _tasks(database)
    assert task["status"] == "done" and task["attempts"] == 1
    # the task is done: a second worker finds nothing and writes nothing
    assert "0 task(s) run" in run_worker(database_url).stdout
    assert len(approval_files(database, approval.id)) == 1


def test_an_approval_task_enqueued_twice_still_yields_one_file(database: Database, approval: ApprovalCase) -> None:
    enqueue(database, approval)
    enqueue_again(database, approval)
    assert Worker(database).drain() == 2
    assert len(approval_files(database, approval.id)) == 1
    assert [task["status"] for task in _tasks(database)] == ["done", "done"]


def test_a_rolled_back_transaction_enqueues_nothing(database: Database, approval: ApprovalCase) -> None:
    before = _tasks(database)
    try:
        with database.transaction(write=True) as session:
            queue.enqueue_approval_pdf(session, approval.actor, approval.id)
            raise RuntimeError("the approval failed")
    except RuntimeError:
        pass
    assert _tasks(database) == before


LEASE_S = 20


def test_a_worker_killed_mid_render_leaves_a_task_another_worker_finishes_once(
    database: Database, database_url: str, approval: ApprovalCase
) -> None:
    enqueue(database, approval)
    slow = subprocess.Popen(
        # The lease must outlast the start of the second worker process below, which on a machine
        # busy with other work took more than 10 s (a CI run beside a bulk load).
        worker_command(database_url, "--lease-seconds", str(LEASE_S)),
        env={**os.environ, RENDER_DELAY_ENV: "60"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while _tasks(database)[0]["status"] != "running":
            assert time.monotonic() < deadline, "the worker never claimed the task"
            time.sleep(0.1)
        slow.send_signal(signal.SIGKILL)
        slow.wait(timeout=10)
    finally:
        if slow.poll() is None:
            slow.kill()
            slow.wait(timeout=10)
    assert approval_files(database, approval.id) == []
    # within the lease nobody may take the task ...
    assert "0 task(s) run" in run_worker(database_url).stdout
    lease_left = (_tasks(database)[0]["locked_until"] - utcnow()).total_seconds()  # type: ignore[operator]
    assert 0 < lease_left <= LEASE_S
    time.sleep(lease_left + 0.2)
    # ... after it, the next worker does
    assert "1 task(s) run" in run_worker(database_url).stdout
    assert len(approval_files(database, approval.id)) == 1
    (task,) = _tasks(database)
    assert task["status"] == "done" and task["attempts"] == 2


def test_a_failing_task_is_retried_with_backoff_then_marked_failed(database: Database, approval: ApprovalCase) -> None:
    assert Worker(database).drain() == 1  # the approval's own PDF task, which succeeds
    with database.transaction(write=True) as session:
        task_id = queue.enqueue(
            session, approval.actor.tenant_id, queue.APPROVAL_PDF, {"approval_id": str(uuid.uuid4())}, max_attempts=3
        )
    worker = Worker(database, backoff_seconds=60)
    start = utcnow()
    assert worker.run_one()
    task = next(t for t in _tasks(database) if t["id"] == task_id)
    assert task["id"] == task_id and task["status"] == "queued" and task["attempts"] == 1
    assert "does not exist" in str(task["last_error"])
    assert start + timedelta(seconds=59) <= task["run_after"] <= utcnow() + timedelta(seconds=61)  # type: ignore[operator]
    assert not worker.run_one()  # backing off: not due yet
    later = utcnow() + timedelta(seconds=61)
    second = queue.claim(database, "w2", 30, now=later)
    assert second is not None and second.attempts == 2
    assert queue.fail(database, second, "boom", base_seconds=60, now=later) == "queued"
    task = next(t for t in _tasks(database) if t["id"] == task_id)
    assert task["run_after"] >= later + timedelta(seconds=119)  # type: ignore[operator]  # doubled
    third = queue.claim(database, "w3", 30, now=later + timedelta(seconds=121))
    assert third is not None and third.attempts == 3
    assert queue.fail(database, third, "boom", now=later + timedelta(seconds=121)) == "failed"
    task = next(t for t in _tasks(database) if t["id"] == task_id)
    assert task["status"] == "failed" and task["last_error"] == "boom"
    assert queue.claim(database, "w4", 30, now=later + timedelta(days=1)) is None


def test_completing_after_losing_the_lease_writes_nothing(database: Database, approval: ApprovalCase) -> None:
    enqueue(database, approval)
    first = queue.claim(database, "slow", 1)
    assert first is not None
    second = queue.claim(database, "fast", 60, now=utcnow() + timedelta(seconds=2))
    assert second is not None and second.id == first.id
    try:
        with database.transaction(write=True) as session:
            pdf.store(session, first.tenant_id, pdf.load_approval(session, first.tenant_id, approval.id), b"%PDF-")
            queue.complete(session, first)
    except queue.LeaseLost:
        pass
    else:
        raise AssertionError("a worker completed a task it no longer owns")
    assert approval_files(database, approval.id) == []


def test_two_workers_never_claim_the_same_task(database: Database, database_url: str, approval: ApprovalCase) -> None:
    """Exclusive claims: run concurrently, every task is claimed exactly once (attempts == 1)."""
    enqueue(database, approval)
    for _ in range(11):
        enqueue_again(database, approval)
    # every run holds its claim 0.5 s (6 s in all), ample time for the second process to start
    env = {**os.environ, RENDER_DELAY_ENV: "0.5"}
    workers = [
        subprocess.Popen(worker_command(database_url, "--once"), env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    assert all(worker.returncode == 0 for worker in workers)
    tasks = _tasks(database)
    assert [(task["status"], task["attempts"]) for task in tasks] == [("done", 1)] * 12
    run = [int(output.split(": ")[1].split()[0]) for output in outputs]
    assert sum(run) == 12
    if PG_URL:  # SKIP LOCKED: both workers really took tasks side by side
        assert min(run) > 0 and len({task["locked_by"] for task in tasks}) == 2
    assert len(approval_files(database, approval.id)) == 1


def test_the_signature_image_is_drawn_when_the_approval_has_one(database: Database, approval: ApprovalCase) -> None:
    from io import BytesIO

    from PIL import Image
    from pypdf import PdfReader

    with database.transaction(write=False) as session:
        loaded = pdf.load_approval(session, approval.actor.tenant_id, approval.id)
    image = BytesIO()
    Image.new("RGB", (40, 20), "navy").save(image, "PNG")
    unsigned = PdfReader(BytesIO(pdf.render(loaded))).pages[0].images
    signed = PdfReader(BytesIO(pdf.render(replace(loaded, signature=image.getvalue())))).pages[0].images
    assert len(unsigned) == 0 and len(signed) == 1
