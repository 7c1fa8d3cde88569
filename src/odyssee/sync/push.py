"""PUSH: ERP rows changed since the last run → upserts by ERP key (seed: "ERP → Odyssee").

Rows are read in ``(last_modification, key)`` order from the saved watermark (inclusive, so
rows sharing the watermark's time are not lost). A row whose synchronised fields hash to what
was last pushed is skipped (the seed's "BE AWARE": do not resend unchanged rows). Each row is
one idempotent PUT to the entity's alternate key; its GUID and hash are stored at once. A
failing row is reported and the batch goes on, but the watermark stops before it, so the next
run tries it again.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa

from odyssee.client import Client, ODataError
from odyssee.sync.config import Push
from odyssee.sync.state import State

log = logging.getLogger("odyssee.sync.push")

START = "1900-01-01 00:00:00"


@dataclass
class PushReport:
    entity: str
    read: int = 0
    sent: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)


def _plain(value: Any) -> Any:
    """ERP values as JSON-friendly values the API accepts."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _source(mapping: Push) -> str:
    text = mapping.source.strip()
    return f"({text}) AS source" if text.lower().startswith("select") else text


def push(
    erp: sa.Engine,
    client: Client,
    state: State,
    mapping: Push,
    progress: Callable[[int, int], None] | None = None,
) -> PushReport:
    report = PushReport(mapping.entity)
    mark = f"push.{mapping.entity}"
    since = state.watermark(mark, START)
    statement = sa.text(
        f"SELECT * FROM {_source(mapping)} WHERE {mapping.modified} >= :since "
        f"ORDER BY {mapping.modified}, {mapping.key}"
    )
    with erp.connect() as connection:
        rows = [dict(row) for row in connection.execute(statement, {"since": since}).mappings()]
    entities = client.set(mapping.entity)
    advancing = True
    for index, row in enumerate(rows):
        report.read += 1
        key = str(row[mapping.key])
        body = {prop: _plain(row[column]) for prop, column in mapping.fields.items()}
        hashed = digest(body)
        if state.pushed_hash(mapping.entity, key) == hashed:
            report.skipped += 1
        else:
            try:
                saved = entities.upsert(key, body)
            except ODataError as error:
                report.errors.append(f"{mapping.entity} {key}: {error}")
                log.warning("push %s %s failed: %s", mapping.entity, key, error)
                advancing = False
            else:
                state.set_pushed(mapping.entity, key, str(saved["id"]), hashed)
                report.sent += 1
        if advancing:
            state.set_watermark(mark, str(_plain(row[mapping.modified])))
        if progress is not None:
            progress(index + 1, len(rows))
    return report
