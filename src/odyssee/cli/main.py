"""``odyssee serve | worker | queue status | db upgrade | tenant create | user create | revoke | rotate-password``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import ArgumentError, OperationalError

from odyssee.db.engine import Database
from odyssee.db.migrate import upgrade
from odyssee.model.errors import OdysseeError
from odyssee.settings import Settings

app = typer.Typer(
    help="odyssee: a field-service back-end speaking the Odyssee integration API.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants (the domain of username:password@domain).", no_args_is_help=True)
user_app = typer.Typer(help="Logins.", no_args_is_help=True)
queue_app = typer.Typer(help="The background task queue (approval PDFs).", no_args_is_help=True)
changes_app = typer.Typer(help="The change feed's event history (change_event).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(tenant_app, name="tenant")
app.add_typer(user_app, name="user")
app.add_typer(queue_app, name="queue")
app.add_typer(changes_app, name="changes")

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="ODYSSEE_DATABASE_URL",
        help="SQLAlchemy URL; default sqlite:///./odyssee.db.",
    ),
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@contextmanager
def _opened(database_url: str | None) -> Iterator[Database]:
    """Open and migrate the database, turning connection problems into one clear line; always close it."""
    try:
        settings = Settings.from_env(database_url)
    except ValueError as error:  # a malformed ODYSSEE_* variable: one line, not a traceback
        raise _fail(str(error)) from None
    try:
        database = Database(settings.database_url, row_security=settings.row_security)
    except ArgumentError as error:
        raise _fail(f"invalid database URL {settings.database_url!r}: {error}") from None
    try:
        try:
            upgrade(database.engine)
        except OperationalError as error:
            raise _fail(f"cannot open the database {settings.database_url!r}: {error.orig}") from None
        yield database
    finally:
        database.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    database_url: DatabaseUrl = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help="Also create tenant TESTAPI (APIUser / 123456) with demo data.",
        ),
    ] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    worker: Annotated[
        bool | None,
        typer.Option(
            "--worker/--no-worker",
            help="Run the background worker in this process. Default: on for SQLite, off for PostgreSQL "
            "(run `odyssee worker` processes there).",
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="API processes sharing the port (about one per core). The background worker, if on, "
            "still runs once, in the supervising process. Rate limits are per process.",
        ),
    ] = 1,
) -> None:
    """Serve the API at http://HOST:PORT/api, creating and migrating the database first."""
    import os

    import uvicorn

    from odyssee.api.app import create_app, row_security_problem
    from odyssee.domain.demo import ensure_demo

    with _opened(database_url) as database:
        if demo:
            with database.transaction(write=True) as session:
                ensure_demo(session)
            typer.echo(f"demo tenant ready: curl -u 'APIUser:123456@TESTAPI' http://{host}:{port}/api/Company")
        settings = Settings.from_env(database.url)
        try:  # built here also with --workers N: a bad read URL fails now, not in every API process
            application = create_app(settings, database)
        except ValueError as error:
            raise _fail(str(error)) from None
        problem = row_security_problem(application)
        if problem:
            raise _fail(problem)
        shown = database.engine.url.render_as_string(hide_password=True)
        if settings.read_database_url:
            replica = application.state.read_database.engine.url.render_as_string(hide_password=True)
            shown += f" (GET requests read from {replica})"
        typer.echo(
            f"odyssee serving http://{host}:{port}/api on {shown}"
            + (f" with {workers} processes" if workers > 1 else "")
        )
        background = None
        if worker if worker is not None else database.dialect == "sqlite":
            from odyssee.worker.runner import Worker

            background = Worker(database, retention=settings.change_retention)
            thread = background.start_thread()
            if workers > 1:
                typer.echo(
                    f"background worker in the supervising process (pid {os.getpid()}), not in the API processes"
                )
        try:
            if workers > 1:
                # each API process builds its own app (and engine) from the environment: spawned
                # processes cannot share this one's objects, and the URL must be the one just migrated
                os.environ["ODYSSEE_DATABASE_URL"] = database.url
                uvicorn.run(
                    "odyssee.api.app:create_app", factory=True, workers=workers, host=host, port=port,
                    log_level=log_level, access_log=False,
                )  # fmt: skip
            else:
                uvicorn.run(application, host=host, port=port, log_level=log_level, access_log=False)
        finally:
            if background is not None:
                background.stop.set()
                thread.join(timeout=30)


