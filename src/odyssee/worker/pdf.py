"""The approval PDF: what the customer signed, as the ERP archives it (reference.md §3.10).

:func:`load_approval` reads everything the page shows in one read transaction (tenant-scoped,
like every query); :func:`render` is pure (data in, bytes out) so it can be slow without
holding a database lock; :func:`store` writes the ``db_file`` row idempotently.

fpdf2's built-in Helvetica covers Latin-1 only, so other characters are replaced rather than
failing the render: a PDF with a ``?`` is better than no PDF (docs/worker.md).
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from fpdf import FPDF
from fpdf.fonts import FontFace
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from odyssee.domain import blobs, changes
from odyssee.model.conventions import EMPTY_GUID, NULL_DATE, utcnow
from odyssee.model.errors import NotFound
from odyssee.model.registry import registry
from odyssee.model.system import Tenant

FILE_TYPE = "JOB_APPROVAL"
DB_TABLE = "job_approval"
MIME_TYPE = "application/pdf"
_FILE_ID_NAMESPACE = uuid.UUID("5b0f0d3c-3c1e-4d55-9a51-7f2a3e0c9d41")
"""Namespace of the deterministic ``db_file.id`` of an approval PDF (uuid5 of the approval id)."""


@dataclass(frozen=True)
class Approval:
    """Everything the approval page shows."""

    id: uuid.UUID
    domain: str
    job_number: int
    job_name: str
    customer: str
    project: str
    technician: str
    contact_name: str
    remarks: str
    date_generated: datetime
    is_daily: bool
    parts: list[dict[str, Any]] = field(default_factory=list)
    labour: list[dict[str, Any]] = field(default_factory=list)
    signature: bytes = b""


def _table(name: str) -> sa.Table:
    return registry().by_table(name).table


def _one(session: Session, table: str, tenant_id: int, key: uuid.UUID) -> dict[str, Any]:
    """A referenced row, or an empty dict for the empty GUID or a dangling key (the page shows a blank)."""
    if key == EMPTY_GUID:
        return {}
    t = _table(table)
    row = session.execute(sa.select(t).where(t.c.tenant_id == tenant_id, t.c.id == key)).mappings().first()
    return dict(row) if row else {}


def _lines(session: Session, table: str, tenant_id: int, approval_id: uuid.UUID) -> list[dict[str, Any]]:
    t = _table(table)
    return [
        dict(row)
        for row in session.execute(
            sa.select(t)
            .where(t.c.tenant_id == tenant_id, t.c.job_approval_id == approval_id, t.c.sys_logical_delete.is_(False))
            .order_by(t.c.working_date, t.c.id)
        ).mappings()
    ]


def load_approval(session: Session, tenant_id: int, approval_id: uuid.UUID) -> Approval:
    """Read the approval, its job, customer, project, technician and signed lines; NotFound if it is gone."""
    approval = _one(session, "job_approval", tenant_id, approval_id)
    if not approval:
        raise NotFound(f"job approval {approval_id} does not exist", code="NotFound", target="approval_id")
    job = _one(session, "jobs", tenant_id, approval["jobs_id"])
    user = _one(session, "user", tenant_id, approval["user_id"] or job.get("user_id", EMPTY_GUID))
    domain = session.execute(sa.select(Tenant.domain).where(Tenant.id == tenant_id)).scalar_one()
    return Approval(
        id=approval_id,
        domain=domain,
        job_number=int(job.get("id2", 0)),
        job_name=str(job.get("name", "")),
        customer=str(_one(session, "company", tenant_id, job.get("company_id", EMPTY_GUID)).get("name", "")),
        project=str(_one(session, "project", tenant_id, job.get("project_id", EMPTY_GUID)).get("name", "")),
        technician=" ".join(part for part in (user.get("firstname", ""), user.get("lastname", "")) if part),
        contact_name=approval["contact_name"],
        remarks=approval["customer_remarks"],
        date_generated=approval["date_generated"],
        is_daily=approval["is_daily_approval"],
        parts=_lines(session, "job_part_usage", tenant_id, approval_id),
        labour=_lines(session, "job_non_part_usage", tenant_id, approval_id),
        signature=bytes(approval.get("signature") or b""),  # part A adds the column; absent until then
    )


def _text(value: Any) -> str:
    """Latin-1 for the core font; anything else becomes ``?``."""
    return str(value).encode("latin-1", "replace").decode("latin-1")


def _money(value: float) -> str:
    return f"{value:,.2f}"


def _quantity(value: float) -> str:
    return f"{value:g}"


def _date(value: datetime) -> str:
    return "" if value <= NULL_DATE else value.strftime("%Y-%m-%d %H:%M UTC")


def _line_total(line: dict[str, Any]) -> float:
    """Warranty lines are free (spec §3.10); labour lines carry a percentage discount."""
    if line.get("is_under_warranty"):
        return 0.0
    total = float(line["quantity"]) * float(line["price"])
    return total * (1 - float(line.get("discount", 0)) / 100)


def generated_at(approval: Approval) -> datetime:
    """The approval's ``date_generated``, or now if the client left it empty."""
    return approval.date_generated if approval.date_generated > NULL_DATE else utcnow()


