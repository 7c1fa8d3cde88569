"""Entity-specific derivations that run before a row is written, keyed by table name.

The generic controller calls :func:`before_write` for every create and replace; an entity
with a rule here gets it, others pass through. Keep each rule small and explain why it exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from odyssee.domain.actor import Actor
from odyssee.model.conventions import EMPTY_GUID
from odyssee.model.registry import EntitySpec, registry

Rule = Callable[[Session, Actor, dict[str, Any]], None]


def _file_size(_session: Session, _actor: Actor, row: dict[str, Any]) -> None:
    """``db_file.file_size`` is read-only: it is always the size of the stored bytes."""
    row["file_size"] = len(row.get("file_content", b""))


def _job_company(session: Session, actor: Actor, row: dict[str, Any]) -> None:
    """A job without a company belongs to its installation's company, as a dispatcher expects."""
    if row.get("company_id", EMPTY_GUID) != EMPTY_GUID or row.get("project_id", EMPTY_GUID) == EMPTY_GUID:
        return
    project = registry().by_table("project").table
    company = session.execute(
        sa.select(project.c.company_id).where(project.c.tenant_id == actor.tenant_id, project.c.id == row["project_id"])
    ).scalar()
    if company is not None:
        row["company_id"] = company


RULES: dict[str, tuple[Rule, ...]] = {
    "db_file": (_file_size,),
    "jobs": (_job_company,),
}


def before_write(session: Session, actor: Actor, spec: EntitySpec, row: dict[str, Any]) -> None:
    for rule in RULES.get(spec.table_name, ()):
        rule(session, actor, row)
