"""Bulk-load a realistic data set into the demo tenant, straight through SQLAlchemy Core (fast).

    uv run python bench/load.py --database-url URL [--scale 100000]

``--scale`` is the number of jobs; companies are a tenth of it, projects one per company,
approvals half the jobs (the seed's proportions, roughly). Rows get distinct, increasing
``modified_dateutc`` stamps in the past, and the change clock is moved past them, exactly as if
they had been written through the API. The demo tenant (``odyssee serve --demo``) is created first.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from odyssee.db.engine import Database
from odyssee.db.migrate import upgrade
from odyssee.domain.changes import to_ms
from odyssee.domain.demo import DOMAIN, ensure_demo
from odyssee.domain.tenants import find_tenant
from odyssee.model.registry import registry
from odyssee.model.system import ChangeClock

CHUNK = 5000
START = datetime(2024, 1, 1, tzinfo=UTC)


def _rows(table: str, tenant_id: int, count: int, stamp: Iterator[datetime], **values: Any) -> Iterator[dict[str, Any]]:
    spec = registry().by_table(table)
    base = {f.name: f.default for f in spec.columns if not f.is_key}
    for index in range(count):
        row = base | {"tenant_id": tenant_id, "id": uuid.uuid4(), "modified_dateutc": next(stamp), "row_version": 1}
        for name, value in values.items():
            row[name] = value(index) if callable(value) else value
        yield row


def _insert(connection: sa.Connection, table: str, rows: Iterator[dict[str, Any]]) -> list[uuid.UUID]:
    target = registry().by_table(table).table
    ids: list[uuid.UUID] = []
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        ids.append(row["id"])
        if len(chunk) == CHUNK:
            connection.execute(sa.insert(target), chunk)
            chunk = []
    if chunk:
        connection.execute(sa.insert(target), chunk)
    return ids


def load(database_url: str, scale: int) -> dict[str, Any]:
    database = Database(database_url)
    upgrade(database.engine)
    with database.transaction(write=True) as session:
        ensure_demo(session)
        tenant = find_tenant(session, DOMAIN)
        assert tenant is not None
        tenant_id = tenant.id
    jobs_table = registry().by_table("jobs").table
    with database.engine.connect() as connection:
        existing = connection.execute(
            sa.select(sa.func.count()).select_from(jobs_table).where(jobs_table.c.tenant_id == tenant_id)
        ).scalar_one()
    if existing >= scale:
        _statistics(database)
        database.dispose()
        return {"loaded": False, "jobs": existing}
    moments = (START + timedelta(milliseconds=i) for i in range(10**9))
    started = time.perf_counter()
    with database.engine.begin() as connection:
        lookup = {
            name: connection.execute(
                sa.select(registry().by_table(name).table.c.id)
                .where(registry().by_table(name).table.c.tenant_id == tenant_id)
                .limit(1)
            ).scalar_one()
            for name in ("job_type", "project_status", "user")
        }
        companies = _insert(
            connection,
            "company",
            _rows(
                "company",
                tenant_id,
                scale // 10,
                moments,
                code=lambda i: f"B{i:07}",
                name=lambda i: f"Bench company {i}",
            ),
        )
        projects = _insert(
            connection,
            "project",
            _rows(
                "project",
                tenant_id,
                len(companies),
                moments,
                company_id=lambda i: companies[i],
                name=lambda i: f"Site {i}",
                project_status_id=lookup["project_status"],
            ),
        )
        jobs = _insert(
            connection,
            "jobs",
            _rows(
                "jobs",
                tenant_id,
                scale,
                moments,
                project_id=lambda i: projects[i % len(projects)],
                company_id=lambda i: companies[i % len(companies)],
                job_type_id=lookup["job_type"],
                name=lambda i: f"Bench job {i}",
                reference_back_office=lambda i: f"WO-B{i:08}",
                id2=lambda i: 100000 + i,
            ),
        )
        _insert(connection, "job_approval", _rows("job_approval", tenant_id, scale // 2, moments,
                                                  jobs_id=lambda i: jobs[i], user_id=lookup["user"],
                                                  contact_name="Bench",
                                                  is_daily_approval=lambda i: i % 5 == 0))  # fmt: skip
        last = to_ms(next(moments))
        for table in ("company", "project", "jobs", "job_approval"):
            connection.execute(
                sa.delete(ChangeClock).where(ChangeClock.tenant_id == tenant_id, ChangeClock.table_name == table)
            )
            connection.execute(sa.insert(ChangeClock).values(tenant_id=tenant_id, table_name=table, last_ms=last))
    _statistics(database)
    database.dispose()
    return {"loaded": True, "jobs": scale, "seconds": time.perf_counter() - started}


def _statistics(database: Database) -> None:
    """PostgreSQL: gather the planner's statistics, as autovacuum does on a live server. Where it
    is off (as on the bench machine), a table loaded in bulk and never analyzed looks empty to
    the planner: ``Company?$top=100`` then sorted all 10,000 companies instead of reading the
    first 101 by index, at a quarter of the speed. Also for reused data, which may never have
    been analyzed. SQLite is left as the API leaves it in production, without ``ANALYZE``."""
    if database.dialect != "postgresql":
        return
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--scale", type=int, default=100_000)
    args = parser.parse_args()
    print(load(args.database_url, args.scale))


if __name__ == "__main__":
    main()