@app.command("worker")
def worker_command(
    database_url: DatabaseUrl = None,
    once: Annotated[bool, typer.Option("--once", help="Run the tasks due now, then exit (tests, cron).")] = False,
    lease_seconds: Annotated[
        float, typer.Option(min=1, help="How long a claimed task is ours; a dead worker's task is retried after it.")
    ] = 300.0,
    poll_seconds: Annotated[float, typer.Option(min=0.05, max=60, help="Idle sleep between polls.")] = 0.2,
) -> None:
    """Run background tasks (approval PDFs) until SIGTERM/SIGINT; several may run against PostgreSQL."""
    import logging
    import signal

    from odyssee.worker.runner import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    with _opened(database_url) as database:
        retention = Settings.from_env(database.url).change_retention
        runner = Worker(database, lease_seconds=lease_seconds, poll_seconds=poll_seconds, retention=retention)

        def _stop(_signum: int, _frame: object) -> None:
            runner.stop.set()  # finish the current task, then leave the loop

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        if once:
            typer.echo(f"worker {runner.id}: {runner.drain()} task(s) run")
        else:
            typer.echo(f"worker {runner.id} polling; stop with SIGTERM or Ctrl-C")
            runner.run()


def _seconds(text: str) -> float:
    """``5s``, ``2m``, ``1h``, ``30d`` or a plain number of seconds."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    try:
        seconds = float(text[:-1]) * units[text[-1]] if text and text[-1] in units else float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also refuses nan
        raise typer.BadParameter(f"'{text}' is not a duration like 5s, 2m, 1h or 30d")
    return seconds


@app.command("sync")
def sync_command(
    config: Annotated[Path | None, typer.Option(help="The TOML configuration (docs/integration.md).")] = None,
    once: Annotated[bool, typer.Option("--once", help="One run (push, then pull), then exit.")] = False,
    every: Annotated[str, typer.Option(help="Time between runs when looping: 5s, 1m …")] = "5s",
    demo: Annotated[
        bool,
        typer.Option("--demo", help="Create a demo ERP in ./erp-demo (if missing) and sync it with `serve --demo`."),
    ] = False,
    json_logs: Annotated[bool, typer.Option("--json-logs", help="One JSON object per log line.")] = False,
) -> None:
    """Link an ERP database to the server: push ERP rows, pull approvals, parts, time and PDFs."""
    import logging
    import signal
    import threading

    from odyssee.sync import agent
    from odyssee.sync import demo as demo_erp
    from odyssee.sync.config import ConfigError, load
    from odyssee.sync.logs import JsonFormatter

    handler = logging.StreamHandler()
    plain = logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s")
    handler.setFormatter(JsonFormatter() if json_logs else plain)
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    if demo:
        config = demo_erp.create(Path("erp-demo"))
        typer.echo(f"demo ERP and configuration in {config.parent}/ (edit erp.db, watch the API)")
    if config is None:
        raise _fail("give --config FILE (or --demo)")
    try:
        settings = load(config)
    except ConfigError as error:
        raise _fail(f"{config}: {error}") from None
    if once:
        report = agent.run_once(settings, show_progress=True)
        typer.echo(report.summary())
        if report.errors:
            raise typer.Exit(1)
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    typer.echo(f"syncing every {every}; stop with SIGTERM or Ctrl-C")
    agent.run_every(settings, _seconds(every), stop, show_progress=True)


@queue_app.command("status")
def queue_status(database_url: DatabaseUrl = None) -> None:
    """Tasks per status and the age of the oldest unfinished one."""
    from odyssee.model.conventions import utcnow
    from odyssee.worker.queue import status

    with _opened(database_url) as database:
        state = status(database)
    for name, count in state.counts.items():
        typer.echo(f"{name:8} {count}")
    if state.oldest_queued is None:
        typer.echo("oldest   -")
    else:
        typer.echo(f"oldest   {(utcnow() - state.oldest_queued).total_seconds():.0f}s")


@changes_app.command("prune")
def changes_prune(
    older_than: Annotated[
        str | None,
        typer.Option(help="Delete events older than this (30d, 12h …); default ODYSSEE_CHANGE_RETENTION_DAYS (30)."),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Delete old change events now (the worker also does it every minute), in batches.

    Events an active webhook subscription has not delivered are kept. Delta tokens that needed a
    pruned deletion answer 410 afterwards (docs/change-feed.md#retention).
    """
    from odyssee.worker.retention import prune

    with _opened(database_url) as database:
        if older_than is None:
            window = Settings.from_env(database.url).change_retention
            if window is None:
                raise _fail("ODYSSEE_CHANGE_RETENTION_DAYS is 0 (keep forever); give --older-than to prune anyway")
        else:
            window = timedelta(seconds=_seconds(older_than))
        pruned = prune(database, window)
    typer.echo(f"{pruned.deleted} change event(s) older than {_duration(window)} pruned")


