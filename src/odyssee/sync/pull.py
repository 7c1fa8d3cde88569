"""PULL: the seed's export recipe — signed approvals, their job, parts and time, then the PDF.

For each approval with ``is_daily_approval eq false`` changed since the watermark (oldest
first): the job's ``reference_back_office``, the parts and labour lines the approval signed,
written to the ERP in **one ERP transaction** keyed by our ids (rerunning after a kill writes
nothing twice); then the watermark moves past it. Its PDF is rendered by the server's worker,
possibly minutes later: the approval is remembered as pending and each run fetches the PDFs
that have appeared, writing each file atomically (temporary file, then rename).
"""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from odyssee.client import Client, F
from odyssee.sync.config import Pull
from odyssee.sync.state import State

log = logging.getLogger("odyssee.sync.pull")

MARK = "pull.approvals"
START = "2000-01-01T00:00:00.000Z"


@dataclass
class PullReport:
    approvals: int = 0
    lines: int = 0
    pdfs: int = 0
    pending_pdfs: int = 0
    errors: list[str] = field(default_factory=list)


def ensure_tables(erp: sa.Engine, pull: Pull) -> None:
    """The ERP tables the export lands in, created when missing (an integrator may create their own)."""
    metadata = sa.MetaData()
    sa.Table(
        pull.approvals_table, metadata,
        sa.Column("approval_id", sa.String(36), primary_key=True),
        sa.Column("job_reference", sa.String(255), nullable=False),
        sa.Column("job_number", sa.Integer, nullable=False),
        sa.Column("contact_name", sa.String(255), nullable=False),
        sa.Column("customer_remarks", sa.Text, nullable=False),
        sa.Column("date_generated", sa.String(30), nullable=False),
        sa.Column("pdf_file", sa.String(500), nullable=False, server_default=""),
    )  # fmt: skip
    sa.Table(
        pull.lines_table, metadata,
        sa.Column("source_id", sa.String(36), primary_key=True),
        sa.Column("approval_id", sa.String(36), nullable=False, index=True),
        sa.Column("job_reference", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("code", sa.String(255), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("quantity", sa.Float, nullable=False),
        sa.Column("price", sa.Float, nullable=False),
    )  # fmt: skip
    metadata.create_all(erp)


def _table(erp: sa.Engine, name: str) -> sa.Table:
    return sa.Table(name, sa.MetaData(), autoload_with=erp)


def pull(erp: sa.Engine, client: Client, state: State, config: Pull, pdf_folder: Path) -> PullReport:
    report = PullReport()
    ensure_tables(erp, config)
    approvals_table, lines_table = _table(erp, config.approvals_table), _table(erp, config.lines_table)
    since = state.watermark(MARK, START)
    approvals = (
        client.set("JobApproval")
        .filter(F("modified_dateutc") > since)
        .filter(F("is_daily_approval") == False)  # noqa: E712 - builds the OData expression
        .order_by("modified_dateutc")
        .page_size(100)
    )
    for approval in approvals.iter():
        job = client.set("Jobs").select("reference_back_office", "id2").get(approval["jobs_id"])
        signed = F("job_approval_id") == uuid.UUID(approval["id"])
        parts = client.set("JobPartUsage").filter(signed).list()
        labour = client.set("JobNonPartUsage").filter(signed).list()
        lines = [_part(p) for p in parts] + [_labour(n) for n in labour]
        with erp.begin() as connection:
            _write_approval(connection, approvals_table, lines_table, approval, job, lines)
        state.add_pending_pdf(approval["id"])
        state.set_watermark(MARK, approval["modified_dateutc"])
        report.approvals += 1
        report.lines += len(lines)
    _fetch_pdfs(erp, client, state, approvals_table, pdf_folder, report)
    return report


def _part(row: dict[str, Any]) -> dict[str, Any]:
    return {"source_id": row["id"], "kind": "part", "code": row["code"], "description": row["name"],
            "quantity": row["quantity"], "price": row["price"]}  # fmt: skip


def _labour(row: dict[str, Any]) -> dict[str, Any]:
    return {"source_id": row["id"], "kind": row["type_code"], "code": row["line_code"],
            "description": row["description"], "quantity": row["quantity"], "price": row["price"]}  # fmt: skip


def _write_approval(
    connection: sa.Connection,
    approvals: sa.Table,
    lines: sa.Table,
    approval: dict[str, Any],
    job: dict[str, Any],
    rows: list[dict[str, Any]],
) -> None:
    """Insert what is not there yet: keyed by our ids, so a rerun after a kill duplicates nothing."""
    exists = connection.execute(sa.select(approvals.c.approval_id).where(approvals.c.approval_id == approval["id"]))
    if exists.first() is None:
        connection.execute(
            sa.insert(approvals).values(
                approval_id=approval["id"], job_reference=job["reference_back_office"], job_number=job["id2"],
                contact_name=approval["contact_name"], customer_remarks=approval["customer_remarks"],
                date_generated=approval["date_generated"], pdf_file="",
            )
        )  # fmt: skip
    present = {
        str(value)
        for value in connection.execute(
            sa.select(lines.c.source_id).where(lines.c.approval_id == approval["id"])
        ).scalars()
    }
    for row in rows:
        if row["source_id"] not in present:
            connection.execute(
                sa.insert(lines).values(
                    row | {"approval_id": approval["id"], "job_reference": job["reference_back_office"]}
                )
            )


def _fetch_pdfs(
    erp: sa.Engine, client: Client, state: State, approvals: sa.Table, folder: Path, report: PullReport
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    files = client.set("DbFile")
    for approval_id in state.pending_pdfs():
        found = (
            files.select("id", "file_name")
            .filter(F("db_table_name") == "job_approval")
            .filter(F("file_type_name") == "JOB_APPROVAL")
            .filter(F("id_in_table") == uuid.UUID(approval_id))
            .first()
        )
        if found is None:
            report.pending_pdfs += 1
            continue
        name = f"{approval_id}.pdf"
        target = folder / name
        temporary = folder / f".{name}.part"
        temporary.write_bytes(files.content(found["id"]))
        os.replace(temporary, target)
        with erp.begin() as connection:
            connection.execute(sa.update(approvals).where(approvals.c.approval_id == approval_id).values(pdf_file=name))
        state.done_pdf(approval_id)
        report.pdfs += 1
