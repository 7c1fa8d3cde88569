"""The worker loop: claim a due task, run its handler, record the outcome; send due webhook batches;
prune old change events now and then (worker/retention.py); sleep briefly when idle.

Used three ways: ``odyssee worker`` (a process; SIGTERM/SIGINT finish the current task and
exit), ``odyssee worker --once`` (drain what is due, then exit — tests and cron) and a thread
inside ``odyssee serve`` so the embedded SQLite default needs no second process.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

import httpx

from odyssee.db.engine import Database
from odyssee.worker import queue, retention, webhooks
from odyssee.worker.tasks import HANDLERS

log = logging.getLogger("odyssee.worker")

POLL_SECONDS = 0.2
"""Idle wait between looks for work: bounds the delay from a commit to its webhook delivery."""
LEASE_SECONDS = 300.0
"""Longer than any render; a killed worker's task is taken again after this."""
PRUNE_EVERY_SECONDS = 60.0
"""Time between two pruning rounds when the previous one finished its backlog."""
PRUNE_BATCHES = 4
"""Batches (of retention.BATCH_SIZE events) per round: a round stays well under a second."""


def worker_id() -> str:
    """Host, process and a random suffix: unique per worker, and says where a task ran."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"[:100]


@dataclass
class Worker:
    database: Database
    lease_seconds: float = LEASE_SECONDS
    poll_seconds: float = POLL_SECONDS
    backoff_seconds: float = queue.BACKOFF_BASE_SECONDS
    id: str = field(default_factory=worker_id)
    stop: threading.Event = field(default_factory=threading.Event)
    client: httpx.Client = field(default_factory=lambda: httpx.Client(follow_redirects=False))
    """For webhook deliveries; one connection pool per worker."""
    retention: timedelta | None = None
    """Prune change events older than this (settings.change_retention_days); None: never."""
    prune_every_seconds: float = PRUNE_EVERY_SECONDS
    _next_prune: float = field(default=0.0, init=False)

    def prune_if_due(self) -> None:
        """A bounded pruning round every ``prune_every_seconds``; at once again while a backlog remains."""
        if self.retention is None or time.monotonic() < self._next_prune:
            return
        try:
            pruned = retention.prune(self.database, self.retention, max_batches=PRUNE_BATCHES)
        except Exception:  # pruning is housekeeping: a failure must not stop deliveries
            log.exception("pruning change events failed")
            pruned = retention.Pruned(0, complete=True)
        self._next_prune = time.monotonic() + (self.prune_every_seconds if pruned.complete else 0.0)

    def run_one(self) -> bool:
        """Run one due task and send one due webhook batch; False when there was neither."""
        self.prune_if_due()
        ran = self.run_task()
        try:
            delivered = webhooks.deliver_one(
                self.database,
                self.id,
                self.client,
                base_seconds=self.backoff_seconds,
                lease_seconds=min(self.lease_seconds, webhooks.LEASE_SECONDS),
            )
        except Exception:  # a delivery bug must not stop the queue; the lease lets it be retried
            log.exception("webhook delivery failed")
            delivered = False
        return ran or delivered

    def run_task(self) -> bool:
        """Claim and run one due task; False when none was due."""
        task = queue.claim(self.database, self.id, self.lease_seconds)
        if task is None:
            return False
        handler = HANDLERS.get(task.kind)
        try:
            if handler is None:
                raise LookupError(f"no handler for task kind {task.kind!r}")
            handler(self.database, task)
        except queue.LeaseLost:
            log.warning("task %s: lease lost to another worker; result dropped", task.id)
        except Exception as error:  # any failure of a task is recorded on it, never kills the worker
            outcome = queue.fail(
                self.database, task, f"{type(error).__name__}: {error}", base_seconds=self.backoff_seconds
            )
            log.warning("task %s (%s) attempt %d failed, now %s: %s", task.id, task.kind, task.attempts, outcome, error)
        else:
            log.info("task %s (%s) done", task.id, task.kind)
        return True

    def drain(self, limit: int = 10_000) -> int:
        """Run due tasks until none is due (or ``limit``, or a stop request); how many ran."""
        count = 0
        while count < limit and not self.stop.is_set() and self.run_one():
            count += 1
        return count

    def run(self) -> None:
        """Loop until :attr:`stop` is set, waking at most every ``poll_seconds`` when idle."""
        log.info("worker %s started", self.id)
        while not self.stop.is_set():
            if not self.run_one():
                self.stop.wait(self.poll_seconds)
        log.info("worker %s stopped", self.id)

    def start_thread(self) -> threading.Thread:
        """Run in a daemon thread (inside ``odyssee serve``); set :attr:`stop` and join to end it."""
        thread = threading.Thread(target=self.run, name="odyssee-worker", daemon=True)
        thread.start()
        return thread
