"""One sync run (push every mapping, then pull), and the ``--every`` loop around it."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import sqlalchemy as sa
from rich.progress import Progress, TaskID

from odyssee.client import Client
from odyssee.sync.config import Config
from odyssee.sync.pull import PullReport, pull
from odyssee.sync.push import PushReport, push
from odyssee.sync.state import State

log = logging.getLogger("odyssee.sync")

PROGRESS_FROM = 200
"""Show a progress bar when a mapping has at least this many rows to look at (a first sync)."""


@dataclass
class RunReport:
    pushes: list[PushReport] = field(default_factory=list)
    pull: PullReport | None = None

    @property
    def errors(self) -> list[str]:
        return [e for p in self.pushes for e in p.errors] + (self.pull.errors if self.pull else [])

    def summary(self) -> str:
        parts = [f"push {p.entity}: read={p.read} sent={p.sent} skipped={p.skipped} errors={len(p.errors)}"
                 for p in self.pushes]  # fmt: skip
        if self.pull is not None:
            parts.append(
                f"pull: approvals={self.pull.approvals} lines={self.pull.lines} pdfs={self.pull.pdfs} "
                f"pdfs_pending={self.pull.pending_pdfs}"
            )
        return "; ".join(parts)


def run_once(config: Config, *, show_progress: bool = False) -> RunReport:
    erp = sa.create_engine(config.erp_url)
    state = State(config.resolve(config.state_path))
    report = RunReport()
    try:
        with Client(
            config.server.url,
            username=config.server.username,
            password=config.server.password,
            domain=config.server.domain,
        ) as client:
            with Progress(disable=not show_progress, transient=True) as bar:
                for mapping in config.push:
                    task = bar.add_task(f"push {mapping.entity}", total=None, visible=False)

                    def advance(done: int, total: int, task: TaskID = task) -> None:
                        bar.update(task, completed=done, total=total, visible=total >= PROGRESS_FROM)

                    report.pushes.append(push(erp, client, state, mapping, advance))
            if config.pull is not None:
                report.pull = pull(erp, client, state, config.pull, config.resolve(config.pull.pdf_folder))
    finally:
        state.close()
        erp.dispose()
    log.info("sync run: %s", report.summary())
    for error in report.errors:
        log.warning("sync error: %s", error)
    return report


def run_every(config: Config, seconds: float, stop: threading.Event, *, show_progress: bool = False) -> None:
    """Run, wait ``seconds``, repeat until ``stop``; a failed run (server down …) is logged and retried."""
    while not stop.is_set():
        try:
            run_once(config, show_progress=show_progress)
        except Exception:  # the loop outlives a bad run: the next one starts where this one stopped
            log.exception("sync run failed; retrying in %.0f s", seconds)
        stop.wait(seconds)