def _duration(window: timedelta) -> str:
    seconds = window.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Create or migrate the database schema to the current version."""
    from odyssee.db.migrate import current_revision

    with _opened(database_url) as database:
        typer.echo(f"database at revision {current_revision(database.engine)}")


@tenant_app.command("create")
def tenant_create(domain: str, database_url: DatabaseUrl = None) -> None:
    """Create tenant DOMAIN with the system job statuses."""
    from odyssee.domain.tenants import create_tenant

    with _opened(database_url) as database:
        try:
            with database.transaction(write=True) as session:
                tenant = create_tenant(session, domain)
                typer.echo(f"tenant {tenant.domain} created")
        except OdysseeError as error:
            raise _fail(error.message) from None


@user_app.command("create")
def user_create(
    domain: str,
    username: str,
    password: Annotated[
        str,
        typer.Option(prompt=True, hide_input=True, confirmation_prompt=True, help="The password."),
    ],
    api: Annotated[bool, typer.Option("--api", help="An API user (integration), not a technician.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a login USERNAME in tenant DOMAIN. Without --api it is a technician with a User row."""
    from odyssee.domain.tenants import create_credential

    with _opened(database_url) as database:
        try:
            with database.transaction(write=True) as session:
                create_credential(session, domain, username, password, api=api)
        except OdysseeError as error:
            raise _fail(error.message) from None
    kind = "API user" if api else "user"
    typer.echo(f"{kind} {username}@{domain} created")


@user_app.command("revoke")
def user_revoke(domain: str, username: str, database_url: DatabaseUrl = None) -> None:
    """Switch off login USERNAME of DOMAIN: its next request gets 401, in every server process."""
    from odyssee.domain.tenants import revoke_credential

    with _opened(database_url) as database:
        try:
            with database.transaction(write=True) as session:
                credential = revoke_credential(session, domain, username)
                name = credential.username
        except OdysseeError as error:
            raise _fail(error.message) from None
    typer.echo(f"user {name}@{domain} revoked")


@user_app.command("rotate-password")
def user_rotate_password(
    domain: str,
    username: str,
    password: Annotated[
        str | None,
        typer.Option(help="The new password; without it a strong one is generated and printed once."),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Give login USERNAME of DOMAIN a new password; the old one stops working at once."""
    from odyssee.domain.tenants import generate_password, rotate_password

    new_password = password if password is not None else generate_password()
    with _opened(database_url) as database:
        try:
            with database.transaction(write=True) as session:
                credential = rotate_password(session, domain, username, new_password)
                name = credential.username
        except OdysseeError as error:
            raise _fail(error.message) from None
    typer.echo(f"password of {name}@{domain} changed")
    if password is None:
        typer.echo(f"new password (shown only now): {new_password}")


def main() -> None:
    app(prog_name="odyssee")


if __name__ == "__main__":
    main()
