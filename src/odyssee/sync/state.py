"""The agent's memory, in a local SQLite file: watermarks, ERP key → GUID, hashes, PDFs still to fetch.

Every change is committed at once, so the agent can be killed at any moment: rerunning it
redoes at most the row it was on, and the ERP writes and server upserts are idempotent.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS watermark (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pushed (
    entity TEXT NOT NULL, erp_key TEXT NOT NULL, guid TEXT NOT NULL, hash TEXT NOT NULL,
    PRIMARY KEY (entity, erp_key)
);
CREATE TABLE IF NOT EXISTS pending_pdf (approval_id TEXT PRIMARY KEY);
"""


class State:
    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)  # autocommit: every write is durable at once
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.executescript(SCHEMA)

    def close(self) -> None:
        self.connection.close()

    def watermark(self, name: str, default: str) -> str:
        row = self.connection.execute("SELECT value FROM watermark WHERE name = ?", (name,)).fetchone()
        return str(row[0]) if row else default

    def set_watermark(self, name: str, value: str) -> None:
        self.connection.execute(
            "INSERT INTO watermark (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def pushed_hash(self, entity: str, erp_key: str) -> str | None:
        row = self.connection.execute(
            "SELECT hash FROM pushed WHERE entity = ? AND erp_key = ?", (entity, erp_key)
        ).fetchone()
        return str(row[0]) if row else None

    def guid(self, entity: str, erp_key: str) -> str | None:
        row = self.connection.execute(
            "SELECT guid FROM pushed WHERE entity = ? AND erp_key = ?", (entity, erp_key)
        ).fetchone()
        return str(row[0]) if row else None

    def set_pushed(self, entity: str, erp_key: str, guid: str, digest: str) -> None:
        self.connection.execute(
            "INSERT INTO pushed (entity, erp_key, guid, hash) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(entity, erp_key) DO UPDATE SET guid = excluded.guid, hash = excluded.hash",
            (entity, erp_key, guid, digest),
        )

    def add_pending_pdf(self, approval_id: str) -> None:
        self.connection.execute("INSERT OR IGNORE INTO pending_pdf (approval_id) VALUES (?)", (approval_id,))

    def pending_pdfs(self) -> list[str]:
        return [str(row[0]) for row in self.connection.execute("SELECT approval_id FROM pending_pdf ORDER BY 1")]

    def done_pdf(self, approval_id: str) -> None:
        self.connection.execute("DELETE FROM pending_pdf WHERE approval_id = ?", (approval_id,))
