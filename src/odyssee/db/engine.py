"""Create engines for SQLite (embedded default) and PostgreSQL (production), configured alike.

SQLite needs care to behave like a server database under concurrent requests: WAL so readers
never block the writer, a busy timeout instead of instant "database is locked" errors, and
``BEGIN IMMEDIATE`` for writing transactions so two writers queue up at BEGIN rather than
deadlock when both try to upgrade a read lock. ``case_sensitive_like`` makes ``contains`` and
``startswith`` case-sensitive, as OData and PostgreSQL are. SQLite's ``lower``/``upper`` only fold
ASCII, so ``$filter``'s ``tolower``/``toupper`` call Unicode-aware ``odyssee_lower``/``odyssee_upper``
registered here, which fold one character at a time like PostgreSQL's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

WRITE_OPTION = "odyssee_write"


def normalise_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use psycopg 3 for them."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _fold(method: str) -> Any:
    """A per-character case mapping; characters whose mapping is longer (``ß`` → ``SS``) stay as they are."""

    def fold(text: str | None) -> str | None:
        if text is None:
            return None
        mapped = (getattr(char, method)() for char in text)
        return "".join(new if len(new) == 1 else old for old, new in zip(text, mapped, strict=True))

    return fold


def _configure_sqlite(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA case_sensitive_like=ON")
        cursor.close()
        dbapi_connection.create_function("odyssee_lower", 1, _fold("lower"), deterministic=True)
        dbapi_connection.create_function("odyssee_upper", 1, _fold("upper"), deterministic=True)

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if make_url(url).get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=8)
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        connect_args={"options": "-c timezone=UTC"},
    )


class Database:
    """An engine plus the two kinds of transaction the API needs."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)
        self._writer = self.engine.execution_options(**{WRITE_OPTION: True})

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self, *, write: bool) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back on any exception."""
        with (
            Session(self._writer if write else self.engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
