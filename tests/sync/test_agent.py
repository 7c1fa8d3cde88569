"""The agent's rules, against a real server (the ``live`` fixture): per-row errors, the watermark, config."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from odyssee.sync import agent
from odyssee.sync.config import ConfigError, parse

CONFIG = """
state = "state.db"
[server]
url = "{base}"
username = "api"
password = "pw-race"
domain = "RACE"
[erp]
url = "sqlite:///{erp}"
[[push]]
entity = "Company"
source = "customers"
key = "no"
modified = "changed"
fields = {{ code = "no", name = "name" }}
[[push]]
entity = "Project"
source = "SELECT no, name, customer, changed FROM projects"
key = "no"
modified = "changed"
fields = {{ reference_back_office = "no", name = "name", company_code = "customer" }}
"""


def _erp(path: Path) -> sa.Engine:
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE customers (no TEXT PRIMARY KEY, name TEXT, changed TEXT)")
        connection.exec_driver_sql(
            "CREATE TABLE projects (no TEXT PRIMARY KEY, name TEXT, customer TEXT, changed TEXT)"
        )
        connection.exec_driver_sql("INSERT INTO customers VALUES ('C1', 'Acme', '2026-01-01 10:00:00')")
        connection.exec_driver_sql(
            "INSERT INTO projects VALUES ('P1', 'One', 'C1', '2026-01-01 10:00:01'), "
            "('P2', 'Two', 'NOPE', '2026-01-01 10:00:02'), ('P3', 'Three', 'C1', '2026-01-01 10:00:03')"
        )
    return engine


def test_a_refused_row_is_reported_the_rest_goes_on_and_it_is_retried(
    live: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    base, headers = live
    httpx.post(f"{base}/api/ProjectStatus", json={"code": "A", "name": "Active", "is_default": True}, headers=headers)
    erp = _erp(tmp_path / "erp.db")
    config = parse(CONFIG.format(base=base, erp=tmp_path / "erp.db"), tmp_path)

    first = agent.run_once(config)
    projects = first.pushes[1]
    assert (projects.sent, len(projects.errors)) == (2, 1)
    assert "P2" in projects.errors[0] and "NOPE" in projects.errors[0], "the server's reason reaches the report"

    with erp.begin() as connection:  # the ERP fixes the row; the next run sends it, and only it
        connection.exec_driver_sql("INSERT INTO customers VALUES ('NOPE', 'Late customer', '2026-01-01 10:00:05')")
    second = agent.run_once(config)
    # P1 and P3 were sent last time and are unchanged: skipped by hash, not sent again
    assert (second.pushes[0].sent, second.pushes[1].sent, second.pushes[1].skipped) == (1, 1, 2)
    assert second.errors == []
    found = httpx.get(f"{base}/api/Project(reference_back_office='P2')", headers=headers).json()
    assert found["name"] == "Two"


def test_a_bad_configuration_says_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'url' is missing"):
        parse("[server]\nusername='a'\npassword='b'\ndomain='c'\n[erp]\nurl='sqlite://'\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse("[server")
    with pytest.raises(ConfigError, match="fields"):
        parse(
            CONFIG.format(base="http://x", erp="e.db").replace('fields = { code = "no", name = "name" }', "fields = {}")
        )