def file_name(approval: Approval) -> str:
    """``Job #<n> <job name> <yyyy-mm-dd HH.MM.SS>.pdf``, the job name shortened to fit ``file_name``'s 100."""
    stamp = generated_at(approval).strftime("%Y-%m-%d %H.%M.%S")
    head, tail = f"Job #{approval.job_number} ", f" {stamp}.pdf"
    name = " ".join(approval.job_name.replace("/", "-").replace("\\", "-").split())
    return head + name[: 100 - len(head) - len(tail)].rstrip() + tail


def render(approval: Approval) -> bytes:
    """The approval as a one-or-more page A4 PDF."""
    pdf = FPDF(format="A4")
    pdf.set_title(_text(f"Job #{approval.job_number} {approval.job_name}"))
    pdf.set_creator("odyssee")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", size=9)
    pdf.cell(0, 5, _text(approval.domain), new_x="LMARGIN", new_y="NEXT", align="R")
    pdf.set_font("Helvetica", "B", 16)
    kind = "Daily approval" if approval.is_daily else "Job approval"
    pdf.cell(0, 9, _text(f"{kind} - Job #{approval.job_number} {approval.job_name}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("Helvetica", size=10)
    facts = [
        ("Customer", approval.customer),
        ("Project", approval.project),
        ("Technician", approval.technician),
        ("Date", _date(generated_at(approval))),
    ]
    for label, value in facts:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(30, 6, _text(label))
        pdf.set_font("Helvetica", size=10)
        pdf.cell(0, 6, _text(value), new_x="LMARGIN", new_y="NEXT")
    parts_total = sum(_line_total(line) for line in approval.parts)
    labour_total = sum(_line_total(line) for line in approval.labour)
    _section(pdf, "Parts")
    _lines_table(
        pdf,
        ("Code", "Name", "Quantity", "Price", "Total"),
        [
            (line["code"], line["name"], _quantity(line["quantity"]), _money(line["price"]), _money(_line_total(line)))
            for line in approval.parts
        ],
        (25, 85, 20, 25, 25),
    )
    _section(pdf, "Labour and travel")
    _lines_table(
        pdf,
        ("Date", "Description", "Hours", "Price", "Total"),
        [
            (
                _date(line["working_date"])[:10],
                line["description"] or line["type_code"],
                _quantity(line["quantity"]),
                _money(line["price"]),
                _money(_line_total(line)),
            )
            for line in approval.labour
        ],
        (25, 85, 20, 25, 25),
    )
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 10)
    for label, amount in (
        ("Parts", parts_total),
        ("Labour and travel", labour_total),
        ("Total", parts_total + labour_total),
    ):
        pdf.cell(155, 6, _text(label), align="R")
        pdf.cell(25, 6, _money(amount), align="R", new_x="LMARGIN", new_y="NEXT")
    _section(pdf, "Customer remarks")
    pdf.set_font("Helvetica", size=10)
    pdf.multi_cell(0, 5, _text(approval.remarks or "-"), new_x="LMARGIN", new_y="NEXT")
    _section(pdf, "Signed by")
    pdf.set_font("Helvetica", size=10)
    pdf.cell(0, 6, _text(approval.contact_name or "-"), new_x="LMARGIN", new_y="NEXT")
    if approval.signature:
        pdf.image(io.BytesIO(approval.signature), w=60)
    return bytes(pdf.output())


def _section(pdf: FPDF, title: str) -> None:
    pdf.ln(4)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 7, _text(title), new_x="LMARGIN", new_y="NEXT")


