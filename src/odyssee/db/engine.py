"""Create engines for SQLite (embedded default) and PostgreSQL (production), configured alike.

SQLite needs care to behave like a server database under concurrent requests: WAL so readers
never block the writer, a busy timeout instead of instant "database is locked" errors, and
``BEGIN IMMEDIATE`` for writing transactions so two writers queue up at BEGIN rather than
deadlock when both try to upgrade a read lock. ``case_sensitive_like`` makes ``contains`` and
``startswith`` case-sensitive, as OData and PostgreSQL are. SQLite's ``lower``/``upper`` only fold
ASCII, so ``$filter``'s ``tolower``/``toupper`` call Unicode-aware ``odyssee_lower``/``odyssee_upper``
registered here, which fold one character at a time like PostgreSQL's.

Statement timeouts (``transaction(timeout_ms=…)``, the API's ``ODYSSEE_STATEMENT_TIMEOUT_MS``):
PostgreSQL gets ``SET LOCAL statement_timeout`` at the start of the transaction, so the server
cancels a statement that runs (or waits for a lock) longer. SQLite has no such setting; a
progress handler, called every few thousand VM steps, interrupts a statement past its deadline,
and the busy timeout (how long a writer waits for the write lock) takes the same value. Either
way the transaction is rolled back and :class:`~odyssee.model.errors.QueryTimeout` is raised, so
a slow query answers 503 instead of holding a worker thread.

PostgreSQL has a second engine per event loop that serves the database (``Database.serve_loop``,
called by the app's lifespan): psycopg's asyncio connections, configured alike, for the short
requests the API runs on the loop (api/inline.py). The unit of work runs in a greenlet
(SQLAlchemy's ``greenlet_spawn``) and sees that engine through its synchronous facade, so the
domain's plain functions, db/direct.py included, run unchanged, while each wait on the network
hands the loop back to other requests.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.orm import Session

from odyssee.db import results
from odyssee.db import row_security as rls
from odyssee.db.inline import Offload, is_inline
from odyssee.db.reader import Reader
from odyssee.model.errors import QueryTimeout, ServerBusy

WRITE_OPTION = "odyssee_write"
TIMEOUT_OPTION = "odyssee_timeout_ms"
TENANT_OPTION = "odyssee_tenant_id"
EPOCH_OPTION = "odyssee_login_epoch"
LOGINS_MOVED = "OD001"
"""The SQLSTATE of migration 0011's check: the login epoch moved since a kept login was read."""
SQLITE_BUSY_TIMEOUT_MS = 30000
"""How long a SQLite writer waits for the write lock when no statement timeout applies."""
PROGRESS_STEPS = 10000
"""SQLite VM instructions between two deadline checks: well under a millisecond of work."""
PING_AFTER_IDLE_S = 1.0
"""A pooled connection that sat idle longer than this is pinged before it is handed out."""
_IDLE_SINCE = "odyssee_idle_since"
_TIMEOUT = "odyssee_timeout_ms"
_DEADLINE = "odyssee_deadline"
_READ_ONLY = "odyssee_read_only"
_PG_QUERY_CANCELED = "57014"


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


def _interrupter(info: dict[Any, Any]) -> Callable[[], int]:
    """A SQLite progress handler: non-zero (interrupt) once the running statement is past its deadline."""

    def check() -> int:
        deadline = info.get(_DEADLINE)
        return 1 if deadline is not None and time.monotonic() > deadline else 0

    return check


