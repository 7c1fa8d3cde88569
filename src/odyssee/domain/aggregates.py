"""``$apply`` results for the caller's tenant: the groups and totals ERP reports ask for.

The SQL comes from :mod:`odyssee.odata.apply`; this layer only supplies the tenant from the
actor, the page bounds, and runs the statement in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from odyssee.domain.actor import Actor
from odyssee.model.registry import EntitySpec
from odyssee.odata.apply import Apply, apply_select, count_select, encode_rows


def aggregate(
    session: Session,
    actor: Actor,
    spec: EntitySpec,
    apply: Apply,
    *,
    where: sa.ColumnElement[bool] | None = None,
    top: int | None = None,
    skip: int = 0,
    order_by: Sequence[tuple[str, bool]] = (),
) -> list[dict[str, Any]]:
    """The JSON rows of ``apply`` over ``spec`` in the actor's tenant, ``skip``/``top`` applied to the groups.

    ``order_by`` names output properties (group key paths such as ``company/name``, or aliases)
    with a descending flag; the group keys always follow, so a page boundary never moves.
    """
    statement = apply_select(spec, actor.tenant_id, apply, where=where, order_by=order_by)
    if skip:
        statement = statement.offset(skip)
    if top is not None:
        statement = statement.limit(top)
    return encode_rows(apply, session.execute(statement))


def count(
    session: Session,
    actor: Actor,
    spec: EntitySpec,
    apply: Apply,
    *,
    where: sa.ColumnElement[bool] | None = None,
) -> int:
    """How many rows (groups) ``apply`` gives in the actor's tenant, for ``$count=true``."""
    return int(session.execute(count_select(spec, actor.tenant_id, apply, where=where)).scalar_one())
