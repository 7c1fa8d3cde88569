"""Task kinds and what running each one means.

A handler does its whole job, including :func:`odyssee.worker.queue.complete`, in the
transaction that writes its output — so "output written" and "task done" commit together.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable

from odyssee.db.engine import Database
from odyssee.worker import pdf, queue
from odyssee.worker.queue import Task

Handler = Callable[[Database, Task], None]

RENDER_DELAY_ENV = "ODYSSEE_WORKER_RENDER_DELAY"
"""Seconds every run of a task sleeps while holding its claim, before any output is stored: a slow
render on demand, so tests can kill a worker mid-task or run two side by side. Unset in production."""


def approval_pdf(database: Database, task: Task) -> None:
    """Render the approval's PDF and store it as its ``db_file``, once."""
    delay = float(os.environ.get(RENDER_DELAY_ENV, "0") or 0)
    if delay > 0:
        time.sleep(delay)
    approval_id = uuid.UUID(task.payload["approval_id"])
    with database.transaction(write=False) as session:
        stored = pdf.existing_file(session, task.tenant_id, approval_id) is not None
        approval = None if stored else pdf.load_approval(session, task.tenant_id, approval_id)
    if approval is None:  # an earlier run stored the file; only the task's completion is missing
        with database.transaction(write=True) as session:
            queue.complete(session, task)
        return
    content = pdf.render(approval)
    with database.transaction(write=True) as session:
        pdf.store(session, task.tenant_id, approval, content)
        queue.complete(session, task)


HANDLERS: dict[str, Handler] = {queue.APPROVAL_PDF: approval_pdf}