def _configure_sqlite(engine: Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA case_sensitive_like=ON")
        cursor.close()
        dbapi_connection.create_function("odyssee_lower", 1, _fold("lower"), deterministic=True)
        dbapi_connection.create_function("odyssee_upper", 1, _fold("upper"), deterministic=True)

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # Straight to the driver: these run on every transaction, and SQLAlchemy's statement
        # machinery (events, result set-up) cost several times what SQLite does for them.
        options = connection.get_execution_options()
        timeout = int(options.get(TIMEOUT_OPTION) or 0)
        dbapi_connection = connection.connection.dbapi_connection
        assert dbapi_connection is not None
        info = connection.info  # lives as long as the DBAPI connection: set things only when they change
        if options.get(WRITE_OPTION, False):  # its own commits would not change its data_version
            info.pop(results.KEY, None)
        if info.get(_TIMEOUT, 0) != timeout:
            info[_TIMEOUT] = timeout
            info[_DEADLINE] = None
            dbapi_connection.execute(f"PRAGMA busy_timeout={timeout or SQLITE_BUSY_TIMEOUT_MS}")
            dbapi_connection.set_progress_handler(_interrupter(info) if timeout else None, PROGRESS_STEPS)
        read_only = options.get(WRITE_OPTION) is False  # asked for a read (Database.transaction)
        if info.get(_READ_ONLY, False) != read_only:
            info[_READ_ONLY] = read_only
            dbapi_connection.execute(f"PRAGMA query_only={int(read_only)}")
        _begin(connection, "BEGIN IMMEDIATE" if options.get(WRITE_OPTION, False) else "BEGIN", sqlite3.Error)

    @sa.event.listens_for(engine, "checkin")
    @sa.event.listens_for(engine, "invalidate")
    def _forget_results(_dbapi_connection: Any, record: Any, *_args: Any) -> None:
        record.info.pop(results.KEY, None)  # kept only while it serves the loop's reads

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _on_execute(connection: sa.Connection, *_args: Any) -> None:
        timeout = connection.info.get(_TIMEOUT)
        if timeout:
            connection.info[_DEADLINE] = time.monotonic() + timeout / 1000


class LoginsMoved(Exception):
    """A transaction begun for a kept login (:data:`EPOCH_OPTION`) found that a credential or
    tenant changed since that login was read: nothing ran, the transaction is rolled back, and the
    request reads its login again (api/routes.py)."""


def _begin(connection: sa.Connection, sql: str, driver_error: type[Exception]) -> None:
    """Start the transaction with ``sql`` straight on the driver (SQLAlchemy's statement machinery
    costs several times what the database does for it), failing as SQLAlchemy would: a
    connection found closed is invalidated, so the pool never hands it out again."""
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    try:
        dbapi_connection.execute(sql)
    except driver_error as error:  # "database is locked", a closed connection…
        if getattr(error, "sqlstate", None) == LOGINS_MOVED:
            with suppress(driver_error):  # a connection that broke meanwhile: the pool's reset finds it
                dbapi_connection.execute("ROLLBACK")  # leave the connection as the pool expects it
            raise LoginsMoved() from error
        closed = connection.dialect.is_disconnect(error, dbapi_connection, None)  # type: ignore[arg-type]
        if closed:
            connection.invalidate(error)
        raise sa.exc.DBAPIError.instance(sql, None, error, driver_error, connection_invalidated=closed) from error


def _configure_postgresql(engine: Engine) -> None:
    """psycopg runs in autocommit mode and we send ``BEGIN`` ourselves, together with the
    transaction's ``SET LOCAL statement_timeout``: one round trip where psycopg's own ``BEGIN`` and
    the ``SET`` were two, on every request. ``COMMIT`` and ``ROLLBACK`` are psycopg's, which go by
    the server's transaction status, not by the autocommit flag. ``SET LOCAL`` ends with the
    transaction, so a connection shared through PgBouncer in transaction mode carries nothing over.
    A transaction for a known tenant enters the row-level security wall in the same round trip
    (db/row_security.py)."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.autocommit = True

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":  # asked for no transaction at all
            return
        sql = postgresql_begin(
            read_only=options.get(WRITE_OPTION) is False,  # a read (Database.transaction)
            timeout_ms=int(options.get(TIMEOUT_OPTION) or 0),
            tenant_id=options.get(TENANT_OPTION),
            login_epoch=options.get(EPOCH_OPTION),
        )
        _begin(connection, sql, psycopg.Error)


def postgresql_begin(
    *, read_only: bool, timeout_ms: int, tenant_id: int | None = None, login_epoch: int | None = None
) -> str:
    """The text that opens a PostgreSQL transaction, its settings with it, in one round trip.

    With ``login_epoch`` (a kept login's, domain/logins.py) it first checks that no credential or
    tenant changed since: if one did, the transaction fails with :data:`LOGINS_MOVED` before
    anything else runs. Public so that the benchmark's floor (bench/floor.py) sends exactly what
    the API sends."""
    sql = "BEGIN READ ONLY" if read_only else "BEGIN"
    if timeout_ms:
        sql = f"{sql}; SET LOCAL statement_timeout = {timeout_ms}"
    if login_epoch is not None:
        sql = f"{sql}; SELECT odyssee_login_epoch_check({int(login_epoch)})"
    return sql if tenant_id is None else f"{sql}; {rls.begin_sql(tenant_id)}"


def _timed_out(error: sa.exc.OperationalError) -> bool:
    """Whether the database gave up on a statement because of our timeout (not any other failure)."""
    if getattr(error.orig, "sqlstate", None) == _PG_QUERY_CANCELED:
        return True
    return str(error.orig) in ("interrupted", "database is locked")


def _timeout(timeout_ms: int) -> QueryTimeout:
    return QueryTimeout(
        f"The query took longer than {timeout_ms / 1000:g} s (the statement timeout) and was cancelled; "
        "nothing changed. Narrow the $filter, or ask for smaller pages ($top, Prefer: odata.maxpagesize).",
        code="QueryTimeout",
    )


@contextmanager
def _timeouts(timeout_ms: int) -> Iterator[None]:
    """The database's cancellation of a statement past ``timeout_ms`` as :class:`QueryTimeout`;
    a pool that handed out no connection within its timeout as :class:`ServerBusy`."""
    try:
        yield
    except sa.exc.OperationalError as error:
        if timeout_ms and _timed_out(error):
            raise _timeout(timeout_ms) from error
        raise
    except sa.exc.TimeoutError as error:  # the pool's, not the database's
        raise ServerBusy(
            "Every database connection of this server process stayed busy for the pool's timeout; "
            "nothing changed. Try again in a moment.",
            code="ServerBusy",
        ) from error


POOL_TIMEOUT_S = 30.0
"""How long a request waits for a pooled connection before it answers 503 ``ServerBusy``."""
POOL_SIZE = 40
"""Connections a pool keeps, unless told otherwise: the API passes its worker threads plus a
little (api/app.py), so that a request never opens a connection. A pool smaller than the
threads made every request beyond it open and close one (bench/suite.py under 16 clients:
connection set-up was an eighth of the time). Connections are opened on demand, so a large
pool costs nothing while it is not used."""


_PG_CONNECT_ARGS = {"options": "-c timezone=UTC"}
"""Every PostgreSQL connection's, the threads' and the event loop's alike (timestamps come back in UTC)."""


def make_engine(url: str, pool_size: int = POOL_SIZE, pool_timeout_s: float = POOL_TIMEOUT_S) -> Engine:
    url = normalise_url(url)
    pooling = {"pool_size": pool_size, "max_overflow": 10, "pool_timeout": pool_timeout_s}
    if make_url(url).get_backend_name() == "sqlite":
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **pooling)
        _configure_sqlite(engine)
    else:
        engine = sa.create_engine(url, connect_args=dict(_PG_CONNECT_ARGS), **pooling)
        _configure_postgresql(engine)
    _ping_after_idle(engine)
    return engine


LOOP_APPLICATION_NAME = "odyssee-loop"
"""``application_name`` of the event loop's PostgreSQL connections (unless the URL names one), so
that ``pg_stat_activity`` tells them from the worker threads' pool."""


def make_loop_engine(url: str, pool_size: int = POOL_SIZE, pool_timeout_s: float = POOL_TIMEOUT_S) -> AsyncEngine:
    """PostgreSQL through psycopg's asyncio connection, for units of work run on the event loop
    (:meth:`Database.serve_loop`), configured as :func:`make_engine`'s."""
    parsed = make_url(normalise_url(url)).set(drivername="postgresql+psycopg_async")
    connect_args = dict(_PG_CONNECT_ARGS)
    if "application_name" not in parsed.query:
        connect_args["application_name"] = LOOP_APPLICATION_NAME
    engine = create_async_engine(
        parsed.render_as_string(hide_password=False),
        pool_size=pool_size,
        max_overflow=0,  # the loop's concurrency is the pool's: a request past it awaits a connection
        pool_timeout=pool_timeout_s,
        connect_args=connect_args,
    )
    _configure_postgresql(engine.sync_engine)
    _ping_after_idle(engine.sync_engine)
    return engine


def _ping_after_idle(engine: Engine) -> None:
    """Ping a pooled connection before use only when it sat idle past :data:`PING_AFTER_IDLE_S`.

    A connection the server closed (a restart, a fail-over, an idle timeout in PgBouncer) must
    not fail the request that draws it. SQLAlchemy's ``pool_pre_ping`` pings on every checkout:
    on PostgreSQL a round trip per request, a seventh of a single write's. A connection handed
    back a moment ago was working a moment ago, so, as HikariCP does (``aliveBypassWindowMs``),
    only a connection idle for a while is pinged; if the ping fails, the pool replaces it and
    the request goes on with a new one. A server that goes away under a busy pool fails the
    statements in flight either way."""
    dialect = engine.dialect

    @sa.event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get(_IDLE_SINCE)
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return  # just connected, or in use a moment ago
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:  # whatever the driver raises for a dead connection
            raise sa.exc.DisconnectionError(
                f"a pooled connection idle since {idle_since:.0f} failed its ping"
            ) from error


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # a worker thread, a script, a test
        return None


@dataclass
class _LoopEngine:
    engine: AsyncEngine
    users: int = 0


class Database:
    """An engine plus the two kinds of transaction the API needs."""

    def __init__(
        self, url: str, *, pool_size: int = POOL_SIZE, row_security: bool = True, pool_timeout_s: float = POOL_TIMEOUT_S
    ) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, pool_size, pool_timeout_s)
        self.row_security = row_security and self.dialect == "postgresql"
        """Whether API requests run behind PostgreSQL's row-level security (db/row_security.py):
        ``ODYSSEE_ROW_SECURITY``, always off on SQLite."""
        self._pool_size = pool_size
        self._pool_timeout_s = pool_timeout_s
        self._loop_engines: dict[asyncio.AbstractEventLoop, _LoopEngine] = {}
        """PostgreSQL: per event loop that serves this database (:meth:`serve_loop`), the engine
        of psycopg's asyncio connections that units of work run on that loop use."""
        self._binds: dict[tuple[int, bool, int, int | None, int | None], Engine] = {}
        self._kept: dict[tuple[int, int], sa.Connection] = {}
        """Per thread and bind, the connection kept for inline SQLite reads (:meth:`_loop_connection`)."""
        self._kept_lock = threading.Lock()
        self._writer = threading.Lock() if self.dialect == "sqlite" else None
        """SQLite has one writer at a time. Writers of this process queue on this lock instead of
        SQLite's busy handler, which sleeps and polls (1, 2, 5 … 100 ms): under 16 concurrent
        writers that polling, not the writes, was what limited throughput. Other processes still
        meet the busy timeout."""

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _bind(self, write: bool, timeout_ms: int, tenant_id: int | None = None, epoch: int | None = None) -> Engine:
        """The engine with this transaction kind's options: on PostgreSQL also the tenant its
        ``BEGIN`` enters behind row-level security and the login epoch it checks (a kept login's,
        domain/logins.py). A handful of variants per tenant, made once each."""
        engine = self._engine()
        if self.dialect != "postgresql":
            tenant_id = epoch = None
        elif not self.row_security:
            tenant_id = None
        key = (id(engine), write, timeout_ms, tenant_id, epoch)
        bind = self._binds.get(key)
        if bind is None:
            if len(self._binds) >= 4096:  # a variant per tenant: stay bounded
                self._binds.clear()
            options: dict[str, Any] = {WRITE_OPTION: write, TIMEOUT_OPTION: timeout_ms}
            if tenant_id is not None:
                options[TENANT_OPTION] = tenant_id
            if epoch is not None:
                options[EPOCH_OPTION] = epoch
            bind = self._binds[key] = engine.execution_options(**options)
        return bind

    def _engine(self) -> Engine:
        """The engine of this unit of work: on PostgreSQL inline (on the event loop, in a greenlet:
        :meth:`serves_loop`) the loop's asyncio engine, seen through its synchronous facade, so
        that the domain's plain functions run unchanged while every wait on the network is an
        ``await`` that lets the loop serve other requests. Inline work off such a loop (a test
        marking its reads inline on a thread of its own) uses the ordinary engine."""
        if self.dialect != "postgresql" or not is_inline():
            return self.engine
        loop = _running_loop()
        served = self._loop_engines.get(loop) if loop is not None else None
        return self.engine if served is None else served.engine.sync_engine

    async def serve_loop(self) -> None:
        """Let PostgreSQL units of work run on the running event loop (api/inline.py): an app's
        lifespan calls it at start-up, and :meth:`release_loop` at shutdown, which closes the
        loop's connections on the loop they belong to. SQLite needs nothing: its inline work
        runs on the synchronous engine. Several apps may share one database and one loop."""
        if self.dialect != "postgresql":
            return
        loop = asyncio.get_running_loop()
        served = self._loop_engines.get(loop)
        if served is None:
            engine = make_loop_engine(self.url, self._pool_size, self._pool_timeout_s)
            served = self._loop_engines[loop] = _LoopEngine(engine)
        served.users += 1

    async def release_loop(self) -> None:
        """Undo :meth:`serve_loop`; the last user of the loop closes its connections."""
        loop = asyncio.get_running_loop()
        served = self._loop_engines.get(loop)
        if served is None:
            return
        served.users -= 1
        if served.users == 0:
            del self._loop_engines[loop]
            gone = id(served.engine.sync_engine)
            self._binds = {key: bind for key, bind in self._binds.items() if key[0] != gone}
            await served.engine.dispose()

    def serves_loop(self) -> bool:
        """Whether a PostgreSQL unit of work may run on the running event loop (:meth:`serve_loop`)."""
        return _running_loop() in self._loop_engines

    @contextmanager
    def transaction(
        self, *, write: bool, timeout_ms: int = 0, tenant_id: int | None = None, login_epoch: int | None = None
    ) -> Iterator[Session]:
        """One unit of work: committed when the block ends, rolled back on any exception.

        A read (``write=False``) is read-only: the database refuses a write in it (PostgreSQL's
        ``BEGIN READ ONLY``, SQLite's ``query_only``). On SQLite it ends with a rollback, which
        costs the database what a commit would and skips the session's commit bookkeeping (a
        fifth of an empty read transaction's time). Not on PostgreSQL: psycopg deallocates the
        connection's prepared statements on every rollback, and each read would plan its
        queries again (docs/performance.md).

        With ``timeout_ms`` any statement running longer is cancelled and the block raises
        :class:`~odyssee.model.errors.QueryTimeout` (the transaction rolled back). With
        ``tenant_id`` (and :attr:`row_security`) the whole transaction sees and writes that
        tenant's rows only. With ``login_epoch`` (PostgreSQL; a kept login's, domain/logins.py)
        it begins only if no credential or tenant changed since that epoch, else it raises
        :class:`LoginsMoved` before anything ran.
        """
        bind = self._bind(write, timeout_ms, tenant_id, login_epoch)
        with (
            _timeouts(timeout_ms),
            self._write_turn(write, timeout_ms),
            Session(bind, expire_on_commit=False) as session,
        ):
            if write or self.dialect != "sqlite":
                with session.begin():
                    yield session
            else:  # closing the session rolls the read back: nothing to commit, and cheaper
                yield session

    @contextmanager
    def reading(
        self, *, timeout_ms: int = 0, tenant_id: int | None = None, login_epoch: int | None = None
    ) -> Iterator[Reader]:
        """A read transaction for the API's GETs: :meth:`transaction` with ``write=False``, on a
        Core connection without an ORM session (db/reader.py: about half the cost). It is
        read-only alike, rolled back on SQLite and committed on PostgreSQL for the same reasons,
        a statement past ``timeout_ms`` raises :class:`~odyssee.model.errors.QueryTimeout`, and
        ``tenant_id`` and ``login_epoch`` do what they do there. Inline on SQLite it runs on the
        connection its thread keeps (:meth:`_loop_connection`)."""
        bind = self._bind(False, timeout_ms, tenant_id, login_epoch)
        kept = self._loop_connection(bind) if self.dialect == "sqlite" and is_inline() else None
        if kept is not None:
            with _timeouts(timeout_ms):
                transaction = kept.begin()
                try:
                    yield Reader(kept)
                finally:
                    transaction.rollback()
            return
        with _timeouts(timeout_ms), bind.connect() as connection:
            if self.dialect == "sqlite":  # closing the connection rolls the read back
                connection.begin()
                yield Reader(connection)
            else:
                with connection.begin():
                    yield Reader(connection)

    def _loop_connection(self, bind: Engine) -> sa.Connection | None:
        """The connection this thread keeps for its inline SQLite reads (db/inline.py), or None
        when it is in use (a read inside a read) and the read should draw one from the pool.

        Inline reads run one after the other on the event loop's thread, each to its end without
        awaiting, so one connection serves them all: drawing one from the pool and handing it
        back (SQLAlchemy's connection set-up, the pool's events, the reset on return) cost
        about 33 µs of the 46 a read transaction took, more than the BEGIN and ROLLBACK
        themselves (docs/performance.md). Between reads it holds no transaction, hence no WAL
        snapshot: checkpoints and writers are not held back by it. A connection the driver
        found broken is replaced; :meth:`dispose` closes them all."""
        key = (threading.get_ident(), id(bind))
        connection = self._kept.get(key)
        if connection is not None and (connection.closed or connection.invalidated):
            connection.close()
            connection = None
        if connection is None:
            with self._kept_lock:
                connection = self._kept[key] = bind.connect()
            connection.info[results.KEY] = results.Results()
        return None if connection.in_transaction() else connection

    @contextmanager
    def _write_turn(self, write: bool, timeout_ms: int) -> Iterator[None]:
        """This process's turn to write on SQLite. A write on the event loop (db/inline.py) never
        waits for it: a writer on a thread may hold it for long (a ``$batch``), and the loop
        serves everyone, so the write goes to a thread (:class:`Offload`) and waits there."""
        if not write or self._writer is None:
            yield
            return
        if is_inline():
            if not self._writer.acquire(blocking=False):
                raise Offload
        elif not self._writer.acquire(timeout=(timeout_ms or SQLITE_BUSY_TIMEOUT_MS) / 1000):
            raise _timeout(timeout_ms or SQLITE_BUSY_TIMEOUT_MS)
        try:
            yield
        finally:
            self._writer.release()

    def row_security_problem(self) -> str | None:
        """Why this database cannot put requests behind row-level security, or None (also when off)."""
        if not self.row_security:
            return None
        with self.engine.connect() as connection:
            return rls.problem(connection)

    def dispose(self) -> None:
        with self._kept_lock:
            kept, self._kept = list(self._kept.values()), {}
        for connection in kept:
            connection.close()
        self.engine.dispose()