def _lines_table(pdf: FPDF, headings: tuple[str, ...], rows: list[tuple[Any, ...]], widths: tuple[int, ...]) -> None:
    if not rows:
        pdf.set_font("Helvetica", "I", 10)
        pdf.cell(0, 6, "None.", new_x="LMARGIN", new_y="NEXT")
        return
    pdf.set_font("Helvetica", size=9)
    with pdf.table(
        col_widths=widths,
        width=sum(widths),
        align="LEFT",
        headings_style=FontFace(emphasis="BOLD"),
        text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
    ) as table:
        for values in (headings, *rows):
            row = table.row()
            for value in values:
                row.cell(_text(value))


def file_id(approval_id: uuid.UUID) -> uuid.UUID:
    """The approval PDF's ``db_file.id``: deterministic, so a second render cannot make a second row."""
    return uuid.uuid5(_FILE_ID_NAMESPACE, str(approval_id))


def existing_file(session: Session, tenant_id: int, approval_id: uuid.UUID) -> uuid.UUID | None:
    """The approval's PDF already stored (by us or uploaded by a client), if any."""
    t = _table("db_file")
    found: uuid.UUID | None = session.execute(
        sa.select(t.c.id).where(
            t.c.tenant_id == tenant_id,
            t.c.db_table_name == DB_TABLE,
            t.c.id_in_table == approval_id,
            t.c.file_type_name == FILE_TYPE,
        )
    ).scalar()
    return found


def store(session: Session, tenant_id: int, approval: Approval, content: bytes) -> uuid.UUID:
    """Insert the ``db_file`` row unless the approval already has its PDF; returns the file's id.

    Exactly once: the existing-file check covers a task that ran twice, and the deterministic
    primary key (``ON CONFLICT DO NOTHING``) covers two writers racing past the check.
    """
    found = existing_file(session, tenant_id, approval.id)
    if found is not None:
        return found
    t = _table("db_file")
    name = file_name(approval)
    values = {
        "tenant_id": tenant_id,
        "id": file_id(approval.id),
        "name": name,
        "description": f"Approval of job #{approval.job_number}",
        "file_name": name,
        "mime_type": MIME_TYPE,
        "file_size": len(content),
        "db_table_name": DB_TABLE,
        "id_in_table": approval.id,
        "file_type_name": FILE_TYPE,
        "modified_dateutc": utcnow(),
        "row_version": 1,
    }
    insert = (postgresql.insert(t) if session.get_bind().dialect.name == "postgresql" else sqlite.insert(t)).values(
        values
    )
    inserted = session.execute(insert.on_conflict_do_nothing().returning(t.c.id)).first()
    if inserted is not None:
        moment = changes.stamp(session, tenant_id, "db_file", file_id(approval.id), changes.CREATED)
        session.execute(sa.update(t).where(t.c.tenant_id == tenant_id, t.c.id == file_id(approval.id)).values(
            modified_dateutc=moment))  # fmt: skip
        blobs.write(session, tenant_id, registry().by_table("db_file"), file_id(approval.id), {"file_content": content})
    return file_id(approval.id)
