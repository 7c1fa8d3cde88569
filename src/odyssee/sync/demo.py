"""A demo ERP (SQLite): customers, projects, articles, users — and the config that links it to
``odyssee serve --demo``. ``odyssee sync --demo`` builds it in a folder and syncs every 5 s."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from odyssee.sync.config import Pull
from odyssee.sync.pull import ensure_tables

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS customers (
        customer_no TEXT PRIMARY KEY, name TEXT NOT NULL, city TEXT NOT NULL DEFAULT '',
        email TEXT NOT NULL DEFAULT '', last_modification TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS projects (
        project_no TEXT PRIMARY KEY, customer_no TEXT NOT NULL, name TEXT NOT NULL,
        city TEXT NOT NULL DEFAULT '', last_modification TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS articles (
        article_no TEXT PRIMARY KEY, name TEXT NOT NULL, price REAL NOT NULL DEFAULT 0,
        last_modification TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS users (
        user_code TEXT PRIMARY KEY, login TEXT NOT NULL, first_name TEXT NOT NULL DEFAULT '',
        last_name TEXT NOT NULL, email TEXT NOT NULL DEFAULT '', last_modification TEXT NOT NULL)""",
]

ROWS: dict[str, list[dict[str, object]]] = {
    "customers": [
        {"customer_no": "ERP-C100", "name": "Brasserie du Parc", "city": "Namur", "email": "info@parc.example"},
        {"customer_no": "ERP-C101", "name": "Clinique Saint-Luc", "city": "Liège", "email": ""},
    ],
    "projects": [
        {"project_no": "ERP-P500", "customer_no": "ERP-C100", "name": "Kitchen cold room", "city": "Namur"},
    ],
    "articles": [
        {"article_no": "ERP-A900", "name": "Door gasket 2 m", "price": 38.5},
        {"article_no": "ERP-A901", "name": "Refrigerant R290 (kg)", "price": 24.0},
    ],
    "users": [
        {"user_code": "ERP-U1", "login": "marc@demo.example", "first_name": "Marc", "last_name": "Lambert",
         "email": "marc@demo.example"},
    ],
}  # fmt: skip

CONFIG = """\
# odyssee sync configuration (docs/integration.md). Paths are relative to this file.
state = "sync-state.db"

[server]
url = "{server}"
username = "{username}"
password = "{password}"
domain = "{domain}"

[erp]
url = "sqlite:///{erp}"

[[push]]
entity = "Company"
source = "customers"
key = "customer_no"
modified = "last_modification"
fields = {{ code = "customer_no", name = "name", city = "city", email = "email" }}

[[push]]
entity = "Project"
source = "projects"
key = "project_no"
modified = "last_modification"
fields = {{ reference_back_office = "project_no", name = "name", city = "city", company_code = "customer_no" }}

[[push]]
entity = "Article"
source = "articles"
key = "article_no"
modified = "last_modification"
fields = {{ code = "article_no", name = "name", entered_price = "price" }}

[[push]]
entity = "User"
source = "users"
key = "user_code"
modified = "last_modification"
fields = {{ code = "user_code", username = "login", firstname = "first_name", lastname = "last_name", email = "email" }}

[pull]
approvals_table = "odyssee_approvals"
lines_table = "invoice_lines"
pdf_folder = "approval-pdfs"
"""

NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"


def create(
    folder: Path,
    server: str = "http://127.0.0.1:8000",
    *,
    username: str = "APIUser",
    password: str = "123456",
    domain: str = "TESTAPI",
) -> Path:
    """The demo ERP database and its sync.toml in ``folder`` (kept if they exist); returns the config path."""
    folder.mkdir(parents=True, exist_ok=True)
    erp_path = (folder / "erp.db").resolve()
    engine = sa.create_engine(f"sqlite:///{erp_path}")
    with engine.begin() as connection:
        for statement in SCHEMA:
            connection.exec_driver_sql(statement)
        for table, rows in ROWS.items():
            if connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar():
                continue
            for row in rows:
                columns = ", ".join([*row, "last_modification"])
                values = ", ".join([*(f":{name}" for name in row), NOW])
                connection.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES ({values})"), row)
    ensure_tables(engine, Pull())  # where approvals, parts, time (and the PDFs' names) will land
    engine.dispose()
    config = folder / "sync.toml"
    if not config.exists():
        config.write_text(
            CONFIG.format(server=server, erp=erp_path, username=username, password=password, domain=domain)
        )
    return config
