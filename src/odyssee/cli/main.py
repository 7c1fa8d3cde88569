"""``odyssee serve | db upgrade | tenant create | user create``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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
app.add_typer(db_app, name="db")
app.add_typer(tenant_app, name="tenant")
app.add_typer(user_app, name="user")

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
    settings = Settings.from_env(database_url)
    try:
        database = Database(settings.database_url)
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
) -> None:
    """Serve the API at http://HOST:PORT/api, creating and migrating the database first."""
    import uvicorn

    from odyssee.api.app import create_app
    from odyssee.domain.demo import ensure_demo

    with _opened(database_url) as database:
        if demo:
            with database.transaction(write=True) as session:
                ensure_demo(session)
            typer.echo(f"demo tenant ready: curl -u 'APIUser:123456@TESTAPI' http://{host}:{port}/api/Company")
        settings = Settings.from_env(database.url)
        shown = database.engine.url.render_as_string(hide_password=True)
        typer.echo(f"odyssee serving http://{host}:{port}/api on {shown}")
        uvicorn.run(create_app(settings, database), host=host, port=port, log_level=log_level, access_log=False)


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


def main() -> None:
    app(prog_name="odyssee")


if __name__ == "__main__":
    main()
